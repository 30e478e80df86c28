// netsweep's command line: `run` trains a sweep and writes a results file,
// `info` summarizes one, `merge` joins shard files, `slurm` writes (and
// submits) a job array, `bench` times devices side by side. Options are
// parsed here into typed values; the work is done by the library.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <new>

#include "cli_config.h"
#include "cli_run.h"
#include "netsweep/bench.h"
#include "netsweep/checkpoint.h"
#include "netsweep/cuda_backend.h"
#include "netsweep/merge.h"
#include "netsweep/results.h"
#include "netsweep/run.h"
#include "netsweep/slurm.h"
#include "netsweep/stop_signals.h"
#include "netsweep/summary.h"
#include "netsweep/text.h"
#include "netsweep/version.h"
#include "progress.h"

namespace {

using namespace netsweep;

// Ends a live progress line before a message: only a terminal has one (a
// log gets the message as its own line, nothing before it).
const char* line_break() { return isatty(STDERR_FILENO) ? "\n" : ""; }

std::string self_path(const char* argv0) {
  std::error_code ec;
  const auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::absolute(argv0).string() : p.string();
}

struct InfoOptions {
  std::vector<std::string> files;
  std::string by, format = "table", target_set = "train";
  float target_accuracy = 0.95f;
};

void print_info(const InfoOptions& o) {
  const SummaryFormat format = parse_summary_format(o.format);
  if (o.target_set != "train" && o.target_set != "test")
    throw SpecError("--target-set '" + o.target_set + "': expected train or test");
  if (!(o.target_accuracy >= 0 && o.target_accuracy <= 1))
    throw SpecError("--target-accuracy: must be between 0 and 1");
  SummaryOptions options;
  options.target_accuracy = o.target_accuracy;
  options.target_on_test = o.target_set == "test";
  const std::vector<std::string> axes = o.by.empty() ? std::vector<std::string>{} : parse_axes(o.by);
  const std::vector<ResultsFile> opened = open_distinct(o.files);  // each read once (its stored sweep too)
  const std::vector<NetworkSummary> networks = summarize_networks(opened, options);
  // Groups pool the files' networks as replicas: say where the files train otherwise than --by can tell,
  // one line for the files that differ alike (the parts of a multi-data sweep: in the data).
  std::vector<std::pair<std::string, std::vector<std::string>>> warnings;  // (differences, files)
  if (!axes.empty() && std::find(axes.begin(), axes.end(), "part") == axes.end())
    for (size_t k = 1; k < o.files.size(); ++k) {
      std::string said;
      for (const std::string& d : unnamed_differences(opened[0], opened[k])) said += (said.empty() ? "" : ", ") + d;
      if (said.empty()) continue;
      const auto alike = std::find_if(warnings.begin(), warnings.end(), [&](const auto& w) { return w.first == said; });
      if (alike != warnings.end())
        alike->second.push_back(o.files[k]);
      else
        warnings.push_back({said, {o.files[k]}});
    }
  for (const auto& [said, files] : warnings) {
    std::string which;
    for (const std::string& f : files) which += (which.empty() ? "" : ", ") + f;
    std::fprintf(stderr,
                 "warning: %s %s otherwise than %s in %s, which --by does not group by: their networks pool as "
                 "replicas (add part to --by to keep the files apart)\n",
                 which.c_str(), files.size() > 1 ? "train" : "trains", o.files[0].c_str(), said.c_str());
  }
  if (format == SummaryFormat::table)  // a header per file
    for (const ResultsFile& f : opened) {
      const std::string& path = f.path();
      const auto shape = f.frame_shape();
      std::printf("%s: netsweep %s, format %lld, created %s%s\n", path.c_str(), f.attribute("tool_version").c_str(),
                  static_cast<long long>(f.format_version()), f.attribute("created").c_str(),
                  f.has_attribute("part_label") ? (", part " + f.attribute("part_label")).c_str() : "");
      std::printf("device: %s\n", f.attribute("device").c_str());
      std::printf("networks: %d, frames: %d of %dx%d x %d outputs, loss: %s\n", shape[0], shape[1], shape[3], shape[2],
                  shape[4], f.attribute("loss").c_str());
      if (const ShardId shard = f.shard(); shard.sharded())
        std::printf("shard %s: this shard's networks only; netsweep merge joins the shards into the sweep's file\n",
                    shard.label().c_str());
      if (f.has_attribute("values_beyond_f16") && f.int_attribute("values_beyond_f16") > 0)
        std::printf(
            "warning: %lld frame and neuron-map values are beyond float16's +-65504, stored as +-inf "
            "(rerun with --frame-dtype f32 to keep them)\n",
            static_cast<long long>(f.int_attribute("values_beyond_f16")));
    }
  const std::string text = axes.empty() ? format_networks(networks, format, options)
                                        : format_groups(group_networks(networks, axes), axes, format, options);
  std::fputs(text.c_str(), stdout);
}

}  // namespace

int main(int argc, char** argv) {
  ignore_write_signals();  // a stop or an error still ends with its own line and status
  CLI::App app{"netsweep: train sweeps of small neural networks on 2-D data at once and record their decision fields"};
  app.set_version_flag("--version", std::string("netsweep ") + kVersion);
  app.require_subcommand(1);

  CliRun c;
  std::vector<CLI::Option*> spec_options;
  CLI::App* run = app.add_subcommand("run", "train a sweep and write one HDF5 results file");
  add_run_options(*run, c, spec_options);
  add_checkpoint_options(*run, c);
  const std::string config_path = config_path_in(argc, argv);
  add_run_config(app, *run, config_path);

  InfoOptions info_options;
  CLI::App* info = app.add_subcommand(
      "info", "one row per network of results files, or per group of networks (--by) with their distribution");
  info->add_option("files", info_options.files, "results files (the parts of one sweep, or several sweeps)")
      ->required();
  info->add_option("--by", info_options.by,
                   "group by these axes, e.g. layers,width,activation (part, features, shape, layers, width, "
                   "activation, optimizer, lr, batch, l1, l2, momentum, seed, replica, status)");
  info->add_option("--format", info_options.format, "table, csv or json")->capture_default_str();
  info->add_option("--target-accuracy", info_options.target_accuracy,
                   "the accuracy each network's row says when it reached (--by: the share that did, median epochs)")
      ->capture_default_str();
  info->add_option("--target-set", info_options.target_set, "measure it on the train or test set")
      ->capture_default_str();

  std::vector<std::string> merge_inputs;
  std::string merge_output;
  bool merge_quiet = false;
  CLI::App* merge = app.add_subcommand("merge", "join the shard files of one sweep into one results file");
  merge->add_option("shards", merge_inputs, "shard files (e.g. sweep.shard-*.h5)")->required();
  merge->add_option("-o,--output", merge_output, "merged results file")->required();
  merge->add_flag("-q,--quiet", merge_quiet, "no output");

  CliRun sc;
  std::vector<CLI::Option*> slurm_spec_options;
  SlurmOptions slurm_options;
  CLI::App* slurm = app.add_subcommand(
      "slurm", "write a SLURM job-array script (stdout) that trains the sweep in shards; --submit to sbatch it");
  add_run_options(*slurm, sc, slurm_spec_options);
  slurm->add_option("--shards", slurm_options.shards, "number of array tasks")->required()->group("SLURM");
  slurm->add_option("--partition", slurm_options.partition, "sbatch --partition")->group("SLURM");
  slurm->add_option("--gres", slurm_options.gres, "sbatch --gres, e.g. gpu:1")->group("SLURM");
  slurm->add_option("--time", slurm_options.time, "sbatch --time, e.g. 00:30:00")->group("SLURM");
  slurm->add_option("--account", slurm_options.account, "sbatch --account")->group("SLURM");
  slurm->add_option("--mem", slurm_options.mem, "sbatch --mem")->group("SLURM");
  slurm->add_option("--cpus-per-task", slurm_options.cpus_per_task, "sbatch --cpus-per-task")
      ->check(CLI::Range(1, 1 << 20))
      ->group("SLURM");
  slurm->add_option("--job-name", slurm_options.job_name, "sbatch --job-name")->group("SLURM");
  slurm
      ->add_option("--signal-seconds", slurm_options.signal_seconds,
                   "send SIGTERM this long before the time limit (checkpoint and exit)")
      ->capture_default_str()
      ->group("SLURM");
  slurm
      ->add_option("--checkpoint-every", sc.run.checkpoint_every,
                   "seconds between each task's checkpoints (default 60; SIGTERM always checkpoints)")
      ->group("SLURM");
  slurm->add_flag("--submit", slurm_options.submit, "run sbatch on the script and print the job id")->group("SLURM");

  CliRun bc;
  std::vector<CLI::Option*> bench_spec_options;
  std::vector<std::string> bench_devices{"cpu", "cuda"};
  bool bench_json = false;
  CLI::App* bench = app.add_subcommand(
      "bench", "time a sweep on the CPU and on the GPU side by side (steps/s, s/epoch, frames/s, GFLOP/s, speedup)");
  add_run_options(*bench, bc, bench_spec_options);
  // bench writes no file and takes its devices from --devices.
  bench->remove_option(bench->get_option("--output"));
  bench->remove_option(bench->get_option("--device"));
  bench
      ->add_option(
          "--devices", bench_devices,
          "devices to time, in order (speedups are relative to the first that ran): cpu, cuda, or cuda with variants "
          "joined by '-' (e.g. cuda-gemm-tf32): fused or gemm (--gpu-path), tf32 (--precision), defaultmath (FP32 "
          "GEMMs in cuBLAS's default math mode, not pedantic), connN (CUDA_DEVICE_MAX_CONNECTIONS), splitN "
          "(networks at least N wide take the automatic path's GEMMs), prio (GEMM streams prioritised by depth), "
          "dot (the GEMM path's forward and delta products by netsweep's own kernels, not cuBLAS), merge (one GEMM "
          "group per depth; with pershape a batched call per width), smem (the fused path's scratch in shared "
          "memory), terms1 (fused sums a term at a time), block256 (every single-block fused network in 256 "
          "threads); each CUDA variant runs in a process of its own")
      ->delimiter(',')
      ->capture_default_str();
  bench->add_flag("--json", bench_json, "JSON instead of a table");
  bool bench_by_width = false;
  bench->add_flag("--by-width", bench_by_width,
                  "then train each width class (widths up to 16, 17-64, 65-256, above 256) alone on the CPU and "
                  "report its GFLOP/s beside a tuned SGEMM (OpenBLAS) on the class's product, and its optimizer step's "
                  "GB/s beside the same memory traffic without arithmetic, measured in the same run");

  // No command, or an unknown one: CLI11 would say only that one is required.
  std::string commands;
  bool known = false;
  for (const CLI::App* sub : app.get_subcommands({})) {
    commands += (commands.empty() ? "" : ", ") + sub->get_name();
    known |= argc > 1 && sub->get_name() == argv[1];
  }
  const std::string expected = "; expected one of " + commands + " (see netsweep --help)";
  if (argc > 1 && argv[1][0] != '-' && !known) {
    std::fprintf(stderr, "netsweep: error: '%s': not a command%s\n", printable(argv[1]).c_str(), expected.c_str());
    return 2;
  }
  try {
    if (!config_path.empty()) check_config_file(config_path);
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ConfigError& e) {
    std::fprintf(stderr, "netsweep: error: %s\n", one_line(e.what()).c_str());
    return 2;
  } catch (const CLI::ParseError& e) {
    // One line and status 2, like every other bad input (CLI11's own codes
    // and its "Run with --help" line are not part of netsweep's contract).
    std::string what = plain_cli_error(e.what());
    if (what.empty()) what = e.get_name();
    if (app.get_subcommands().empty() && dynamic_cast<const CLI::RequiredError*>(&e)) {
      std::fprintf(stderr, "netsweep: error: a command is required%s\n", expected.c_str());
      return 2;
    }
    // A value CLI11 could not take may come from the config file (checked for
    // types, not ranges: epochs = 9223372036854775807).
    if (!config_path.empty() &&
        (dynamic_cast<const CLI::ConversionError*>(&e) || dynamic_cast<const CLI::ValidationError*>(&e)))
      what += " (on the command line or in " + config_path + ")";
    std::fprintf(stderr, "netsweep: error: %s (see netsweep --help)\n", one_line(what).c_str());
    return 2;
  }
  try {
    if (!config_path.empty() && !*run)  // the file's keys are filed under run
      throw SpecError("--config " + config_path + ": read by run only; give " + app.get_subcommands()[0]->get_name() +
                      "'s options on the command line");
    if (*run) {
      resolve_run_options(c, argc, argv, *run);
      const std::vector<SweepPart> parts = sweep_parts(c, spec_options);
      if (parts.size() == 1) {
        run_sweep(parts[0].spec, parts[0].data, c.run);
      } else {
        const StopSignals signals;  // between parts too (each part's run holds them again, nested)
        std::vector<std::string> written;
        for (size_t k = 0; k < parts.size(); ++k)
          check_output_path(part_output_path(c.run.output, int(k)));  // every part's, before the first trains
        for (size_t k = 0; k < parts.size(); ++k) {
          RunOptions o = c.run;
          o.output = part_output_path(c.run.output, int(k));
          o.part = {int(k), int(parts.size()), parts[k].label};
          if (!o.quiet)
            log_line("part " + std::to_string(k + 1) + "/" + std::to_string(parts.size()) + ": " + parts[k].label +
                     " -> " + o.output);
          run_sweep(parts[k].spec, parts[k].data, o);
          written.push_back(o.output);
          if (g_stop_requested && k + 1 < parts.size())  // a signal as the part's file was completed
            throw interrupted_by_signal("", " after part " + std::to_string(k + 1) + " of " +
                                                std::to_string(parts.size()) +
                                                " (its file is complete; rerun with --resume to train the others)");
        }
        if (!c.run.quiet) {  // a gallery holds files of one kind
          std::vector<std::string> classification, regression;
          for (size_t k = 0; k < parts.size(); ++k)
            (parts[k].data.regression ? regression : classification).push_back(written[k]);
          if (regression.empty() || classification.empty())
            log_line("wrote " + std::to_string(parts.size()) + " parts; render them as one gallery: netsweep-render " +
                     CLI::detail::join(written, " ") + " -o gallery/");
          else
            log_line("wrote " + std::to_string(parts.size()) +
                     " parts; render them as two galleries, one per kind: netsweep-render " +
                     CLI::detail::join(classification, " ") + " -o gallery/ and netsweep-render " +
                     CLI::detail::join(regression, " ") + " -o gallery-regression/");
        }
      }
    } else if (*info) {
      print_info(info_options);
    } else if (*bench) {
      resolve_run_options(bc, argc, argv, *bench);
      std::vector<BenchDevice> devices;
      for (const auto& name : bench_devices) devices.push_back(parse_bench_device(name, bc.run.cuda));
      if (std::none_of(devices.begin(), devices.end(), [](const BenchDevice& d) { return d.cuda; }) &&
          (bc.run.cuda.tf32 || bc.run.cuda.path != TrainPath::automatic))
        throw SpecError(std::string(bc.run.cuda.tf32 ? "--precision tf32" : "--gpu-path " + bc.gpu_path) +
                        ": the GPU's only; --devices times no cuda device");
      const SweepPart part = single_part(sweep_parts(bc, bench_spec_options), "bench");
      const BenchReport report = run_bench(part.spec, part.data, devices, bc.run.threads, bench_by_width, bc.run.quiet);
      std::fputs(format_bench(report, bench_json).c_str(), stdout);
      // The table says why each device is missing; a bench that timed nothing is not a success.
      if (!report.rows.empty() &&
          std::all_of(report.rows.begin(), report.rows.end(), [](const BenchRow& r) { return !r.error.empty(); }))
        throw std::runtime_error("bench: no device in --devices ran (" + report.rows.front().device + ": " +
                                 report.rows.front().error + ")");
    } else if (*merge) {
      merge_results(merge_inputs, merge_output, joined_command_line(argc, argv), merge_quiet);
    } else if (*slurm) {
      resolve_run_options(sc, argc, argv, *slurm);
      const SweepPart part = single_part(sweep_parts(sc, slurm_spec_options), "slurm");
      const std::string script = write_slurm_job(part.spec, part.data, sc.run, slurm_options, self_path(argv[0]));
      if (!slurm_options.submit) {
        std::fputs(script.c_str(), stdout);
      } else {
        const SubmittedJob job = submit_slurm_job(script, sc.run.output);
        std::printf("%s\n", job.job_id.c_str());
        std::fprintf(stderr, "netsweep: submitted %s as job %s\n", job.script_path.c_str(), job.job_id.c_str());
      }
    }
  } catch (const Interrupted& e) {
    std::fprintf(stderr, "%s%s%s\n", line_break(), log_prefix().c_str(), one_line(e.what()).c_str());
    return e.code;
  } catch (const std::bad_alloc&) {  // past the checks made before work starts (they estimate)
    std::fprintf(stderr,
                 "%snetsweep: error: out of memory (this machine's, or a limit on this process: ulimit -v, "
                 "a job's or container's memory); make the sweep, --grid or --threads smaller\n",
                 line_break());
    return 2;
  } catch (const std::exception& e) {
    // One line whatever a path or value it quotes holds (a newline, a NUL).
    // A bad value may come from the config file: it is named too.
    if (!config_path.empty() && *run && (dynamic_cast<const SpecError*>(&e) || dynamic_cast<const DataError*>(&e))) {
      std::fprintf(stderr, "%snetsweep: error: %s (options from the command line and %s)\n", line_break(),
                   one_line(e.what()).c_str(), one_line(config_path).c_str());
      return 2;
    }
    std::fprintf(stderr, "%snetsweep: error: %s\n", line_break(), one_line(e.what()).c_str());
    return 2;
  }
  return 0;
}