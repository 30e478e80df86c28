// `netsweep bench`: one sweep on each device, side by side, one table.
#include "netsweep/bench.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "gemm_reference.h"
#include "host_util.h"
#include "netsweep/problem.h"

namespace netsweep {
namespace {

struct CountingSink : FrameSink {
  std::atomic<int64_t> frames{0};
  void write_frame(int, int, const float*) override { frames.fetch_add(1); }
};

// The steps and multiply-adds that ran: a network stopped early
// (--early-stop-loss) or frozen when it diverged trains fewer epochs than the
// sweep's, and its frames are still evaluated.
int64_t steps_run(const TrainingProblem& p, const std::vector<NetworkResult>& results) {
  int64_t steps = 0;
  for (size_t i = 0; i < p.networks.size(); ++i) steps += batches_per_epoch(p, int(i)) * results[i].epochs_trained;
  return steps;
}
int64_t macs_run(const TrainingProblem& p, const std::vector<NetworkResult>& results) {
  int64_t macs = problem_macs(p);
  for (size_t i = 0; i < p.networks.size(); ++i)
    macs -= 3 * forward_macs(p.layout.networks[i]) * p.n_train * (p.epochs - results[i].epochs_trained);
  return macs;
}

// Trains the problem once on the device and times it.
BenchRow time_device(const TrainingProblem& problem, const BenchDevice& device, int threads) {
  BenchRow row;
  row.device = device.label;
  row.networks = int(problem.networks.size());
  row.epochs = problem.epochs;
  std::unique_ptr<Backend> backend;
  if (device.cuda) {
    if (device.max_connections > 0)
      setenv("CUDA_DEVICE_MAX_CONNECTIONS", std::to_string(device.max_connections).c_str(), 1);
    std::string why;
    backend = make_cuda_backend(why, device.options);
    if (!backend) {
      row.error = why;
      return row;
    }
  } else {
    backend = make_cpu_backend(threads);
  }
  row.description = backend->device_description();
  std::vector<float> params(size_t(problem.layout.total));
  initialize_parameters(problem.layout, problem.networks, params.data());
  std::vector<NetworkResult> results;
  CountingSink sink;
  Progress progress;
  const auto start = std::chrono::steady_clock::now();
  backend->train(problem, params, results, sink, progress, {});
  row.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  row.frames = sink.frames.load();
  row.steps = steps_run(problem, results);
  row.flops = 2.0 * double(macs_run(problem, results));  // 2 FLOPs per multiply-add
  row.memory_bytes = backend->device_bytes_used();
  return row;
}

nlohmann::json to_json(const BenchRow& r) {
  return {{"device", r.device}, {"description", r.description},  {"error", r.error}, {"networks", r.networks},
          {"epochs", r.epochs}, {"seconds", r.seconds},          {"flops", r.flops}, {"steps", r.steps},
          {"frames", r.frames}, {"memory_bytes", r.memory_bytes}};
}

BenchRow from_json(const nlohmann::json& j) {
  BenchRow r;
  r.device = j.at("device");
  r.description = j.at("description");
  r.error = j.at("error");
  r.networks = j.at("networks");
  r.epochs = j.at("epochs");
  r.seconds = j.at("seconds");
  r.flops = j.at("flops");
  r.steps = j.at("steps");
  r.frames = j.at("frames");
  r.memory_bytes = j.at("memory_bytes");
  return r;
}

// time_device in a child process; its row comes back through a pipe.
BenchRow time_device_in_child(const TrainingProblem& problem, const BenchDevice& device, int threads) {
  int fds[2];
  if (pipe(fds) != 0) return time_device(problem, device, threads);
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return time_device(problem, device, threads);
  }
  if (pid == 0) {
    close(fds[0]);
    BenchRow row;
    try {
      row = time_device(problem, device, threads);
    } catch (const std::exception& e) {
      row.device = device.label;
      row.error = e.what();
    }
    const std::string text = to_json(row).dump();
    size_t done = 0;
    while (done < text.size()) {
      const ssize_t w = write(fds[1], text.data() + done, text.size() - done);
      if (w <= 0) break;
      done += size_t(w);
    }
    _exit(0);
  }
  close(fds[1]);
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) text.append(buf, size_t(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  try {
    return from_json(nlohmann::json::parse(text));
  } catch (const std::exception&) {
    BenchRow row;
    row.device = device.label;
    row.networks = int(problem.networks.size());
    row.epochs = problem.epochs;
    row.error = WIFSIGNALED(status) ? "the benchmark process died of signal " + std::to_string(WTERMSIG(status))
                                    : "the benchmark process exited with status " + std::to_string(WEXITSTATUS(status));
    return row;
  }
}

// The variants that set one CudaOptions switch.
struct FlagVariant {
  const char* word;
  bool CudaOptions::*option;
  bool value;
};
constexpr FlagVariant kFlagVariants[] = {
    {"defaultmath", &CudaOptions::pedantic, false},    {"prio", &CudaOptions::stream_priorities, true},
    {"dot", &CudaOptions::own_products, true},         {"merge", &CudaOptions::merge_depths, true},
    {"pershape", &CudaOptions::per_shape_gemms, true}, {"smem", &CudaOptions::shared_scratch, true},
    {"terms1", &CudaOptions::chunked_sums, false},     {"block256", &CudaOptions::fitted_blocks, false}};

}  // namespace

BenchDevice parse_bench_device(const std::string& name, const CudaOptions& defaults) {
  BenchDevice d;
  d.label = name;
  if (name == "cpu") return d;
  if (name != "cuda" && name.rfind("cuda-", 0) != 0)
    throw SpecError("--devices: '" + name + "' is not cpu or cuda[-variant]");
  d.cuda = true;
  d.options = defaults;
  std::stringstream rest(name.substr(4));
  std::string word;
  std::getline(rest, word, '-');                    // empty: the text before the first '-'
  std::string words, precision, path, conn, split;  // a second of any would silently win over the first
  auto one_of = [&](std::string& chosen, const char* what) {
    if (!chosen.empty())
      throw SpecError("--devices: '" + name + "': two " + what + " (" + chosen + ", " + word + "); give one");
    chosen = word;
  };
  while (std::getline(rest, word, '-')) {
    if (("-" + words + "-").find("-" + word + "-") != std::string::npos)
      throw SpecError("--devices: '" + name + "': '" + word + "' is given twice");
    words += "-" + word;
    if (word == "tf32" || word == "fp32") {
      one_of(precision, "precisions");
      d.options.tf32 = word == "tf32";
    } else if (word == "fused" || word == "gemm" || word == "auto") {
      one_of(path, "paths");
      d.options.path = parse_train_path(word);
    } else if (word.rfind("conn", 0) == 0 && word.size() > 4 &&
               word.find_first_not_of("0123456789", 4) == std::string::npos && word.size() <= 6 &&
               std::atoi(word.c_str() + 4) >= 1 && std::atoi(word.c_str() + 4) <= 32) {
      one_of(conn, "work-queue counts");
      d.max_connections = std::atoi(word.c_str() + 4);
    } else if (word.rfind("split", 0) == 0 && word.size() > 5 && word.size() <= 10 &&
               word.find_first_not_of("0123456789", 5) == std::string::npos && std::atoi(word.c_str() + 5) >= 1) {
      one_of(split, "splits");
      d.options.gemm_min_width = std::atoi(word.c_str() + 5);  // the automatic path's GEMM width
    } else if (const auto* flag = std::find_if(std::begin(kFlagVariants), std::end(kFlagVariants),
                                               [&](const FlagVariant& f) { return word == f.word; });
               flag != std::end(kFlagVariants)) {
      d.options.*flag->option = flag->value;
    } else {
      std::string known = "fused, gemm, auto, tf32, fp32, conn1..conn32, splitN";
      for (const FlagVariant& f : kFlagVariants) known += std::string(", ") + f.word;
      throw SpecError("--devices: '" + name + "': unknown variant '" + word + "' (" + known + ")");
    }
  }
  if (d.options.per_shape_gemms && !d.options.merge_depths)
    throw SpecError("--devices: '" + name + "': pershape splits merged groups' GEMMs; add merge");
  if (d.options.gemm_min_width != kGemmMinWidth && d.options.path != TrainPath::automatic)
    throw SpecError("--devices: '" + name + "': splitN moves the auto path's split; the " + to_string(d.options.path) +
                    " path has none");
  return d;
}

namespace {

// The sweep's networks whose widest hidden layer is in [lo, hi]; false if none.
bool width_class_spec(const SweepSpec& spec, int lo, int hi, SweepSpec& out) {
  out = spec;
  out.widths.clear();
  out.shapes.clear();
  for (int w : spec.widths)
    if (w >= lo && w <= hi) out.widths.push_back(w);
  if (spec.layers.empty() || out.widths.empty()) {  // no uniform shape of this class
    out.layers.clear();
    out.widths.clear();
  }
  for (const auto& shape : spec.shapes) {
    const int widest = shape.empty() ? 0 : *std::max_element(shape.begin(), shape.end());
    if (widest >= lo && widest <= hi) out.shapes.push_back(shape);
  }
  return !out.widths.empty() || !out.shapes.empty();
}

std::vector<WidthClassRow> time_width_classes(const SweepSpec& spec, const Dataset& data, int threads) {
  constexpr std::pair<int, int> kClasses[] = {{1, 16}, {17, 64}, {65, 256}, {257, 1 << 30}};
  std::vector<WidthClassRow> rows;
  for (const auto& [lo, hi] : kClasses) {
    SweepSpec sub;
    if (!width_class_spec(spec, lo, hi, sub)) continue;
    const TrainingProblem problem = build_problem(sub, data);
    WidthClassRow row;
    row.min_width = hi;
    for (const auto& net : problem.layout.networks)
      for (size_t l = 0; l + 1 < net.layers.size(); ++l) {
        row.min_width = std::min(row.min_width, net.layers[l].out);
        row.max_width = std::max(row.max_width, net.layers[l].out);
      }
    row.networks = int(problem.networks.size());
    row.batch = effective_batch(problem, 0);
    BenchDevice cpu;
    cpu.label = "cpu";
    const BenchRow timed = time_device(problem, cpu, threads);
    row.epochs = problem.epochs;
    row.seconds = timed.seconds;
    row.flops = timed.flops;
    const GemmReference ref = measure_layer_products(row.max_width, row.batch, row.max_width, threads);
    row.reference = ref.library;
    row.reference_error = ref.error;
    row.reference_gflops = ref.gflops;
    row.products_gflops = ref.own_gflops;
    for (const auto& net : problem.layout.networks) row.parameters = std::max(row.parameters, int64_t(net.count));
    const OptimizerRate opt = measure_optimizer(row.parameters, row.max_width, threads);
    row.optimizer_gbytes = opt.gbytes;
    row.stream_gbytes = opt.stream_gbytes;
    rows.push_back(row);
  }
  return rows;
}

}  // namespace

BenchReport run_bench(const SweepSpec& spec, const Dataset& data, const std::vector<BenchDevice>& devices, int threads,
                      bool by_width, bool quiet) {
  const TrainingProblem problem = build_problem(spec, data);
  check_training_memory(problem, threads);
  BenchReport report;
  report.threads = worker_threads(threads);
  for (const auto& device : devices) {
    report.rows.push_back(device.cuda ? time_device_in_child(problem, device, threads)
                                      : time_device(problem, device, threads));
    // Progress, and each row's figure kept (in a log) should a later row hang and the run be killed.
    const BenchRow& row = report.rows.back();
    if (quiet) continue;
    if (row.error.empty())
      std::fprintf(stderr, "bench %zu/%zu: %s %.3f s\n", report.rows.size(), devices.size(), row.device.c_str(),
                   row.seconds);
    else
      std::fprintf(stderr, "bench %zu/%zu: %s unavailable: %s\n", report.rows.size(), devices.size(),
                   row.device.c_str(), row.error.c_str());
  }
  if (by_width) report.width_classes = time_width_classes(spec, data, report.threads);
  return report;
}

std::string format_bench(const BenchReport& report, bool json) {
  const std::vector<BenchRow>& rows = report.rows;
  // Speedups against the first device that ran (a GPU row may be unavailable).
  const auto first_ran = std::find_if(rows.begin(), rows.end(), [](const BenchRow& r) { return r.error.empty(); });
  const double base = first_ran != rows.end() ? first_ran->seconds : 0;
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : rows) {
      nlohmann::json j = {
          {"device", r.device}, {"description", r.description}, {"networks", r.networks}, {"epochs", r.epochs}};
      if (!r.error.empty()) {
        j["error"] = r.error;
      } else {
        j["seconds"] = r.seconds;
        j["steps_per_s"] = double(r.steps) / r.seconds;
        j["seconds_per_epoch"] = r.seconds / r.epochs;
        j["frames_per_s"] = double(r.frames) / r.seconds;
        j["gflops"] = r.flops / r.seconds / 1e9;
        j["speedup_vs_first"] = base > 0 ? base / r.seconds : 0.0;
        j["memory_bytes"] = r.memory_bytes;
      }
      out.push_back(j);
    }
    for (const auto& c : report.width_classes) {  // after the devices, one entry per class
      nlohmann::json j = {{"device", "cpu-widths-" + std::to_string(c.min_width) + "-" + std::to_string(c.max_width)},
                          {"networks", c.networks},
                          {"epochs", c.epochs},
                          {"threads", report.threads},
                          {"seconds", c.seconds},
                          {"seconds_per_epoch", c.seconds / c.epochs},
                          {"gflops", c.flops / c.seconds / 1e9},
                          {"gemm_m_n_k", {c.max_width, c.batch, c.max_width}},
                          {"products_gflops", c.products_gflops},
                          {"parameters", c.parameters},
                          {"optimizer_gbytes_per_s", c.optimizer_gbytes},
                          {"stream_gbytes_per_s", c.stream_gbytes},
                          {"optimizer_fraction_of_stream", c.optimizer_gbytes / c.stream_gbytes}};
      if (c.reference.empty()) {
        j["gemm_error"] = c.reference_error;
      } else {
        j["gemm_library"] = c.reference;
        j["gemm_gflops"] = c.reference_gflops;
        j["fraction_of_gemm"] = c.flops / c.seconds / 1e9 / c.reference_gflops;
        j["products_fraction_of_gemm"] = c.products_gflops / c.reference_gflops;
      }
      out.push_back(j);
    }
    return out.dump(2) + "\n";
  }
  std::ostringstream t;
  char buf[512];
  std::snprintf(buf, sizeof buf, "%-14s %9s %8s %12s %10s %10s %10s %9s %11s  %s\n", "device", "networks", "epochs",
                "steps/s", "s/epoch", "frames/s", "GFLOP/s", "speedup", "GPU mem", "on");
  t << buf;
  for (const auto& r : rows) {
    if (!r.error.empty()) {
      std::snprintf(buf, sizeof buf, "%-14s %9d %8d   unavailable: %s\n", r.device.c_str(), r.networks, r.epochs,
                    r.error.c_str());
    } else {
      std::snprintf(buf, sizeof buf, "%-14s %9d %8d %12.0f %10.4f %10.1f %10.1f %8.2fx %11s  %s (%.2f s)\n",
                    r.device.c_str(), r.networks, r.epochs, double(r.steps) / r.seconds, r.seconds / r.epochs,
                    double(r.frames) / r.seconds, r.flops / r.seconds / 1e9, base > 0 ? base / r.seconds : 0.0,
                    r.memory_bytes ? (std::to_string(r.memory_bytes >> 20) + " MiB").c_str() : "-",
                    r.description.c_str(), r.seconds);
    }
    t << buf;
  }
  if (!report.width_classes.empty()) {
    const WidthClassRow& first = report.width_classes.front();
    t << "\ncpu by width class, each trained alone on " << report.threads
      << " threads. The widest layer's three step products (z = W x, dx = W^T dz, dW = dz x^T; W widest x widest, "
         "x widest x batch), "
      << report.threads << " at once, by netsweep's kernels and by "
      << (first.reference.empty() ? first.reference_error : first.reference)
      << " single-thread sgemm; and Adam alone over the class's largest network (24 bytes a parameter), beside the "
         "same loads and stores without its arithmetic (stream)\n";
    std::snprintf(buf, sizeof buf, "%-10s %9s %10s %10s %16s %13s %13s %9s %9s %10s %8s\n", "widths", "networks",
                  "s/epoch", "GFLOP/s", "layer m x n x k", "products", "GEMM GFLOP/s", "products", "step", "Adam",
                  "Adam");
    t << buf;
    std::snprintf(buf, sizeof buf, "%-10s %9s %10s %10s %16s %13s %13s %9s %9s %10s %8s\n", "", "", "", "(step)", "",
                  "GFLOP/s", "", "of GEMM", "of GEMM", "GB/s", "of stream");
    t << buf;
    for (const auto& c : report.width_classes) {
      const double gflops = c.flops / c.seconds / 1e9;
      const std::string widths = std::to_string(c.min_width) + "-" + std::to_string(c.max_width);
      const std::string shape =
          std::to_string(c.max_width) + "x" + std::to_string(c.batch) + "x" + std::to_string(c.max_width);
      if (c.reference.empty()) {
        std::snprintf(buf, sizeof buf, "%-10s %9d %10.4f %10.1f %16s %13.1f %13s %9s %9s", widths.c_str(), c.networks,
                      c.seconds / c.epochs, gflops, shape.c_str(), c.products_gflops, "-", "-", "-");
      } else {
        std::snprintf(buf, sizeof buf, "%-10s %9d %10.4f %10.1f %16s %13.1f %13.1f %8.0f%% %8.0f%%", widths.c_str(),
                      c.networks, c.seconds / c.epochs, gflops, shape.c_str(), c.products_gflops, c.reference_gflops,
                      100.0 * c.products_gflops / c.reference_gflops, 100.0 * gflops / c.reference_gflops);
      }
      t << buf;
      std::snprintf(buf, sizeof buf, " %10.1f %8.0f%%\n", c.optimizer_gbytes,
                    100.0 * c.optimizer_gbytes / c.stream_gbytes);
      t << buf;
    }
  }
  return t.str();
}

}  // namespace netsweep
