// `netsweep bench`: one sweep on each device, side by side, one table.
#include "netsweep/bench.h"

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "netsweep/cuda_backend.h"
#include "netsweep/device_schedule.h"
#include "netsweep/run.h"

namespace netsweep {
namespace {

struct CountingSink : FrameSink {
  std::atomic<int64_t> frames{0};
  void write_frame(int, int, const float*) override { frames.fetch_add(1); }
};

int64_t total_steps(const TrainingProblem& p) {
  int64_t steps = 0;
  for (size_t i = 0; i < p.networks.size(); ++i) {
    const int batch = effective_batch(p, int(i));
    steps += int64_t((p.n_train + batch - 1) / batch) * p.epochs;
  }
  return steps;
}

}  // namespace

// "cuda-gemm-tf32" -> the CUDA options it names, over the run's defaults.
CudaOptions cuda_variant(const std::string& device, const RunOptions& options) {
  CudaOptions cuda{parse_train_path(options.gpu_path), parse_precision_tf32(options.precision)};
  std::stringstream rest(device.substr(4));
  std::string word;
  std::getline(rest, word, '-');  // empty: the text before the first '-'
  while (std::getline(rest, word, '-')) {
    if (word == "tf32" || word == "fp32")
      cuda.tf32 = word == "tf32";
    else if (word == "fused" || word == "gemm" || word == "auto")
      cuda.path = parse_train_path(word);
    else
      throw SpecError("--devices: '" + device + "': unknown variant '" + word + "' (fused, gemm, auto, tf32, fp32)");
  }
  return cuda;
}

std::vector<BenchRow> run_bench(const SweepSpec& spec, const Dataset& data, const std::vector<std::string>& devices,
                                const RunOptions& options) {
  const TrainingProblem problem = build_problem(spec, data);
  std::vector<BenchRow> rows;
  for (const auto& device : devices) {
    BenchRow row;
    row.device = device;
    row.networks = int(problem.networks.size());
    row.epochs = problem.epochs;
    std::unique_ptr<Backend> backend;
    if (device == "cpu") {
      backend = make_cpu_backend(options.threads);
    } else if (device == "cuda" || device.rfind("cuda-", 0) == 0) {
      std::string why;
      backend = make_cuda_backend(why, cuda_variant(device, options));
      if (!backend) row.error = why;
    } else {
      throw SpecError("--devices: '" + device + "' is not cpu or cuda[-variant]");
    }
    if (backend) {
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
      row.steps = total_steps(problem);
      row.flops = 2.0 * double(problem_work(problem));  // 2 FLOPs per multiply-add
      row.memory_bytes = backend->device_bytes_used();
    }
    rows.push_back(row);
  }
  return rows;
}

std::string format_bench(const std::vector<BenchRow>& rows, bool json) {
  const double base = !rows.empty() && rows[0].error.empty() ? rows[0].seconds : 0;
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
  return t.str();
}

}  // namespace netsweep
