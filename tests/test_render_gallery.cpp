// The gallery end to end: every network's pages and pictures, filters and
// strides, atomic replacement, regression curves, clear errors for bad
// inputs, and pictures independent of the thread count.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <stb/stb_image.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "colormap.h"
#include "draw.h"
#include "gallery.h"
#include "netsweep/summary.h"
#include "render_checks.h"

using namespace netsweep;
using namespace netsweep::render;
using namespace netsweep::render::test;
namespace fs = std::filesystem;

TEST(Gallery, RendersEveryNetworkAndAtomically) {
  const std::string results = small_results("gallery.h5");
  const std::string out = temp_path("gallery");
  fs::remove_all(out);
  RenderOptions o;
  o.inputs = {results};
  o.output = out;
  o.quiet = true;
  o.scale = 2;
  render_gallery(o);
  ASSERT_TRUE(fs::exists(out + "/index.html"));
  for (int id = 0; id < 8; ++id) {
    char dir[64];
    std::snprintf(dir, sizeof dir, "%s/nets/net-%04d", out.c_str(), id);
    for (const char* f : {"anim.gif", "final.png", "loss.png", "frame-000.png", "frame-004.png"})
      EXPECT_TRUE(fs::exists(std::string(dir) + "/" + f)) << dir << "/" << f;
    EXPECT_TRUE(fs::exists(std::string(dir) + ".html"));
  }
  int w = 0, h = 0, n = 0;
  unsigned char* png = stbi_load((out + "/nets/net-0003/final.png").c_str(), &w, &h, &n, 3);
  ASSERT_NE(png, nullptr);
  EXPECT_EQ(w, 40);  // grid 20 x scale 2
  EXPECT_EQ(h, 40 + caption_height(40));
  stbi_image_free(png);
  std::ifstream in(out + "/index.html");
  const std::string html((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(html.find("nets/net-0007/anim.gif"), std::string::npos);
  EXPECT_NE(html.find("8-8"), std::string::npos);  // shapes written one way throughout: hidden widths
  EXPECT_NE(html.find("sortTable"), std::string::npos);
  // Only this gallery's partial directory: other tests render into the same
  // temporary directory at the same time (ctest -j).
  const std::string partial = fs::path(out).filename().string() + ".partial";
  for (const auto& e : fs::directory_iterator(fs::path(out).parent_path()))
    EXPECT_NE(e.path().filename().string().rfind(partial, 0), 0u) << "left behind: " << e.path();

  // A filter and a stride; the re-render replaces the earlier gallery.
  o.runs = "activation=relu,layers=2";
  o.frame_stride = 2;
  render_gallery(o);
  EXPECT_FALSE(fs::exists(out + "/nets/net-0000"));
  EXPECT_TRUE(fs::exists(out + "/nets/net-0006/frame-002.png"));
  EXPECT_FALSE(fs::exists(out + "/nets/net-0006/frame-001.png"));
  EXPECT_TRUE(fs::exists(out + "/nets/net-0006/frame-004.png")) << "the last frame is always rendered";
  o.runs = "activation=swish";
  EXPECT_THROW(render_gallery(o), RenderError);
  // "gallery/" (as the README writes it) names the same directory.
  o.runs.clear();
  o.output = out + "/";
  render_gallery(o);
  EXPECT_TRUE(fs::exists(out + "/nets/net-0000/final.png"));
}

namespace {
// Trains `netsweep run ARGS` on the CPU into NAME.h5 and renders its gallery into NAME_gallery.
RenderOptions trained_gallery(const std::string& name, const std::string& args, int scale = 0) {
  RenderOptions o;
  o.inputs = {temp_path(name + ".h5")};
  o.output = temp_path(name + "_gallery");
  o.quiet = true;
  o.scale = scale;
  const std::string cmd = std::string(NETSWEEP_BINARY) + " run " + args + " --device cpu -q -o " + o.inputs[0];
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("failed: " + cmd);
  render_gallery(o);
  return o;
}
}  // namespace

TEST(Gallery, RegressionFilesRenderCurves) {
  const RenderOptions o =
      trained_gallery("poly",
                      "--dataset poly:n=60 --loss mse --layers 2 --widths 12 --activations tanh --lr 0.01 --epochs 20 "
                      "--snapshot-every 10 --grid 40");
  int w = 0, h = 0, n = 0;
  unsigned char* png = stbi_load((o.output + "/nets/net-0000/final.png").c_str(), &w, &h, &n, 3);
  ASSERT_NE(png, nullptr);
  EXPECT_EQ(w, 320);
  int curve = 0;  // pixels of the prediction curve's colour
  for (int i = 0; i < w * 240; ++i)
    curve += std::abs(png[3 * i] - kTrainColor[0]) < 40 && std::abs(png[3 * i + 2] - kTrainColor[2]) < 40 &&
             png[3 * i + 2] > 150;
  EXPECT_GT(curve, 200);
  stbi_image_free(png);
}

// The colour maps are two classes': where no file has two (values, three classes),
// --colormap would change nothing and is refused; beside a two-class file it acts there.
TEST(Gallery, AColormapNoFileUsesIsRefused) {
  const std::string csv = temp_path("three.csv");
  std::ofstream(csv) << "x1,x2,label\n0.1,0.1,0\n0.2,0.1,0\n0.5,0.5,1\n0.6,0.5,1\n0.9,0.9,2\n0.8,0.9,2\n";
  const std::string small = " --layers 1 --widths 4 --epochs 2 --grid 8";
  RenderOptions o = trained_gallery("three", "--csv " + csv + small);
  RenderOptions values = trained_gallery("values", "--dataset poly:n=20 --loss mse" + small);
  const RenderOptions two = trained_gallery("two", "--dataset moons:n=20" + small);
  for (auto [options, why] : {std::pair{&o, std::string(" holds 3 classes, each drawn in its own colour")},
                              std::pair{&values, std::string(" holds 1-D regression values, drawn in viridis")}}) {
    options->colormap = "viridis";
    try {
      render_gallery(*options);
      ADD_FAILURE() << "--colormap rendered " << options->inputs[0];
    } catch (const RenderError& e) {
      EXPECT_NE(std::string(e.what()).find("--colormap viridis: " + options->inputs[0] + why), std::string::npos)
          << e.what();
    }
  }
  o.inputs.push_back(two.inputs[0]);
  EXPECT_NO_THROW(render_gallery(o));
  for (const auto& r : {o, values, two}) fs::remove_all(r.output);
  for (const auto& f : {csv, o.inputs[0], values.inputs[0], two.inputs[0]}) fs::remove(f);
}

TEST(Gallery, BadInputsGiveClearErrors) {
  RenderOptions o;
  o.quiet = true;
  o.output = temp_path("bad_gallery");
  fs::remove_all(o.output);
  // render_gallery(o) must throw a message containing `needle`.
  auto expect_error = [&o](const std::string& needle) {
    try {
      render_gallery(o);
      ADD_FAILURE() << "no error (expected one naming '" << needle << "')";
    } catch (const std::exception& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  o.inputs = {temp_path("missing.h5")};
  expect_error("no such file");
  // Another format version.
  const std::string other = temp_path("v99.h5");
  fs::copy_file(small_results("gallery.h5"), other, fs::copy_options::overwrite_existing);
  {
    const hid_t f = H5Fopen(other.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    const hid_t a = H5Aopen(f, "format_version", H5P_DEFAULT);
    const int64_t v = 99;
    H5Awrite(a, H5T_NATIVE_INT64, &v);
    H5Aclose(a);
    H5Fclose(f);
  }
  o.inputs = {other};
  expect_error("format version 99");
  // No frames.
  const std::string noframes = temp_path("noframes.h5");
  fs::copy_file(small_results("gallery.h5"), noframes, fs::copy_options::overwrite_existing);
  {
    const hid_t f = H5Fopen(noframes.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    H5Ldelete(f, "frames", H5P_DEFAULT);
    H5Fclose(f);
  }
  o.inputs = {noframes};
  expect_error("has no frames");
  EXPECT_FALSE(fs::exists(o.output)) << "a failed render left a gallery";
  // --lines where no network can have them is said, not ignored, with why.
  o.inputs = {small_results("no_weights.h5", "--record-weights none")};
  o.lines = true;
  expect_error("--lines: no network rendered from " + o.inputs[0] +
               " can have first-layer lines: parameters not recorded (run with --record-weights all) (8 networks)");
  o.inputs = {temp_path("wide.h5")};
  ASSERT_EQ(std::system((std::string(NETSWEEP_BINARY) +
                         " run --layers 1 --widths 4,40 --activations relu --epochs 2 --grid 8 --dataset circle:n=40 "
                         "--record-weights none --device cpu -q -o " +
                         o.inputs[0])
                            .c_str()),
            0);
  expect_error(": a first hidden layer wider than 32 units (1 network); parameters not recorded");
  o.inputs = {small_results("gallery.h5")};  // the same with them: lines on every frame
  render_gallery(o);
  EXPECT_TRUE(fs::exists(o.output + "/index.html"));
  fs::remove_all(o.output);
  o.lines = false;
  // A run's checkpoint directory is named as one; an output where no directory can be made is named as given.
  fs::create_directories(temp_path("run.h5.ckpt"));
  o.inputs = {temp_path("run.h5.ckpt")};
  expect_error("run.h5.ckpt: a directory, not a file (the checkpoints of an unfinished run: finish it with run");
  o.inputs = {temp_path("run.h5.ckpt") + "/"};  // as shell completion writes it
  expect_error("run.h5.ckpt/: a directory, not a file (the checkpoints of an unfinished run: finish it with run");
  fs::remove(temp_path("run.h5.ckpt"));
  o.inputs = {small_results("gallery.h5")};
  const std::string output = o.output;
  o.output = "/proc/netsweep_gallery/";
  expect_error("/proc/netsweep_gallery/: cannot write a gallery there (");
  o.output = output;
  // A copy of a file beside it: each network would be drawn, and grouped as a replica, twice.
  const std::string copy = temp_path("copy.h5");
  fs::copy_file(small_results("gallery.h5"), copy, fs::copy_options::overwrite_existing);
  o.inputs = {small_results("gallery.h5"), copy};
  expect_error(copy + ": network 0 (");
  expect_error(") is network 0 of " + small_results("gallery.h5") + " too: the same data, settings and seed");
  EXPECT_FALSE(fs::exists(o.output));
  // A missing font is named; nothing is left looking complete.
  o.inputs = {small_results("gallery.h5")};
  o.font = "/nonexistent/font.ttf";
  expect_error("/nonexistent/font.ttf");
  EXPECT_FALSE(fs::exists(o.output));
  // An existing directory that is not a gallery is not replaced.
  fs::create_directories(o.output);
  std::ofstream(o.output + "/precious.txt") << "keep";
  o.font.clear();
  EXPECT_THROW(render_gallery(o), RenderError);
  EXPECT_TRUE(fs::exists(o.output + "/precious.txt"));
}

TEST(Gallery, PicturesDoNotDependOnTheThreadCount) {
  // GIF palettes come from giflib's quantizer, which is not reentrant: the
  // gallery must come out the same on 1 thread and on several.
  const std::string results = small_results("gallery.h5");
  auto render = [&](const std::string& name, int threads) {
    RenderOptions o;
    o.inputs = {results};
    o.output = temp_path(name);
    o.quiet = true;
    o.threads = threads;
    render_gallery(o);
    return o.output;
  };
  const std::string one = render("threads1", 1), four = render("threads4", 4);
  auto bytes = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  int compared = 0;
  for (const auto& e : fs::recursive_directory_iterator(one)) {
    if (!e.is_regular_file()) continue;
    const std::string rel = fs::relative(e.path(), one).string();
    EXPECT_EQ(bytes(e.path().string()), bytes(four + "/" + rel)) << rel << " differs between 1 and 4 threads";
    ++compared;
  }
  EXPECT_GT(compared, 8 * 4);
}

// Two sweeps whose files share a name (A/run.h5, B/run.h5: other data, epochs
// and grid) are two parts, not replicas of one configuration: grouped, the
// gallery read one's losses and frames past the other's end.
TEST(Gallery, FilesOfDifferentSweepsNeverGroupAsReplicas) {
  std::vector<std::string> files;
  for (const auto& [dir, options] :
       {std::pair<const char*, const char*>{"sweepA", "--dataset circle:n=60 --epochs 9 --grid 16"},
        {"sweepB", "--dataset xor:n=60 --epochs 4 --grid 6"}}) {
    fs::create_directories(temp_path(dir));
    files.push_back(temp_path(dir) + "/run.h5");
    const std::string cmd = std::string(NETSWEEP_BINARY) + " run --layers 1 --widths 4 --activations tanh " + options +
                            " --snapshot-every 3 --device cpu -q -o " + files.back();
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  const std::vector<NetworkSummary> networks = summarize_networks(open_distinct(files), SummaryOptions{});
  ASSERT_EQ(networks.size(), 2u);
  EXPECT_NE(networks[0].part, networks[1].part);
  EXPECT_NE(networks[0].part.find("sweepA"), std::string::npos) << networks[0].part;
  EXPECT_EQ(group_networks(networks, {"part", "shape"}).size(), 2u);
  RenderOptions o;
  o.inputs = files;
  o.output = temp_path("two_sweeps");
  o.quiet = true;
  render_gallery(o);
  EXPECT_FALSE(fs::exists(o.output + "/groups/g-0000.html")) << "the two networks were grouped as replicas";
  EXPECT_FALSE(fs::exists(o.output + "/groups")) << "an empty groups/ folder in a gallery without replicas";
  EXPECT_TRUE(fs::exists(o.output + "/nets/p1-net-0000.html"));
}

// The disagreement map reaches full colour where the replicas disagree as much
// as they can: with 3 replicas and 2 classes that is 1 of 3 (not 1 of 2).
TEST(Gallery, DisagreementReachesFullColourWithOddReplicas) {
  const RenderOptions o = trained_gallery(
      "three_seeds",
      "--layers 1 --widths 4 --activations tanh --seeds 3 --epochs 2 --lr 0.1 --grid 24 --dataset xor:n=60", 4);
  int w = 0, h = 0, n = 0;
  unsigned char* png = stbi_load((o.output + "/groups/g-0000/disagreement.png").c_str(), &w, &h, &n, 3);
  ASSERT_NE(png, nullptr);
  int tinted = 0, full = 0;  // pixels of the field's red scale (with the points' halos' edges), and at its end
  for (int i = 0; i < w * 96; ++i) {
    const int r = png[3 * i], g = png[3 * i + 1], b = png[3 * i + 2];
    tinted += r > 200 && g == b && g < 250;
    full += r >= 213 && g <= 42 && b <= 42;
  }
  stbi_image_free(png);
  ASSERT_GT(tinted, 0) << "the replicas agree everywhere: nothing to check";
  EXPECT_GT(full, tinted / 2) << "1 of 3 disagreeing is as much as 3 replicas can: full colour";
}

namespace {
// The front page of the gallery of a small CPU run with these options (tanh, 40 circle points).
std::string front_page_of(const std::string& name, const std::string& options) {
  const RenderOptions o = trained_gallery(name, options + " --activations tanh --grid 8 --dataset circle:n=40");
  std::ifstream in(o.output + "/index.html");
  const std::string html((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  fs::remove_all(o.output);
  fs::remove(o.inputs[0]);
  return html;
}
}  // namespace

// A shard's gallery says it holds the shard's networks only, and its heat
// map's columns run in numeric order (the shard's networks come 8 before 4).
TEST(Gallery, AShardIsSaidAndItsColumnsRunInOrder) {
  const std::string html = front_page_of("shard", "--layers 1,2 --widths 4,8 --epochs 3 --shard 1/2");
  EXPECT_NE(html.find("(shard 1/2: this shard's networks only; netsweep merge joins the shards)"), std::string::npos);
  EXPECT_NE(html.find("<th>layers \\ width</th><th>4</th><th>8</th></tr>"), std::string::npos) << html;
  EXPECT_EQ(html.find("<th>8</th><th>4</th>"), std::string::npos);
}

// An explicit shape's row is named as one, after the layer counts: --shape 3
// (one layer of 3) is not the row of 3 layers.
TEST(Gallery, AnExplicitShapeHasItsOwnRow) {
  const std::string html = front_page_of("shape_rows", "--layers 3,1 --widths 4 --shape 3 --epochs 2");
  const size_t one = html.find("<tr><th>1</th>"), three = html.find("<tr><th>3</th>"),
               shape = html.find("<tr><th>shape 3</th>");
  ASSERT_NE(shape, std::string::npos) << html;
  EXPECT_LT(one, three);
  EXPECT_LT(three, shape);
}

// Sweeps that overlap (seeds 0, 1 and 1, 2) hold one network twice; --runs
// can leave it out of one, and then nothing is counted twice.
TEST(Gallery, RunsCanLeaveOutWhatTwoSweepsShare) {
  RenderOptions o =
      trained_gallery("seeds01", "--layers 1 --widths 3 --activations tanh --epochs 2 --grid 8 --seeds 2");
  const RenderOptions more =
      trained_gallery("seeds12", "--layers 1 --widths 3 --activations tanh --epochs 2 --grid 8 --seeds 2 --seed 1");
  o.inputs.push_back(more.inputs[0]);
  fs::remove_all(o.output);
  EXPECT_THROW(
      {
        try {
          render_gallery(o);
        } catch (const std::exception& e) {
          EXPECT_NE(std::string(e.what()).find("(3 tanh adam, seed 1) is network 1 of " + o.inputs[0] + " too"),
                    std::string::npos)
              << e.what();
          throw;
        }
      },
      std::exception);
  o.runs = "seed=0|2";
  render_gallery(o);
  // Each network is named with its file: the two are alike in all but their seeds.
  std::ifstream in(o.output + "/index.html");
  const std::string html((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const auto& file : o.inputs)
    EXPECT_NE(html.find(">" + fs::path(file).stem().string() + " · 3 tanh</a>"), std::string::npos) << file;
  fs::remove_all(o.output);
  fs::remove_all(more.output);
  for (const auto& f : o.inputs) fs::remove(f);
}

// Seeds run later (--seed 2 beside --seeds 2) are more replicas of the same
// configurations: one panel, n=4 in each cell; another lr is another panel, and
// so is another plane (--grid: the replicas' views are averaged point by point).
TEST(Gallery, SeedsRunLaterAreMoreReplicas) {
  const std::string sweep = "--layers 1 --widths 3,4 --activations tanh --epochs 2 --grid 8 --seeds 2";
  RenderOptions o = trained_gallery("first_seeds", sweep);
  const RenderOptions later = trained_gallery("later_seeds", sweep + " --seed 2");
  const RenderOptions lr = trained_gallery("other_lr", sweep + " --lr 0.01");
  const RenderOptions plane =
      trained_gallery("other_plane", std::string(sweep).replace(sweep.find("--grid 8"), 8, "--grid 6") + " --seed 4");
  const auto front_page = [&] {
    fs::remove_all(o.output);
    render_gallery(o);
    std::ifstream in(o.output + "/index.html");
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  o.inputs.push_back(later.inputs[0]);
  std::string html = front_page();
  EXPECT_NE(html.find("<h3>all networks</h3>"), std::string::npos) << html;
  EXPECT_EQ(html.find("n=2<"), std::string::npos);
  EXPECT_NE(html.find("n=4<"), std::string::npos);
  o.inputs.push_back(lr.inputs[0]);
  html = front_page();
  const std::string first = fs::path(o.inputs[0]).stem().string(), second = fs::path(o.inputs[1]).stem().string();
  EXPECT_NE(html.find("<h3>" + first + " + " + second + " · "), std::string::npos) << html;
  EXPECT_NE(html.find("<h3>" + fs::path(o.inputs[2]).stem().string()), std::string::npos);
  o.inputs.push_back(plane.inputs[0]);
  html = front_page();  // it threw: a configuration's replicas of two planes
  EXPECT_NE(html.find("<h3>" + first + " + " + second + " · "), std::string::npos) << html;
  EXPECT_NE(html.find("<h3>" + fs::path(o.inputs[3]).stem().string() + " · "), std::string::npos) << html;
  fs::remove_all(o.output);
  for (const RenderOptions& r : {later, lr, plane}) fs::remove_all(r.output);
  for (const auto& f : o.inputs) fs::remove(f);
}
