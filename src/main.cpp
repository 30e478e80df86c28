// netsweep's command line: `run` trains a sweep and writes a results file,
// `info` summarizes one, `merge` joins shard files, `slurm` writes (and
// submits) a job array, `bench` times devices side by side. Options are
// parsed here into typed values; the work is done by the library.
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli_config.h"
#include "cli_run.h"
#include "netsweep/bench.h"
#include "netsweep/checkpoint.h"
#include "netsweep/cuda_backend.h"
#include "netsweep/merge.h"
#include "netsweep/results.h"
#include "netsweep/run.h"
#include "netsweep/slurm.h"
#include "netsweep/version.h"
#include "progress.h"

namespace {

using namespace netsweep;

// The sweep to run: stored in a results or plan file (--from), or from the options.
SweepSource sweep_source(const CliRun& c, const std::vector<CLI::Option*>& spec_options) {
  if (c.from.empty()) return {make_spec(c), load_data(c.data)};
  for (const auto* o : spec_options)
    if (o->count() > 0)
      throw SpecError("--from reruns the stored sweep exactly: drop " + o->get_name() +
                      " (only -o, --device, --gpu-path, --precision, --threads, --frame-dtype, --quiet and the cluster "
                      "options apply)");
  return read_sweep_source(c.from);
}

std::string self_path(const char* argv0) {
  std::error_code ec;
  const auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::absolute(argv0).string() : p.string();
}

void print_info(const std::string& path) {
  ResultsFile f(path);
  const auto rows = f.networks();
  const auto shape = f.frame_shape();
  std::printf("%s: netsweep %s, format %lld, created %s\n", path.c_str(), f.attribute("tool_version").c_str(),
              static_cast<long long>(f.format_version()), f.attribute("created").c_str());
  std::printf("device: %s\n", f.attribute("device").c_str());
  std::printf("networks: %zu, frames: %d of %dx%d x %d outputs, loss: %s\n", rows.size(), shape[1], shape[3], shape[2],
              shape[4], f.attribute("loss").c_str());
  std::printf("%5s %-16s %-10s %-9s %9s %6s %5s %-13s %6s %11s %11s %9s %9s %9s\n", "id", "shape", "activation",
              "optimizer", "lr", "batch", "seed", "status", "epochs", "epoch_loss", "train_loss", "train_acc",
              "test_acc", "time_s");
  for (const auto& r : rows)
    std::printf("%5d %-16s %-10s %-9s %9.3g %6d %5llu %-13s %6d %11.5f %11.5f %9.4f %9.4f %9.2f\n", r.id,
                r.hidden_shape.c_str(), r.activation.c_str(), r.optimizer.c_str(), double(r.lr), r.batch,
                static_cast<unsigned long long>(r.seed), r.status.c_str(), r.epochs_trained, double(r.final_epoch_loss),
                double(r.final_train_loss), double(r.final_train_accuracy), double(r.final_test_accuracy),
                r.wall_seconds);
}

}  // namespace

int main(int argc, char** argv) {
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

  std::string info_path;
  CLI::App* info = app.add_subcommand("info", "one row per network of a results file");
  info->add_option("file", info_path, "results file")->required();

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
  slurm->add_option("--cpus-per-task", slurm_options.cpus_per_task, "sbatch --cpus-per-task")->group("SLURM");
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
  bench
      ->add_option("--devices", bench_devices,
                   "devices to time, in order (speedups are relative to the first): cpu, cuda, or cuda with "
                   "-fused, -gemm, -tf32, -connN (e.g. cuda-gemm-tf32, cuda-conn8) overriding --gpu-path, --precision and "
                   "CUDA_DEVICE_MAX_CONNECTIONS; each CUDA variant runs in a process of its own")
      ->delimiter(',')
      ->capture_default_str();
  bench->add_flag("--json", bench_json, "JSON instead of a table");

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
    std::fprintf(stderr, "netsweep: error: %s\n", e.what());
    return 2;
  } catch (const CLI::ParseError& e) {
    // One line and status 2, like every other bad input (CLI11's own codes
    // and its "Run with --help" line are not part of netsweep's contract).
    std::string what = e.what();
    if (what.empty()) what = e.get_name();
    std::fprintf(stderr, "netsweep: error: %s (see netsweep --help)\n", what.c_str());
    return 2;
  }
  try {
    if (*run) {
      resolve_run_options(c, argc, argv, *run);
      const SweepSource source = sweep_source(c, spec_options);
      run_sweep(source.spec, source.data, c.run);
    } else if (*info) {
      print_info(info_path);
    } else if (*bench) {
      resolve_run_options(bc, argc, argv, *bench);
      std::vector<BenchDevice> devices;
      for (const auto& name : bench_devices) devices.push_back(parse_bench_device(name, bc.run.cuda));
      const SweepSource source = sweep_source(bc, bench_spec_options);
      std::fputs(format_bench(run_bench(source.spec, source.data, devices, bc.run.threads), bench_json).c_str(),
                 stdout);
    } else if (*merge) {
      merge_results(merge_inputs, merge_output, joined_command_line(argc, argv), merge_quiet);
    } else if (*slurm) {
      resolve_run_options(sc, argc, argv, *slurm);
      const SweepSource source = sweep_source(sc, slurm_spec_options);
      const std::string script = write_slurm_job(source.spec, source.data, sc.run, slurm_options, self_path(argv[0]));
      if (!slurm_options.submit) {
        std::fputs(script.c_str(), stdout);
      } else {
        const SubmittedJob job = submit_slurm_job(script, sc.run.output);
        std::printf("%s\n", job.job_id.c_str());
        std::fprintf(stderr, "netsweep: submitted %s as job %s\n", job.script_path.c_str(), job.job_id.c_str());
      }
    }
  } catch (const Interrupted& e) {
    std::fprintf(stderr, "\n%s%s\n", log_prefix().c_str(), e.what());
    return e.code;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\nnetsweep: error: %s\n", e.what());
    return 2;
  }
  return 0;
}
