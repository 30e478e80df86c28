// Typing mistakes a user makes on the command line, each answered with one
// line naming the command or option and exit status 2 (found by a review
// that tried them: each used to be accepted, or answered vaguely).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "cli_command.h"
#include "netsweep/problem.h"

namespace fs = std::filesystem;
using netsweep::test::run_cli;

namespace {
std::string temp_path(const std::string& name) { return ::testing::TempDir() + "netsweep_mistakes_" + name; }

void expect_refused(const std::string& args, const std::string& message) {
  const auto r = run_cli(args);
  EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.output;
  EXPECT_NE(r.output.find("netsweep: error: " + message), std::string::npos)
      << args << "\nexpected: " << message << "\ngot: " << r.output;
}
}  // namespace

TEST(Cli, UnknownOrMissingCommandsAreNamed) {
  expect_refused("frobnicate", "'frobnicate': not a command; expected one of run, info, merge, slurm, bench");
  expect_refused("", "a command is required; expected one of run, info");
  const std::string config = temp_path("epochs.toml");
  std::FILE* f = std::fopen(config.c_str(), "w");
  std::fputs("epochs = 3\n", f);
  std::fclose(f);
  expect_refused("--config " + config, "a command is required; expected one of run, info");
  EXPECT_EQ(run_cli("--version").exit_code, 0);
}

TEST(Cli, EmptyListItemsAreRefused) {
  const std::string rest = " --widths 2 --epochs 1 --grid 4 --device cpu -q -o " + temp_path("list.h5");
  expect_refused("run --layers 1 --lr 0.1,,0.2" + rest, "--lr '0.1,,0.2': an empty item in the list");
  expect_refused("run --layers 1 --activations=relu,,tanh" + rest, "--activations 'relu,,tanh': an empty item");
  expect_refused("run --layers ,1" + rest, "--layers ',1': an empty item");
  expect_refused("run --layers 1 --lr 0.1 ,,0.2" + rest, "--lr ',,0.2': an empty item");  // the option's later words
  expect_refused("run --layers 1 --lr 0.1 , 0.2" + rest, "--lr ',': an empty item");
  EXPECT_FALSE(fs::exists(temp_path("list.h5")));
  // A comma at the end, then the next value: still a list of two (2 layer counts x 2 activations).
  const auto r = run_cli("run --layers 1, 2 --activations relu,tanh" + rest);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(run_cli("info " + temp_path("list.h5")).output.find("networks: 4,"), std::string::npos);
  fs::remove(temp_path("list.h5"));
}

TEST(Cli, EarlyStopBelowZeroIsRefused) {  // losses are never negative: it would never stop a network
  expect_refused("run --layers 1 --widths 2 --epochs 1 --grid 4 --early-stop-loss -0.5 -o " + temp_path("stop.h5"),
                 "--early-stop-loss: must be >= 0");
}

TEST(Cli, SlurmOptionsAreCheckedBeforeTheScript) {
  const std::string dir = temp_path("slurm");
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string sweep = "slurm --layers 1,2 --widths 4 --epochs 2 --grid 4 --shards 2 ";
  expect_refused(sweep + "-o " + dir + "/", dir + "/: is a directory; give a file name");
  expect_refused(sweep + "--time 30min -o " + dir + "/s.h5", "--time '30min': expected sbatch's MINUTES");
  expect_refused(sweep + "--time 1:2:3:4 -o " + dir + "/s.h5", "--time '1:2:3:4'");
  expect_refused(sweep + "--device cpu --gres gpu:1 -o " + dir + "/s.h5",
                 "--gres gpu:1: the tasks train on the CPU (--device cpu)");
  expect_refused(sweep + "--device cpu --gres GPU:2 -o " + dir + "/s.h5", "--gres GPU:2: the tasks train on the CPU");
  EXPECT_TRUE(fs::is_empty(dir)) << "a refused script left a plan file";
  for (const char* time : {"90", "30:00", "12:00:00", "2-12", "1-00:30", "1-00:00:30", "UNLIMITED"}) {
    const auto r = run_cli(sweep + "--time " + time + " --gres gpu:1 -o " + dir + "/s.h5", false);
    EXPECT_EQ(r.exit_code, 0) << time << "\n" << r.output;
    EXPECT_NE(r.output.find("#SBATCH --time=" + std::string(time) + "\n"), std::string::npos) << r.output;
  }
  // A shard file of this script's sweep is left for its task (a resubmission);
  // one of another sweep or --shards is named before the plan is replaced.
  ASSERT_EQ(run_cli("run --from " + dir + "/s.plan.h5 --shard 1/2 -q -o " + dir + "/s.shard-1.h5").exit_code, 0);
  EXPECT_EQ(run_cli(sweep + "-o " + dir + "/s.h5", false).exit_code, 0);
  expect_refused("slurm --layers 1,2 --widths 4 --epochs 3 --grid 4 --shards 2 -o " + dir + "/s.h5",
                 dir + "/s.shard-1.h5: shard results or checkpoints of another sweep, or of another --shards");
  expect_refused("slurm --layers 1,2 --widths 4 --epochs 2 --grid 4 --shards 3 -o " + dir + "/s.h5",
                 dir + "/s.shard-1.h5: shard results");
  fs::remove_all(dir);
}

TEST(Cli, OptionsGivenTwiceWithoutAValueOrOutOfTypeAreSaidPlainly) {
  expect_refused("run --epochs 5 --epochs 0", "--epochs: given 2 times; give it once");
  expect_refused("info x.h5 --format csv --format json", "--format: given 2 times; give it once");
  expect_refused("run --layers", "--layers: its value (INT) is missing");
  expect_refused("run --epochs 10000000000",
                 "--epochs: '10000000000' is not a number of the kind it takes, or out of its range");
}

// --config is read by run alone: elsewhere it would be ignored without a word
// (bench timed the default slide sweep); a bad value from it names the file.
TEST(Cli, ConfigFilesAreRunsAndNamedInErrors) {
  const std::string seeds = temp_path("seeds.toml"), bad = temp_path("bad.toml");
  for (const auto& [path, text] :
       {std::pair<std::string, const char*>{seeds, "seeds = 3\n"}, {bad, "activations = [\"bogus\"]\n"}}) {
    std::FILE* f = std::fopen(path.c_str(), "w");
    std::fputs(text, f);
    std::fclose(f);
  }
  expect_refused("--config " + seeds + " bench --layers 1 --widths 2 --epochs 1",
                 "--config " + seeds + ": read by run only; give bench's options on the command line");
  expect_refused("--config " + seeds + " info x.h5", "--config " + seeds + ": read by run only");
  expect_refused("--config " + bad + " run --layers 1 --widths 2 --epochs 1 -o " + temp_path("bad.h5"),
                 "unknown activation 'bogus' (known: sigmoid, tanh, relu, linear, leaky_relu, elu, gelu, sine) "
                 "(options from the command line and " +
                     bad + ")");
}

// A rerun written over its own source, and one feature set given twice (in
// another order), are refused; bench writes nothing, so --from is its to read.
TEST(Cli, RerunsOverTheirSourceAndRepeatedFeatureSetsAreRefused) {
  const std::string from = temp_path("from.h5");
  ASSERT_EQ(run_cli("run --layers 1 --widths 2 --epochs 1 --grid 4 --device cpu -q -o " + from).exit_code, 0);
  expect_refused("run --from " + from + " -o " + from, "-o " + from + ": is the --from file");
  expect_refused("slurm --from " + from + " --shards 1 -o " + from, "-o " + from + ": is the --from file");
  EXPECT_EQ(run_cli("bench --from " + from + " --devices cpu -q", false).exit_code, 0);
  EXPECT_TRUE(fs::exists(from));
  fs::remove(from);
  expect_refused("run --layers 1 --widths 2 --epochs 1 --features x1,x2 --features x2,x1 -o " + temp_path("f.h5"),
                 "--features: the sets x1,x2 and x2,x1 hold the same inputs");
}

// Shards of two splits of one sweep are named as such, not by a network both hold.
TEST(Cli, MergeOfTwoSplitsIsNamed) {
  const std::string sweep = "run --layers 1,2 --widths 2,3 --epochs 1 --grid 4 --device cpu -q ";
  const std::string a = temp_path("split.shard-0.h5"), b = temp_path("split3.shard-1.h5");
  ASSERT_EQ(run_cli(sweep + "--shard 0/2 -o " + a).exit_code, 0);
  ASSERT_EQ(run_cli(sweep + "--shard 1/3 -o " + b).exit_code, 0);
  expect_refused(
      "merge " + a + " " + b + " -o " + temp_path("split.h5"),
      "merge: " + b + " is a shard of 3 but " + a + " of 2: shards of one split (--shards) merge, not of two");
  EXPECT_FALSE(fs::exists(temp_path("split.h5")));
  fs::remove(a);
  fs::remove(b);
}

// The same data twice would train the same networks twice (the summaries then
// count them as replicas) or count each point twice: a repeated --dataset or
// --noise, a generator joined with itself, a file given twice, a key given
// twice; so would two batch sizes that both mean the full batch, or a --shape
// that --layers x --widths makes too (one shape draws one start).
TEST(Cli, DataGivenTwiceIsRefused) {
  const std::string rest = " --layers 1 --widths 2 --epochs 1 --grid 4 --device cpu -q -o " + temp_path("data.h5");
  expect_refused("run --dataset moons --dataset moons" + rest,
                 "--dataset 'moons': the same data as the part 'moons'; give each data set once");
  expect_refused("run --dataset moons:n=500 --dataset moons:seed=0,n=500" + rest,
                 "--dataset 'moons:seed=0,n=500': the same data as the part 'moons:n=500'");
  expect_refused("run --dataset circle --noise 0.1,0.10" + rest,
                 "--dataset 'circle' at --noise 0.1: the same data as the part 'circle noise=0.1'");
  expect_refused("run --dataset circle+circle" + rest,
                 "--dataset 'circle+circle': 'circle' and 'circle' generate the same points");
  expect_refused("run --dataset moons:n=10,n=20" + rest, "--dataset moons:n=10,n=20: 'n' is given twice");
  expect_refused("run --layers 1,2 --widths 2,4 --shape 4-4 --epochs 1 --device cpu -q -o " + temp_path("data.h5"),
                 "--shape 4-4: also a --layers x --widths shape (2 x 4); give it once");
  expect_refused("run --dataset moons:n=80 --batch 0,100" + rest,
                 "--batch 0 and 100: both the full batch (moons:n=80 has 80 training points); give one");
  expect_refused("run --dataset circle:n=60 --dataset moons:n=80 --batch 100,0" + rest,
                 "--batch 100 and 0: both the full batch (the largest part, moons:n=80 has 80 training points); "
                 "give one");
  const std::string csv = temp_path("points.csv");
  std::FILE* f = std::fopen(csv.c_str(), "w");
  std::fputs("x1,x2,label\n0,0,0\n1,1,1\n0,1,0\n1,0,1\n", f);
  std::fclose(f);
  const std::string again = fs::path(csv).parent_path().string() + "/./" + fs::path(csv).filename().string();
  expect_refused("run --csv " + csv + " --csv " + again + rest,
                 again + ": given twice (--csv " + csv + " and --csv " + again + ")");
  EXPECT_FALSE(fs::exists(temp_path("data.h5")));
  // Different data in each part still trains: other noise, another seed, the same generator joined with
  // another; and --batch 80,0 is two batch sizes for the part of 100 points.
  const auto r =
      run_cli("run --dataset circle:n=40+circle:seed=5,n=40 --dataset circle:n=100 --noise 0,0.1 --batch 80,0" + rest);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  for (int k = 0; k < 4; ++k) fs::remove(temp_path("data.part-" + std::to_string(k) + ".h5"));
  fs::remove(csv);
}

// A merged file given with its shards, or a copy beside the file, holds the
// same networks twice: info would count each as two replicas.
TEST(Cli, InfoRefusesTheSameNetworksTwice) {
  const std::string sweep = "run --layers 1,2 --widths 2 --epochs 1 --grid 4 --seeds 2 --device cpu -q ";
  const std::string a = temp_path("twice.shard-0.h5"), b = temp_path("twice.shard-1.h5"), all = temp_path("twice.h5");
  ASSERT_EQ(run_cli(sweep + "--shard 0/2 -o " + a).exit_code, 0);
  ASSERT_EQ(run_cli(sweep + "--shard 1/2 -o " + b).exit_code, 0);
  ASSERT_EQ(run_cli("merge " + a + " " + b + " -q -o " + all).exit_code, 0);
  expect_refused("info " + all + " " + b + " --by layers",
                 b + ": network 1 (2 sigmoid adam, seed 1) is network 1 of " + all + " too: the same data");
  const auto shards = run_cli("info " + a + " " + b + " --by layers");  // the shards alone: each network once
  EXPECT_EQ(shards.exit_code, 0) << shards.output;
  // Other seeds are other networks: their replicas add to these.
  const std::string more = temp_path("twice_more.h5");
  ASSERT_EQ(run_cli(sweep + "--seed 100 -o " + more).exit_code, 0);
  EXPECT_EQ(run_cli("info " + all + " " + more + " --by layers").exit_code, 0);
  // A sweep that overlaps: a network trains the same in any sweep, so seed 1 (network 2 there, 1 here) is in both.
  const std::string overlap = temp_path("twice_overlap.h5");
  ASSERT_EQ(run_cli(sweep + "--seed 1 -o " + overlap).exit_code, 0);
  expect_refused("info " + all + " " + overlap + " --by layers",
                 overlap + ": network 0 (2 sigmoid adam, seed 1) is network 1 of " + all + " too");
  // The same seeds at another learning rate are other networks.
  const std::string lr = temp_path("twice_lr.h5");
  ASSERT_EQ(run_cli(sweep + "--lr 0.01 -o " + lr).exit_code, 0);
  EXPECT_EQ(run_cli("info " + all + " " + lr + " --by layers").exit_code, 0);
  // Files that differ in seeds or an axis pool as --by says; in what no axis names (epochs), info warns.
  const auto pooled = run_cli("info " + all + " " + more + " " + lr + " --by layers");
  EXPECT_EQ(pooled.output.find("warning"), std::string::npos) << pooled.output;
  const std::string longer = temp_path("twice_longer.h5");
  ASSERT_EQ(run_cli(std::string(sweep).replace(sweep.find("--epochs 1"), 10, "--epochs 2") + "--seed 50 -o " + longer)
                .exit_code,
            0);
  const auto warned = run_cli("info " + all + " " + longer + " --by layers");
  EXPECT_EQ(warned.exit_code, 0);
  EXPECT_NE(warned.output.find("warning: " + longer + " trains otherwise than " + all +
                               " in epochs (1 and 2), which --by does not group by"),
            std::string::npos)
      << warned.output;
  EXPECT_EQ(run_cli("info " + all + " " + longer + " --by part,layers").output.find("warning"), std::string::npos);
  // Files that differ alike are said in one line.
  const std::string longer2 = temp_path("twice_longer2.h5");
  ASSERT_EQ(run_cli(std::string(sweep).replace(sweep.find("--epochs 1"), 10, "--epochs 2") + "--seed 60 -o " + longer2)
                .exit_code,
            0);
  const auto alike = run_cli("info " + all + " " + longer + " " + longer2 + " --by layers").output;
  EXPECT_NE(alike.find("warning: " + longer + ", " + longer2 + " train otherwise than " + all +
                       " in epochs (1 and 2), which"),
            std::string::npos)
      << alike;
  EXPECT_EQ(alike.find("warning", alike.find("warning") + 1), std::string::npos) << alike;
  // A float setting is said as given (0.3, not the float's 0.30000001192092896).
  const std::string stops = temp_path("twice_stops.h5");
  ASSERT_EQ(run_cli(sweep + "--early-stop-loss 0.3 --seed 70 -o " + stops).exit_code, 0);
  const auto stop_warned = run_cli("info " + all + " " + stops + " --by layers");
  EXPECT_NE(stop_warned.output.find("in early_stop_loss (null and 0.3), which"), std::string::npos)
      << stop_warned.output;
  const std::string closer = temp_path("twice_closer.h5");  // the next float: as many digits as it takes
  ASSERT_EQ(run_cli(sweep + "--early-stop-loss 0.30000004 --seed 80 -o " + closer).exit_code, 0);
  const auto close_warned = run_cli("info " + stops + " " + closer + " --by layers");
  EXPECT_NE(close_warned.output.find("in early_stop_loss (0.3 and 0.30000004), which"), std::string::npos)
      << close_warned.output;
  for (const auto& f : {a, b, all, more, overlap, lr, longer, longer2, stops, closer}) fs::remove(f);
}

// A multi-data sweep's part run again with other seeds is the same part: its
// networks group as replicas under the part's label. A part of that name on
// another plane is another part (its replicas' views are averaged per point).
TEST(Cli, PartsRunAgainWithOtherSeedsAreOnePart) {
  const std::string sweep =
      "run --layers 1 --widths 2 --epochs 1 --dataset moons:n=40 --dataset circle:n=40 "
      "--device cpu -q ";
  const std::string a = temp_path("again.h5"), b = temp_path("again_more.h5"), c = temp_path("again_plane.h5");
  ASSERT_EQ(run_cli(sweep + "--grid 4 -o " + a).exit_code, 0);
  ASSERT_EQ(run_cli(sweep + "--grid 4 --seed 5 -o " + b).exit_code, 0);
  ASSERT_EQ(run_cli(sweep + "--grid 8 --seed 9 -o " + c).exit_code, 0);
  const std::string pa = temp_path("again.part-0.h5"), pb = temp_path("again_more.part-0.h5"),
                    pc = temp_path("again_plane.part-0.h5");
  const auto two = run_cli("info " + pa + " " + pb + " --by part --format csv", false);
  EXPECT_NE(two.output.find("\nmoons:n=40,4,"), std::string::npos) << two.output;
  const auto three = run_cli("info " + pa + " " + pb + " " + pc + " --by part --format csv", false);
  EXPECT_NE(three.output.find("\nmoons:n=40 (" + pa + " + " + pb + "),4,"), std::string::npos) << three.output;
  EXPECT_NE(three.output.find("\nmoons:n=40 (" + pc + "),2,"), std::string::npos) << three.output;
  for (const auto& f : {a, b, c})
    for (const char* k : {".part-0.h5", ".part-1.h5"}) fs::remove(f.substr(0, f.size() - 3) + k);
}

// Momentum above 1 makes each past step weigh more than the last (Keras refuses
// it too); numbers in messages are written as given, not 2.14748e+09 or 40 digits.
TEST(Cli, ValuesOutOfRangeAreSaidPlainly) {
  const std::string rest = " --layers 1 --widths 2 --epochs 1 --grid 4 --device cpu -q -o " + temp_path("range.h5");
  expect_refused("run --optimizers momentum --momentum 0.9,1.5" + rest,
                 "--momentum: must be from 0 to 1, as in Keras (got 1.5)");
  expect_refused("run --optimizers sgd,momentum --momentum 0.9,0" + rest,
                 "--momentum 0 with --optimizers sgd and momentum: momentum 0 steps as sgd does");
  expect_refused("run --seeds 2147483647" + rest, "--seeds must be between 1 and 1000000 (got 2147483647)");
  expect_refused("run --lr 0" + rest, "--lr: a learning rate must be > 0 (got 0)");
  const std::string csv = temp_path("far.csv");
  std::FILE* f = std::fopen(csv.c_str(), "w");
  std::fputs("x1,x2,label\n1e40,0,0\n1,1,1\n", f);
  std::fclose(f);
  expect_refused("run --csv " + csv + rest,
                 csv + ": line 2, field 'x1' is out of range (1e+40; |value| must be at most 1e15)");
  EXPECT_FALSE(fs::exists(temp_path("range.h5")));
  fs::remove(csv);
  const auto one = run_cli("run --optimizers momentum --momentum 1" + rest);  // Keras's range includes 1
  EXPECT_EQ(one.exit_code, 0) << one.output;
  fs::remove(temp_path("range.h5"));
}

// Momentum 0 steps as sgd does, so a momentum-0 sweep holds the sgd sweep's
// networks, as a batch of every point is the full batch; an explicit shape of
// one width has that width on the width axis.
TEST(Cli, InfoKnowsMomentumZeroAsSgdAndTheWidthOfAShape) {
  const std::string sweep = "run --shape 3-3 --activations sigmoid --epochs 1 --grid 4 --seeds 2 --device cpu -q ";
  const std::string sgd = temp_path("plain_sgd.h5"), zero = temp_path("plain_zero.h5");
  ASSERT_EQ(run_cli(sweep + "--optimizers sgd -o " + sgd).exit_code, 0);
  ASSERT_EQ(run_cli(sweep + "--optimizers momentum --momentum 0 -o " + zero).exit_code, 0);
  expect_refused("info " + sgd + " " + zero + " --by width",
                 zero + ": network 0 (3-3 sigmoid momentum, seed 0) is network 0 of " + sgd + " too");
  const auto widths = run_cli("info " + sgd + " --by width --format csv");
  EXPECT_NE(widths.output.find("\n3,2,"), std::string::npos) << widths.output;  // width 3: both replicas
  // A batch of every point is the full batch: the same networks as --batch 0.
  const std::string full = temp_path("plain_full.h5"), all_points = temp_path("plain_all.h5");
  ASSERT_EQ(run_cli(sweep + "--dataset moons:n=40 --batch 0 -o " + full).exit_code, 0);
  ASSERT_EQ(run_cli(sweep + "--dataset moons:n=40 --batch 40 -o " + all_points).exit_code, 0);
  expect_refused("info " + full + " " + all_points, all_points + ": network 0 (3-3 sigmoid adam, seed 0) is network 0");
  for (const auto& f : {sgd, zero, full, all_points}) fs::remove(f);
}

// --data-seed is refused only where every seed gives the same points: where
// the next seed's points would be refused (a split leaving a class no training
// point, two parts alike), this seed's still run.
TEST(Cli, DataSeedRunsWhereTheNextSeedsPointsWouldBeRefused) {
  const std::string run = "run --layers 1 --widths 2 --epochs 1 --grid 4 --device cpu -q -o " + temp_path("seeded.h5");
  for (const std::string data :
       {"--dataset moons:n=4,noise=0.1 --test-fraction 0.5 --data-seed 3",
        "--dataset moons:n=40,noise=0.1,seed=3 --dataset moons:n=40,noise=0.1 --data-seed 2"}) {
    const auto r = run_cli(run + " " + data);
    EXPECT_EQ(r.exit_code, 0) << data << "\n" << r.output;
  }
  for (const char* f : {"seeded.h5", "seeded.part-0.h5", "seeded.part-1.h5"}) fs::remove(temp_path(f));
}

// Where no seed changes a point, --data-seed is refused: files with none held out
// (0.1 of 3 points), beside moons at noise 0; parts alike at the next seeds (moons at 5, ...).
TEST(Cli, DataSeedWhereEverySeedGivesThesePointsIsRefused) {
  std::string points;
  for (const auto& [name, json] : {std::pair{"a.json", R"([{"x":0.1,"y":0.2},{"x":0.3,"y":0.4}])"},
                                   std::pair{"b.json", R"([{"x":0.5,"y":0.6}])"}}) {
    std::FILE* f = std::fopen(temp_path(name).c_str(), "w");
    std::fputs(json, f);
    std::fclose(f);
    points += " --points " + temp_path(name) + ":" + (points.empty() ? "0" : "1");
  }
  const std::string rest = " --layers 1 --widths 2 --epochs 1 --grid 4 --device cpu -q -o " + temp_path("same.h5");
  expect_refused("run" + points + " --test-fraction 0.1 --data-seed 3" + rest, "--data-seed 3: every seed gives");
  expect_refused("run" + points + " --dataset moons:n=40 --data-seed 3" + rest, "--data-seed 3: every seed gives");
  expect_refused("run --dataset moons:seed=5 --dataset moons --data-seed 4" + rest, "--data-seed 4: every seed gives");
  // Each of the next seeds makes two parts alike (refused as data): each generator is asked on its own.
  expect_refused(
      "run --dataset moons:seed=5 --dataset moons:seed=6 --dataset moons:seed=7 --dataset moons:seed=8 "
      "--dataset moons --data-seed 4" +
          rest,
      "--data-seed 4: every seed gives");
  for (const char* f : {"a.json", "b.json"}) fs::remove(temp_path(f));
}

// The seed draws a held-out split: --data-seed acts there, and runs, even at a seed
// whose next seed holds out the same points (one of four points, alike at 1 seed in 4).
TEST(Cli, DataSeedRunsWhereTheNextSeedHoldsOutTheSamePoints) {
  netsweep::DataOptions data;
  for (const auto& [name, points] : {std::pair{"green.json", R"([{"x":0.1,"y":0.2},{"x":0.3,"y":0.4}])"},
                                     std::pair{"red.json", R"([{"x":0.6,"y":0.7},{"x":0.8,"y":0.9}])"}}) {
    std::FILE* f = std::fopen(temp_path(name).c_str(), "w");
    std::fputs(points, f);
    std::fclose(f);
    data.points.push_back(temp_path(name) + ":" + std::to_string(data.points.size()));
  }
  data.test_fraction = 0.25f;
  const auto held_out = [&](uint64_t seed) {
    data.generator.seed = seed;
    return netsweep::load_data(data).test.coords;
  };
  uint64_t seed = 1;
  while (seed < 100 && held_out(seed) != held_out(seed + 1)) ++seed;
  ASSERT_LT(seed, 100u) << "no seed whose next seed holds out the same point";
  uint64_t other = seed + 2;
  while (other < seed + 100 && held_out(other) == held_out(seed)) ++other;
  ASSERT_NE(held_out(other), held_out(seed)) << "the seed never moves the split";
  const std::string run =
      "run --layers 1 --widths 2 --epochs 1 --grid 4 --device cpu -q --test-fraction 0.25 --points " + data.points[0] +
      " --points " + data.points[1] + " -o " + temp_path("split.h5");
  const auto r = run_cli(run + " --data-seed " + std::to_string(seed));
  EXPECT_EQ(r.exit_code, 0) << run << "\n" << r.output;
  for (const char* f : {"green.json", "red.json", "split.h5"}) fs::remove(temp_path(f));
}
