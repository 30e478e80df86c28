// `netsweep bench` end to end: the table and JSON of each device and CUDA
// variant (said, not timed, where there is no GPU) and the CPU's width classes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "cli_command.h"

using netsweep::test::run_cli;

TEST(Cli, BenchTimesEachDeviceInOneTable) {
  const auto r = run_cli(
      "bench --devices cpu,cuda,cuda-gemm-tf32,cuda-gemm-defaultmath,cuda-split65,cuda-prio,cuda-gemm-dot,"
      "cuda-gemm-merge,cuda-gemm-merge-pershape,cuda-fused-smem,cuda-fused-terms1,cuda-block256 --layers 1,2 "
      "--widths 4,80 "
      "--activations relu "
      "--epochs 3 --grid 8 --json",
      false);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto rows = nlohmann::json::parse(r.output);
  ASSERT_EQ(rows.size(), 12u);
  EXPECT_EQ(rows[0]["device"], "cpu");
  EXPECT_EQ(rows[0]["networks"], 4);
  EXPECT_GT(rows[0]["seconds"].get<double>(), 0.0);
  EXPECT_GT(rows[0]["steps_per_s"].get<double>(), 0.0);
  EXPECT_GT(rows[0]["frames_per_s"].get<double>(), 0.0);
  const char* described[] = {"",
                             "fp32, auto",
                             "tf32, gemm",
                             "fp32, cuBLAS default math, gemm",
                             "fp32, auto path, GEMM from width 65",
                             "fp32, auto path, GEMM streams by depth",
                             "fp32, gemm path, own forward and delta products",
                             "fp32, gemm path, GEMM groups by depth",
                             "fp32, gemm path, GEMM groups by depth (a call per shape)",
                             "fp32, fused path, fused scratch in shared memory",
                             "fp32, fused path, fused sums a term at a time",
                             "fp32, auto path, fused blocks of 256 threads"};
  for (int i = 1; i < 12; ++i) {
    EXPECT_EQ(rows[i]["networks"], 4);
    if (rows[i].contains("error")) {  // no GPU here: said, not timed
      EXPECT_FALSE(rows[i]["error"].get<std::string>().empty());
    } else {
      EXPECT_GT(rows[i]["memory_bytes"].get<int64_t>(), 0) << "GPU memory is measured";
      EXPECT_NE(rows[i]["description"].get<std::string>().find(described[i]), std::string::npos) << rows[i];
    }
  }
}

TEST(Cli, BenchByWidthSetsEachClassBesideATunedGemm) {
  const auto r = run_cli(
      "bench --devices cpu --layers 1,2 --widths 4,40,100 --activations relu --epochs 2 --grid 8 --by-width --json",
      false);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto rows = nlohmann::json::parse(r.output);
  ASSERT_EQ(rows.size(), 4u) << rows;  // the sweep, then widths 4 (up to 16), 40 (17-64), 100 (65-256)
  EXPECT_EQ(rows[0]["networks"], 6);
  const char* names[] = {"cpu-widths-4-4", "cpu-widths-40-40", "cpu-widths-100-100"};
  for (int i = 1; i < 4; ++i) {
    SCOPED_TRACE(rows[i].dump());
    EXPECT_EQ(rows[i]["device"], names[i - 1]);
    EXPECT_EQ(rows[i]["networks"], 2);
    EXPECT_GT(rows[i]["gflops"].get<double>(), 0.0);
    const int w = rows[i]["gemm_m_n_k"][0];
    EXPECT_EQ(w, i == 1 ? 4 : i == 2 ? 40 : 100);
    EXPECT_EQ(rows[i]["gemm_m_n_k"][1], 32);  // the batch
    // scripts/setup.sh installs OpenBLAS: the reference must be measured, not skipped.
    ASSERT_TRUE(rows[i].contains("gemm_gflops")) << "no GEMM reference";
    EXPECT_NE(rows[i]["gemm_library"].get<std::string>().find("OpenBLAS"), std::string::npos);
    EXPECT_GT(rows[i]["gemm_gflops"].get<double>(), 0.0);
    EXPECT_NEAR(rows[i]["fraction_of_gemm"].get<double>(),
                rows[i]["gflops"].get<double>() / rows[i]["gemm_gflops"].get<double>(), 1e-9);
    EXPECT_GT(rows[i]["products_gflops"].get<double>(), 0.0);  // netsweep's kernels on the same products
    EXPECT_NEAR(rows[i]["products_fraction_of_gemm"].get<double>(),
                rows[i]["products_gflops"].get<double>() / rows[i]["gemm_gflops"].get<double>(), 1e-9);
    // The optimizer alone, over the class's network (1 or 2 hidden layers of w, 2 inputs, 2 outputs).
    const int64_t params = 2 * w + w + (w * w + w) + w * 2 + 2;
    EXPECT_EQ(rows[i]["parameters"].get<int64_t>(), params);
    EXPECT_GT(rows[i]["optimizer_gbytes_per_s"].get<double>(), 0.0);
    EXPECT_GT(rows[i]["stream_gbytes_per_s"].get<double>(), 0.0);
    EXPECT_NEAR(rows[i]["optimizer_fraction_of_stream"].get<double>(),
                rows[i]["optimizer_gbytes_per_s"].get<double>() / rows[i]["stream_gbytes_per_s"].get<double>(), 1e-9);
  }
  // The table says which library and how it was driven.
  const auto t = run_cli("bench --devices cpu --layers 1 --widths 100 --epochs 1 --grid 4 --by-width");
  ASSERT_EQ(t.exit_code, 0) << t.output;
  EXPECT_NE(t.output.find("cpu by width class"), std::string::npos) << t.output;
  EXPECT_NE(t.output.find("OpenBLAS"), std::string::npos) << t.output;
  EXPECT_NE(t.output.find("100-100"), std::string::npos) << t.output;
  EXPECT_NE(t.output.find("products"), std::string::npos) << t.output;
  EXPECT_NE(t.output.find("of stream"), std::string::npos) << t.output;
}

TEST(Cli, BenchRunsEachCudaVariantInAProcessOfItsOwn) {
  // connN sets CUDA_DEVICE_MAX_CONNECTIONS, which CUDA reads when the context
  // is made: only a process per variant makes the A/B honest.
  const auto r = run_cli(
      "bench --devices cpu,cuda-conn8,cuda-gemm-conn32 --layers 1 --widths 4,80 --epochs 2 --grid 8 --json", false);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto rows = nlohmann::json::parse(r.output);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_GT(rows[0]["seconds"].get<double>(), 0.0);
  for (int i = 1; i < 3; ++i) {
    EXPECT_EQ(rows[i]["device"], i == 1 ? "cuda-conn8" : "cuda-gemm-conn32");
    EXPECT_EQ(rows[i]["networks"], 4);  // 2 widths x the 2 default activations
    if (rows[i].contains("error"))      // no GPU here: said, not timed
      EXPECT_NE(rows[i]["error"].get<std::string>().find("CUDA"), std::string::npos) << rows[i];
    else
      EXPECT_GT(rows[i]["seconds"].get<double>(), 0.0);
  }
  // Each row is said on stderr once done: progress, kept in a log should a later row hang.
  const auto said = run_cli("bench --devices cpu,cuda-conn8 --layers 1 --widths 4 --epochs 1 --grid 4");
  EXPECT_NE(said.output.find("bench 1/2: cpu "), std::string::npos) << said.output;
  EXPECT_NE(said.output.find("bench 2/2: cuda-conn8 "), std::string::npos) << said.output;
  for (const char* bad : {"cuda-conn0", "cuda-conn33", "cuda-connx", "cuda-split0", "cuda-split", "cuda-split6x"}) {
    const auto b = run_cli(std::string("bench --devices ") + bad + " --layers 1 --widths 4 --epochs 1 --grid 4");
    EXPECT_EQ(b.exit_code, 2) << b.output;
    EXPECT_NE(b.output.find(std::string("--devices: '") + bad + "': unknown variant"), std::string::npos) << b.output;
  }
  const auto fixed = run_cli("bench --devices cuda-gemm-split65 --layers 1 --widths 4 --epochs 1 --grid 4");
  EXPECT_EQ(fixed.exit_code, 2) << fixed.output;
  EXPECT_NE(fixed.output.find("splitN moves the auto path's split; the gemm path has none"), std::string::npos)
      << fixed.output;
  const auto alone = run_cli("bench --devices cuda-pershape --layers 1 --widths 4 --epochs 1 --grid 4");
  EXPECT_EQ(alone.exit_code, 2) << alone.output;
  EXPECT_NE(alone.output.find("'cuda-pershape': pershape splits merged groups' GEMMs; add merge"), std::string::npos)
      << alone.output;
}

// Steps and FLOPs count what ran: networks stopped by --early-stop-loss after
// their first epoch (2 of 32 samples a step) ran 2 steps each, not 50 epochs'.
TEST(Cli, BenchCountsTheStepsThatRan) {
  const std::string sweep =
      "bench --devices cpu --layers 2 --widths 8 --dataset moons:n=64 --epochs 50 --grid 4 --json";
  for (const auto& [extra, steps] :
       {std::pair<const char*, double>{"", 2 * 2 * 50}, {" --early-stop-loss 10", 2 * 2}}) {
    const auto r = run_cli(sweep + extra, false);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const auto row = nlohmann::json::parse(r.output).at(0);
    EXPECT_NEAR(row["steps_per_s"].get<double>() * row["seconds"].get<double>(), steps, 1e-6 * steps) << extra;
  }
}

// -q says nothing on stderr; speedups are against the first device that ran
// (where no GPU is, the cuda row first is unavailable and the cpu row is 1x,
// not 0x); a bench where no device ran fails; variants that contradict each
// other or options no device uses are refused.
TEST(Cli, BenchQuietSpeedupsAndContradictions) {
  const std::string sweep = "bench --layers 1 --widths 4 --epochs 3 --grid 4 ";
  const auto quiet = run_cli(sweep + "--devices cuda,cpu --json -q 2>/dev/null", false);
  const auto loud = run_cli(sweep + "--devices cpu -q", true);
  ASSERT_EQ(quiet.exit_code, 0) << quiet.output;
  EXPECT_EQ(loud.output.find("bench 1/1"), std::string::npos) << loud.output;
  const auto rows = nlohmann::json::parse(quiet.output);
  if (rows.at(0).contains("error")) EXPECT_EQ(rows.at(1)["speedup_vs_first"].get<double>(), 1.0) << quiet.output;
  const auto gpu_only = run_cli(sweep + "--devices cuda", true);
  if (rows.at(0).contains("error")) {  // the table, then the failure
    EXPECT_EQ(gpu_only.exit_code, 2) << gpu_only.output;
    EXPECT_NE(gpu_only.output.find("unavailable"), std::string::npos) << gpu_only.output;
    EXPECT_NE(gpu_only.output.find("netsweep: error: bench: no device in --devices ran (cuda: "), std::string::npos)
        << gpu_only.output;
  } else {
    EXPECT_EQ(gpu_only.exit_code, 0) << gpu_only.output;
  }
  const std::pair<const char*, const char*> refused[] = {
      {"--devices cuda-fused-gemm", "'cuda-fused-gemm': two paths (fused, gemm); give one"},
      {"--devices cuda-tf32-fp32", "'cuda-tf32-fp32': two precisions (tf32, fp32); give one"},
      {"--devices cuda-dot-dot", "'cuda-dot-dot': 'dot' is given twice"},
      {"--devices cuda-conn8-conn16", "'cuda-conn8-conn16': two work-queue counts (conn8, conn16); give one"},
      {"--devices cuda-split65-split129", "two splits (split65, split129); give one"},
      {"--devices cpu --gpu-path gemm", "--gpu-path gemm: the GPU's only; --devices times no cuda device"},
      {"--devices cpu --precision tf32", "--precision tf32: the GPU's only"}};
  for (const auto& [args, message] : refused) {
    const auto r = run_cli(sweep + args);
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.output;
    EXPECT_NE(r.output.find(message), std::string::npos) << args << "\n" << r.output;
  }
}
