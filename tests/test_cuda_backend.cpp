// The CUDA backend against the CPU backend on a real GPU: same seeds, same
// initial weights and batch order; per-epoch losses within 1e-4 relative over
// 200 steps, frames within 1e-3, parameters as parity.h says (ParityBounds).
// Skipped cleanly where there is no device.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "cli_command.h"
#include "netsweep/cuda_backend.h"
#include "parity.h"
#include "recording_checkpointer.h"

using namespace netsweep;
using namespace netsweep::test;

namespace {

// GTEST_SKIP must run in the test body itself (it returns from the caller).
#define NS_REQUIRE_GPU()                                                   \
  do {                                                                     \
    const CudaDeviceInfo info = cuda_device_info();                        \
    if (info.count == 0) GTEST_SKIP() << "no CUDA device: " << info.error; \
  } while (0)

void run_cuda(SweepRun& r, const SweepSpec& s, const Dataset& d, const CudaOptions& options = {},
              const TrainControl& control = {}) {
  start(r, s, d);
  std::string why;
  auto backend = make_cuda_backend(why, options);
  ASSERT_TRUE(backend) << why;
  Progress progress;
  EXPECT_TRUE(backend->train(r.problem, r.params, r.results, r.frames, progress, control));
}

// The CPU backend against the GPU with `options` on the moons data: after s's
// epochs to the real GPU's bounds, after one epoch to the emulations' (which
// catch a wrong formula).
void expect_cuda_matches_cpu(SweepSpec s, const CudaOptions& options, const std::string& label) {
  SweepRun cpu, gpu;
  run_cpu(cpu, s, data("moons"));
  run_cuda(gpu, s, data("moons"), options);
  expect_parity(cpu, gpu, label, real_gpu_bounds(s.learning_rates.at(0)));
  s.epochs = 1;
  s.snapshot_every = 1;
  SweepRun cpu1, gpu1;
  run_cpu(cpu1, s, data("moons"));
  run_cuda(gpu1, s, data("moons"), options);
  expect_parity(cpu1, gpu1, label + ", one epoch");
}

}  // namespace

// Every network on each path: fused blocks, GEMM groups, and the automatic split.
const TrainPath kPaths[] = {TrainPath::fused, TrainPath::gemm, TrainPath::automatic};

// TF32 frames against FP32 ones: the first (before any training) differs only
// by TF32's rounding of the frame GEMMs' inputs; later ones follow a training
// that TF32 has moved a little, so a boundary may shift by a few grid points:
// those are held to a mean and a largest difference on the frame's scale.
void expect_tf32_frames_close(const SweepRun& cpu, const SweepRun& gpu, const std::string& what) {
  ASSERT_EQ(cpu.frames.frames.size(), gpu.frames.frames.size()) << what;
  for (const auto& [key, frame] : cpu.frames.frames) {
    const std::vector<float>& got = gpu.frames.frames.at(key);
    const std::string name = what + " frame " + std::to_string(key.first) + "/" + std::to_string(key.second);
    if (key.second == 0) {
      compare(frame, got, 2e-2f, 2e-2f, name);
      continue;
    }
    ASSERT_EQ(frame.size(), got.size()) << name;
    double sum = 0, largest = 0, scale = 1;
    for (size_t k = 0; k < frame.size(); ++k) {
      const double d = std::abs(double(frame[k]) - double(got[k]));
      sum += d;
      largest = std::max(largest, d);
      scale = std::max(scale, double(std::abs(frame[k])));
    }
    const double mean = sum / double(std::max<size_t>(frame.size(), 1));
    std::printf("%s: mean |d| %.2e, max |d| %.2e (scale %.3g)\n", name.c_str(), mean, largest, scale);
    EXPECT_LE(mean, 0.02 * scale) << name;     // H200, 2026-11-30: at most 0.0069 over 298 frames
    EXPECT_LE(largest, 0.25 * scale) << name;  // and 0.106
  }
}

TEST(CudaBackend, MatchesCpuForEveryActivationLossAndOptimizer) {
  NS_REQUIRE_GPU();
  for (TrainPath path : kPaths)
    for (Loss loss : {Loss::bce, Loss::softmax, Loss::mse}) {
      SweepSpec s = every_activation_and_optimizer(loss);
      s.widths = {6, 96};  // 2 x 96 takes the GEMM path under auto
      SweepRun cpu, gpu;
      run_cpu(cpu, s, data("moons"));
      run_cuda(gpu, s, data("moons"), {path, false});
      expect_parity(cpu, gpu, std::string("cuda ") + to_string(path) + " path, loss " + to_string(loss),
                    real_gpu_bounds(s.learning_rates.at(0)));
    }
}

TEST(CudaBackend, MatchesCpuAfterOneEpoch) {
  // One epoch (4 steps), every activation, optimizer, loss and path, to the
  // emulations' bounds on parameters too: a wrong formula or index shows here,
  // before training has had time to amplify rounding.
  NS_REQUIRE_GPU();
  for (TrainPath path : kPaths)
    for (Loss loss : {Loss::bce, Loss::softmax, Loss::mse}) {
      SweepSpec s = every_activation_and_optimizer(loss);
      s.widths = {6, 96};
      s.epochs = 1;
      s.snapshot_every = 1;
      SweepRun cpu, gpu;
      run_cpu(cpu, s, data("moons"));
      run_cuda(gpu, s, data("moons"), {path, false});
      expect_parity(cpu, gpu, std::string("cuda one epoch, ") + to_string(path) + " path, loss " + to_string(loss));
    }
}

TEST(CudaBackend, OwnProductsMatchTheCpu) {
  // The GEMM path with its forward and delta products as netsweep's ops (the
  // bench variant cuda-gemm-dot): after one epoch to the emulations' bounds,
  // after 200 steps to the real GPU's; the divergence cases too.
  NS_REQUIRE_GPU();
  CudaOptions own;
  own.path = TrainPath::gemm;
  own.own_products = true;
  for (Loss loss : {Loss::bce, Loss::softmax, Loss::mse}) {
    SweepSpec s = every_activation_and_optimizer(loss);
    s.widths = {6, 96};
    expect_cuda_matches_cpu(s, own, std::string("cuda own products, loss ") + to_string(loss));
  }
  SweepSpec d = base_spec();
  d.activations = {Activation::linear};
  d.loss = Loss::mse;
  d.optimizers = {Optimizer::sgd, Optimizer::momentum};
  d.learning_rates = {1e-2f, 1e38f};
  SweepRun cpu_d, gpu_d;
  run_cpu(cpu_d, d, data("gauss"));
  run_cuda(gpu_d, d, data("gauss"), own);
  for (size_t i = 0; i < gpu_d.results.size(); ++i)
    EXPECT_EQ(gpu_d.results[i].status,
              gpu_d.problem.networks[i].optimizer.lr > 1 ? NetStatus::diverged : NetStatus::trained);
  expect_parity(cpu_d, gpu_d, "cuda own products, divergence", real_gpu_bounds(1e-2f));
}

TEST(CudaBackend, MergedDepthsMatchTheCpu) {
  // Every width of a depth in one GEMM group (the bench variant cuda-merge):
  // depth 3 in three shapes (6-6, 96-96 and 7-3), its GEMMs as one grouped
  // call, as a call per shape, or (own products) only the weight gradients.
  NS_REQUIRE_GPU();
  SweepSpec s = every_activation_and_optimizer(Loss::bce);
  s.widths = {6, 96};
  s.shapes = {{7, 3}, {5, 2, 7}};
  for (int how = 0; how < 3; ++how) {
    CudaOptions merged;
    merged.path = TrainPath::gemm;
    merged.merge_depths = true;
    merged.per_shape_gemms = how == 1;
    merged.own_products = how == 2;
    expect_cuda_matches_cpu(s, merged, "cuda merged depths, " + describe(merged));
  }
}

TEST(CudaBackend, SharedScratchMatchesTheCpu) {
  // The fused path's single-block networks with their scratch in shared
  // memory (the bench variant cuda-smem), every activation and optimizer.
  NS_REQUIRE_GPU();
  CudaOptions smem;
  smem.path = TrainPath::fused;
  smem.shared_scratch = true;
  for (Loss loss : {Loss::bce, Loss::softmax}) {
    SweepSpec s = every_activation_and_optimizer(loss);
    s.widths = {6, 32};
    expect_cuda_matches_cpu(s, smem, std::string("cuda shared scratch, loss ") + to_string(loss));
  }
}

TEST(CudaBackend, FusedSumsOfEitherChunkMatchTheCpu) {
  // The fused path's sums with kTerms terms a load (the default) and one (the
  // bench variant cuda-terms1); widths 5 and 19 leave remainders past the
  // chunks. (Groups of blocks with the default: WidestNetworksOnGroupsOfBlocks.)
  NS_REQUIRE_GPU();
  for (bool chunked : {true, false}) {
    CudaOptions fused;
    fused.path = TrainPath::fused;
    fused.chunked_sums = chunked;
    SweepSpec s = every_activation_and_optimizer(Loss::bce);
    s.widths = {5, 19};
    s.layers = {1, 3};
    expect_cuda_matches_cpu(s, fused, "cuda fused, " + describe(fused));
  }
}

TEST(CudaBackend, FittedBlocksEqualBlocksOf256ToTheBit) {
  // The fused path's single-block networks in blocks fitted to their width
  // (the default; here at batch 16 32 threads for widths up to 7 and 128 for
  // 24, at the full batch of 60 64 for width 2, 128 for 6 and 7, 256 for 24:
  // four launches, the first on the frames' stream, the others on streams of
  // their own) and all
  // in blocks of 256 (cuda-block256): the same bits in everything recorded
  // (frames and evaluations wait for every launch), with scratch in global
  // and in shared memory; and the CPU's results within bounds.
  NS_REQUIRE_GPU();
  SweepSpec s = every_activation_and_optimizer(Loss::bce);
  s.widths = {2, 6, 24};
  s.batch_sizes = {16, 0};
  for (bool smem : {false, true}) {
    SweepRun runs[2];
    for (bool fitted : {false, true}) {
      CudaOptions fused;
      fused.path = TrainPath::fused;
      fused.shared_scratch = smem;
      fused.fitted_blocks = fitted;
      run_cuda(runs[fitted], s, data("moons"), fused);
    }
    expect_same_results(runs[0], runs[1], smem ? "shared scratch" : "global scratch");
  }
  CudaOptions fitted;
  fitted.path = TrainPath::fused;
  expect_cuda_matches_cpu(s, fitted, "cuda fused, fitted blocks");
}

TEST(CudaBackend, MatchesCpuForBatchesDivergenceAndRegression) {
  NS_REQUIRE_GPU();
  for (TrainPath path : kPaths) {
    SweepSpec s = base_spec();
    s.batch_sizes = {0, 7, 64};
    s.learning_rates = {1e-2f};
    SweepRun cpu, gpu;
    run_cpu(cpu, s, data("xor"));
    run_cuda(gpu, s, data("xor"), {path, false});
    expect_parity(cpu, gpu, std::string("cuda batches, ") + to_string(path), real_gpu_bounds(1e-2f));

    SweepSpec d = base_spec();
    d.activations = {Activation::linear};
    d.optimizers = {Optimizer::sgd};
    d.loss = Loss::mse;
    d.optimizers = {Optimizer::sgd, Optimizer::momentum};  // momentum at 1e38: the first update overflows
    d.learning_rates = {1e-2f, 1e38f};
    SweepRun cpu_d, gpu_d;
    run_cpu(cpu_d, d, data("gauss"));
    run_cuda(gpu_d, d, data("gauss"), {path, false});
    for (size_t i = 0; i < gpu_d.results.size(); ++i)
      EXPECT_EQ(gpu_d.results[i].status,
                gpu_d.problem.networks[i].optimizer.lr > 1 ? NetStatus::diverged : NetStatus::trained);
    expect_parity(cpu_d, gpu_d, std::string("cuda divergence, ") + to_string(path), real_gpu_bounds(1e-2f));
  }
}

TEST(CudaBackend, ResumesStoppedAndDivergedNetworksOnEveryPath) {
  // From a CPU checkpoint taken mid-run, in which the networks at 1e38 have
  // diverged: on the GEMM path these are members that never draw an epoch
  // order on the device (their rows stay at sample 0, as in the emulation).
  NS_REQUIRE_GPU();
  const DivergedMembersCheckpoint c;
  for (TrainPath path : kPaths) {
    const std::string label = std::string("cuda resume, ") + to_string(path);
    SweepRun gpu;
    run_cuda(gpu, c.spec, data("gauss"), {path, false}, c.resume);
    take_recorded(gpu, c.first, false);
    expect_diverged_where_lr_is_huge(gpu, label);
    expect_parity(c.whole, gpu, label, real_gpu_bounds(1e-2f));
  }
}

TEST(CudaBackend, Tf32StaysCloseToTheCpu) {
  // TF32 rounds GEMM inputs to 10-bit mantissas: not bit-comparable, but the
  // training must follow the same course (documented tolerance: 2% on losses).
  NS_REQUIRE_GPU();
  SweepSpec s = base_spec();
  s.widths = {128};
  s.layers = {2};
  s.activations = {Activation::tanh, Activation::relu};
  SweepRun cpu, gpu;
  run_cpu(cpu, s, data("moons"));
  run_cuda(gpu, s, data("moons"), {TrainPath::gemm, true});
  for (size_t i = 0; i < cpu.results.size(); ++i)
    compare(cpu.results[i].epoch_loss, gpu.results[i].epoch_loss, 1e-3f, 2e-2f, "tf32 epoch loss");
  expect_tf32_frames_close(cpu, gpu, "tf32");
}

TEST(CudaBackend, Tf32StaysCloseToTheCpuOnEveryPath) {
  // TF32 reaches the GEMM path's training GEMMs and every path's frame GEMMs:
  // wide and narrow networks, classification and regression, each path.
  NS_REQUIRE_GPU();
  for (TrainPath path : kPaths)
    for (bool regression : {false, true}) {
      SweepSpec s = regression ? regression_spec() : base_spec();
      s.layers = {1, 2};
      s.widths = {6, 96};
      s.activations = {Activation::tanh, Activation::relu, Activation::gelu};
      s.epochs = 20;
      s.snapshot_every = 5;
      const Dataset d = regression ? data("poly") : data("moons");
      SweepRun cpu, gpu;
      run_cpu(cpu, s, d);
      run_cuda(gpu, s, d, {path, true});
      const std::string what = std::string("tf32 ") + to_string(path) + (regression ? " regression" : " bce");
      for (size_t i = 0; i < cpu.results.size(); ++i)
        compare(cpu.results[i].epoch_loss, gpu.results[i].epoch_loss, 1e-3f, 2e-2f,
                what + " net " + std::to_string(i) + " epoch loss");
      expect_tf32_frames_close(cpu, gpu, what);
    }
}

TEST(CudaBackend, Tf32WithLayersOffSixteenByteBoundaries) {
  // Batched GEMMs take their matrices from pointer tables in device memory, which cuBLAS cannot
  // read when it picks a kernel; its docs ask fast-math callers for 16-byte aligned matrices. A
  // layer after one with a parameter count of 2 mod 4 starts 8 bytes off, with every size a
  // multiple of 4 (2-64's output layer, 6-32's weight gradients): a misaligned-address error if
  // cuBLAS assumed alignment. Per-shape calls and one grouped call.
  NS_REQUIRE_GPU();
  SweepSpec s = base_spec();
  s.layers = {1};
  s.widths = {32};
  s.shapes = {{6, 32}, {2, 64}, {6, 32, 8}};
  s.epochs = 20;
  SweepRun cpu;
  run_cpu(cpu, s, data("moons"));
  bool off = false;
  for (const NetworkLayout& net : cpu.problem.layout.networks)
    for (const LayerView& l : net.layers) off |= l.in % 4 == 0 && (net.offset + l.weights) % 4 != 0;
  ASSERT_TRUE(off) << "no layer of sizes in multiples of 4 starts off a 16-byte boundary: the test lost its case";
  for (bool merged : {false, true}) {
    CudaOptions tf32{TrainPath::gemm, true};
    tf32.merge_depths = merged;
    SweepRun gpu;
    run_cuda(gpu, s, data("moons"), tf32);
    const std::string what = std::string("tf32 gemm, layers off 16 bytes") + (merged ? ", merged depths" : "");
    for (size_t i = 0; i < cpu.results.size(); ++i)
      compare(cpu.results[i].epoch_loss, gpu.results[i].epoch_loss, 1e-3f, 2e-2f,
              what + " net " + std::to_string(i) + " epoch loss");
    expect_tf32_frames_close(cpu, gpu, what);
  }
}

TEST(CudaBackend, WidestNetworksOnGroupsOfBlocksMatchTheCpu) {
  // 8 x 384 on the fused path: each network trains on a group of blocks
  // joined by a device-wide barrier (cooperative launch). The plan gives
  // groups on any device that holds 2 x 64 resident blocks (an H100 holds 132+).
  NS_REQUIRE_GPU();
  SweepSpec s = base_spec();
  s.layers = {8};
  s.widths = {384};
  s.activations = {Activation::relu, Activation::sigmoid};
  s.learning_rates = {1e-3f};
  s.batch_sizes = {32};
  s.epochs = 6;
  s.snapshot_every = 3;
  SweepRun cpu, gpu;
  run_cpu(cpu, s, data("moons"));
  for (int blocks : plan_group_blocks(cpu.problem, 64)) EXPECT_GE(blocks, 2) << "8 x 384 should train on a group";
  run_cuda(gpu, s, data("moons"), {TrainPath::fused, false});
  expect_parity(cpu, gpu, "cuda fused, 8 x 384 on groups of blocks", real_gpu_bounds(1e-3f));
}

TEST(CudaBackend, DeviceCudaWithoutAGpuIsAClearError) {
  if (cuda_device_info().count > 0) GTEST_SKIP() << "a GPU is present";
  std::string why;
  EXPECT_EQ(make_cuda_backend(why), nullptr);
  EXPECT_FALSE(why.empty());
  const auto r = netsweep::test::run_cli("run --device cuda --layers 1 --widths 2 --epochs 1 --grid 4 -o " +
                                         std::string("/tmp/netsweep_nogpu.h5"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--device cuda: "), std::string::npos) << r.output;
}

TEST(CudaBackend, GpuOptionsOnTheCpuFallbackAreSaid) {
  if (cuda_device_info().count > 0) GTEST_SKIP() << "a GPU is present";
  const auto r = netsweep::test::run_cli("run --precision tf32 --layers 1 --widths 2 --epochs 1 --grid 4 -o " +
                                         std::string("/tmp/netsweep_fallback.h5"));
  EXPECT_EQ(r.exit_code, 0) << r.output;  // --device auto: the CPU trains, in FP32, and says so
  EXPECT_NE(r.output.find("training on the CPU (--gpu-path and --precision apply to the GPU only"), std::string::npos)
      << r.output;
  std::remove("/tmp/netsweep_fallback.h5");
}
