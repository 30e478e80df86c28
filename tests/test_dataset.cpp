#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "netsweep/dataset.h"
#include "netsweep/problem.h"
#include "netsweep/run.h"

using namespace netsweep;

namespace {

std::string temp_file(const std::string& name, const std::string& content) {
  const std::string path = ::testing::TempDir() + "netsweep_" + name;
  std::ofstream(path) << content;
  return path;
}

void expect_data_error(const std::function<void()>& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "expected an error mentioning '" << needle << "'";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(Generators, ShapeBalanceAndDeterminism) {
  GeneratorOptions o;
  o.n_points = 200;
  o.seed = 5;
  for (const auto& name : generator_names()) {
    const PointSet a = generate_dataset(name, o);
    const bool regression = name == "poly" || name == "damped-sine";
    ASSERT_EQ(a.size(), 200u) << name;
    EXPECT_EQ(a.dims, regression ? 1 : 2) << name;
    EXPECT_EQ(a.coords.size(), 200u * size_t(a.dims)) << name;
    for (float c : a.coords) ASSERT_TRUE(std::isfinite(c)) << name;
    if (!regression) {
      std::map<int, int> counts;
      for (int l : a.labels) ++counts[l];
      ASSERT_EQ(counts.size(), 2u) << name;
      if (name == "xor")  // labels come from the quadrant: balanced only on average
        EXPECT_NEAR(counts[0], 100, 30) << name;
      else
        EXPECT_EQ(counts[0], 100) << name;
    } else {
      ASSERT_EQ(a.values.size(), 200u);
    }
    const PointSet again = generate_dataset(name, o);
    EXPECT_EQ(a.coords, again.coords) << name << " is not deterministic for a seed";
    GeneratorOptions other = o;
    other.seed = 6;
    if (name != "spiral" && name != "moons")  // noiseless spiral and moons have no randomness
      EXPECT_NE(generate_dataset(name, other).coords, a.coords) << name << " ignores the seed";
  }
}

TEST(Generators, FormulasHold) {
  GeneratorOptions o;
  o.n_points = 100;
  const PointSet poly = generate_dataset("poly", o);
  for (size_t i = 0; i < poly.size(); ++i) {
    const double x = poly.coords[i];
    EXPECT_GE(x, -2.0);
    EXPECT_LE(x, 2.0);
    EXPECT_NEAR(poly.values[i], x * x * x * x - 3 * x * x + x + 1, 1e-4);
  }
  const PointSet rings = generate_dataset("rings", o);
  for (size_t i = 0; i < rings.size(); ++i) {
    const double r = std::hypot(rings.coords[2 * i], rings.coords[2 * i + 1]);
    if (rings.labels[i] == 0)
      EXPECT_LE(r, 1.0 + 1e-5);
    else
      EXPECT_TRUE(r >= 3.0 - 1e-5 && r <= 4.0 + 1e-5) << r;
  }
  const PointSet circle = generate_dataset("circle", o);  // noise 0: labels follow the radius
  for (size_t i = 0; i < circle.size(); ++i)
    EXPECT_EQ(circle.labels[i], std::hypot(circle.coords[2 * i], circle.coords[2 * i + 1]) < 2.5 ? 1 : 0);
  const PointSet param = generate_dataset("moons:n=10,noise=0.1,seed=3", o);
  EXPECT_EQ(param.size(), 10u);
}

TEST(Generators, BadSpecsAreRejected) {
  GeneratorOptions o;
  expect_data_error([&] { generate_dataset("blobs", o); }, "unknown generator 'blobs'");
  expect_data_error([&] { generate_dataset("xor:n=abc", o); }, "'abc' is not a number");
  expect_data_error([&] { generate_dataset("xor:size=3", o); }, "unknown key 'size'");
}

TEST(Loaders, SlidePointsLoad) {
  const std::string dir = std::string(NETSWEEP_SHARED_DIR) + "/data/slide/";
  if (!std::ifstream(dir + "green_points.json")) GTEST_SKIP() << "slide points not found at " << dir;
  const PointSet green = load_points_json(dir + "green_points.json", 0);
  const PointSet red = load_points_json(dir + "red_points.json", 1);
  EXPECT_EQ(green.size(), 316u);
  EXPECT_EQ(red.size(), 431u);
  const Dataset d = make_dataset({green, red}, 0.0f, 0, "[]");
  EXPECT_EQ(d.classes, 2);
  EXPECT_EQ(d.train.size(), 747u);
  EXPECT_EQ(data_extent(d, 0.05f), (std::array<float, 4>{0, 1, 0, 1}));
}

TEST(Loaders, JsonGoodAndBad) {
  const PointSet p = load_points_json(temp_file("ok.json", R"([{"x":0.5,"y":1},{"x":-2,"y":3e-1}])"), 2);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_FLOAT_EQ(p.coords[2], -2.0f);
  EXPECT_EQ(p.labels[1], 2);
  expect_data_error([] { load_points_json("/nonexistent/points.json", 0); }, "/nonexistent/points.json: cannot open");
  expect_data_error([] { load_points_json(temp_file("broken.json", "[{\"x\":1,"), 0); }, "broken.json: malformed JSON");
  expect_data_error([] { load_points_json(temp_file("noy.json", R"([{"x":1}])"), 0); },
                    "point 0: field 'y' is missing");
  expect_data_error([] { load_points_json(temp_file("str.json", R"([{"x":1,"y":2},{"x":"a","y":2}])"), 0); },
                    "point 1: field 'x' is not a number");
  expect_data_error([] { load_points_json(temp_file("inf.json", R"([{"x":1e999,"y":2}])"), 0); }, "overflow");
  expect_data_error([] { load_points_json(temp_file("obj.json", R"({"x":1})"), 0); }, "expected a JSON list");
  // A field twice (one value was kept silently), or one that is not used (a per-point label).
  expect_data_error([] { load_points_json(temp_file("dup.json", R"([{"x":1,"y":2},{"x":1,"y":2,"x":500}])"), 0); },
                    "dup.json: point 1: field 'x' is given twice");
  expect_data_error([] { load_points_json(temp_file("lab.json", R"([{"x":1,"y":2,"label":1}])"), 0); },
                    "point 0: field 'label' is not used");
}

TEST(Loaders, CsvGoodAndBad) {
  const PointSet c = load_csv(temp_file("ok.csv", "x1,x2,label\n0.1,0.2,0\n0.3,0.4,1\n\n"));
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c.labels[1], 1);
  const PointSet r = load_csv(temp_file("reg.csv", "x,y\n1,2\n3,4\n"));
  EXPECT_EQ(r.dims, 1);
  EXPECT_FLOAT_EQ(r.values[1], 4.0f);
  expect_data_error([] { load_csv(temp_file("hdr.csv", "a,b\n1,2\n")); }, "hdr.csv: line 1: header");
  expect_data_error([] { load_csv(temp_file("nan.csv", "x1,x2,label\n0.1,nan,0\n")); },
                    "nan.csv: line 2, field 'x2': 'nan' is not");
  expect_data_error([] { load_csv(temp_file("cols.csv", "x1,x2,label\n0.1,0.2\n")); }, "line 2: expected 3 fields");
  expect_data_error([] { load_csv(temp_file("lab.csv", "x1,x2,label\n0.1,0.2,1.5\n")); }, "field 'label'");
  expect_data_error([] { load_csv(temp_file("empty.csv", "x,y\n")); }, "no data rows");
  // A spreadsheet's byte-order mark and blank lines before the header are read past; line numbers still count them.
  const PointSet bom = load_csv(temp_file("bom.csv", "\xEF\xBB\xBF\r\n\nx1,x2,label\r\n0.1,0.2,0\r\n0.3,0.4,1\r\n"));
  ASSERT_EQ(bom.size(), 2u);
  EXPECT_EQ(bom.labels[1], 1);
  expect_data_error([] { load_csv(temp_file("late.csv", "\n\nx1,x2,label\n0.1,nan,0\n")); }, "late.csv: line 4");
  expect_data_error([] { load_csv(temp_file("blank.csv", "\n \n")); }, "blank.csv: empty file");
}

// Points that share a coordinate far from 0 (all on x = 20000; 1-D data all
// at x = 5000): the plane still has x0 < x1, and a grid's columns each their
// own coordinate (the margin had been below a float's step there).
TEST(Datasets, PlaneAroundPointsOnOneLineFarOut) {
  for (const char* text : {"x1,x2,label\n20000,0,0\n20000,1,1\n20000,3,1\n", "x,y\n5000,3\n5000,4\n",
                           "x1,x2,label\n-1e15,7,0\n-1e15,7,1\n"}) {
    const Dataset d = make_dataset({parse_csv(text, "line.csv")}, 0.0f, 0, "[]");
    const std::array<float, 4> e = data_extent(d, 0.05f);
    EXPECT_LT(e[0], e[1]) << text;
    EXPECT_LT(e[2], e[3]) << text;
    for (int i = 1; i < 256; ++i) ASSERT_GT(grid_column_x(e, i, 256), grid_column_x(e, i - 1, 256)) << text;
  }
}

TEST(Datasets, OneClassAndGapsAreRejected) {
  PointSet a;
  a.coords = {0, 0, 1, 1};
  a.labels = {1, 1};
  expect_data_error([&] { make_dataset({a}, 0, 0, "[]"); }, "only one class");
  PointSet b = a;
  b.labels = {0, 2};
  expect_data_error([&] { make_dataset({b}, 0, 0, "[]"); }, "class 1 has no points");
}

TEST(Datasets, TestSplitIsDeterministicAndDisjoint) {
  GeneratorOptions o;
  o.n_points = 100;
  const PointSet p = generate_dataset("gauss", o);
  const Dataset d1 = make_dataset({p}, 0.3f, 4, "[]"), d2 = make_dataset({p}, 0.3f, 4, "[]");
  EXPECT_EQ(d1.test.size(), 30u);
  EXPECT_EQ(d1.train.size(), 70u);
  EXPECT_EQ(d1.test.coords, d2.test.coords);
  const Dataset d3 = make_dataset({p}, 0.3f, 5, "[]");
  EXPECT_NE(d1.test.coords, d3.test.coords);
}

TEST(Datasets, FeaturesAndTargets) {
  const std::vector<float> coords{2, 3};
  const auto f = compute_features(coords, 2,
                                  {Feature::x1, Feature::x2, Feature::x1_squared, Feature::x2_squared,
                                   Feature::x1_times_x2, Feature::sin_x1, Feature::sin_x2});
  EXPECT_EQ(f, (std::vector<float>{2, 3, 4, 9, 6, std::sin(2.0f), std::sin(3.0f)}));
  EXPECT_THROW(parse_feature("x2", 1), DataError);
  PointSet p;
  p.coords = {0, 0, 1, 1};
  p.labels = {0, 1};
  const Dataset d = make_dataset({p}, 0, 0, "[]");
  EXPECT_EQ(make_targets(d, d.train, 2), (std::vector<float>{0, 1, 1, 0}));  // output 0 = P(class 1)
  EXPECT_EQ(make_targets(d, d.train, 1), (std::vector<float>{0, 1}));
}

// --data-seed draws the test split too: of points that are the same for every
// seed (moons at noise 0), each seed holds out its own.
TEST(Datasets, TheDataSeedDrawsTheTestSplit) {
  DataOptions o;
  o.datasets = {"moons"};
  o.generator.n_points = 40;
  o.test_fraction = 0.5f;
  auto test_points = [&](uint64_t seed) {
    o.generator.seed = seed;
    const std::vector<DataPart> parts = load_data_parts(o);
    EXPECT_EQ(nlohmann::json::parse(parts.at(0).data.description_json).at("split_seed"), seed);
    return parts.at(0).data.test.coords;
  };
  EXPECT_EQ(test_points(1), test_points(1));
  EXPECT_NE(test_points(1), test_points(2));
}
