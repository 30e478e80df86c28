#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "netsweep/layout.h"
#include "netsweep/random.h"
#include "netsweep/spec.h"
#include "sweeps.h"

using namespace netsweep;

using netsweep::test::slide_spec;

TEST(Spec, SlideSweepExpandsTo108Networks) {
  const auto nets = expand(slide_spec());
  ASSERT_EQ(nets.size(), 108u);
  EXPECT_EQ(nets[0].hidden, std::vector<int>{2});
  EXPECT_EQ(nets[0].activation, Activation::sigmoid);
  EXPECT_EQ(nets[1].activation, Activation::relu);
  EXPECT_EQ(nets.back().hidden, std::vector<int>(8, 384));
  for (size_t i = 0; i < nets.size(); ++i) EXPECT_EQ(nets[i].id, int(i));
}

TEST(Spec, AxesMultiplyAndSeedsReplicate) {
  SweepSpec s = slide_spec();
  s.layers = {2};
  s.widths = {8};
  s.shapes = {{3, 1, 3}};
  s.optimizers = {Optimizer::adam, Optimizer::sgd};
  s.learning_rates = {0.1f, 0.01f};
  s.batch_sizes = {0, 16};
  s.seeds = 3;
  s.base_seed = 10;
  const auto nets = expand(s);
  EXPECT_EQ(nets.size(), 2u * 2 * 2 * 2 * 2 * 3);
  EXPECT_EQ(nets.back().hidden, (std::vector<int>{3, 1, 3}));
  EXPECT_FALSE(nets.back().uniform);
  EXPECT_EQ(nets.back().shape_label(), "3-1-3");
  EXPECT_EQ(nets[0].seed, 10u);
  EXPECT_EQ(nets[2].seed, 12u);
  EXPECT_EQ(nets[2].replica, 2);
}

TEST(Spec, SnapshotEpochsIncludeFirstAndLast) {
  const auto e = snapshot_epochs(4000, 100);
  ASSERT_EQ(e.size(), 41u);
  EXPECT_EQ(e.front(), 0);
  EXPECT_EQ(e.back(), 4000);
  EXPECT_EQ(snapshot_epochs(250, 100), (std::vector<int>{0, 100, 200, 250}));
  EXPECT_EQ(snapshot_epochs(10, 0), (std::vector<int>{0, 10}));
}

TEST(Spec, ValidationNamesTheField) {
  auto expect_error = [](SweepSpec s, const std::string& needle) {
    try {
      s.validate();
      ADD_FAILURE() << "no error for " << needle;
    } catch (const SpecError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  SweepSpec s = slide_spec();
  s.widths = {0};
  expect_error(s, "--widths");
  s = slide_spec();
  s.layers = {0};
  expect_error(s, "--layers");
  s = slide_spec();
  s.epochs = 0;
  expect_error(s, "--epochs");
  EXPECT_THROW(parse_activation("swish"), SpecError);
  EXPECT_THROW(parse_shape("3-0-3"), SpecError);
  EXPECT_THROW(parse_shape("3-x"), SpecError);
}

TEST(Spec, JsonRoundTrip) {
  SweepSpec s = slide_spec();
  s.shapes = {{5, 2}};
  s.early_stop_loss = 0.05f;
  s.extent = std::array<float, 4>{0, 1, -1, 2};
  const SweepSpec back = spec_from_json(spec_to_json(s));
  EXPECT_EQ(spec_to_json(back), spec_to_json(s));
  EXPECT_EQ(back.shapes, s.shapes);
  EXPECT_FLOAT_EQ(*back.early_stop_loss, 0.05f);
}

// Networks draw their streams by (seed, hidden shape): alike but for activation,
// optimizer, lr or batch, they start alike, whatever their place in the sweep;
// another shape or seed draws others. Stored specs without "streams" (earlier
// versions) keep drawing by (seed, id).
TEST(Spec, StreamsAreKeyedBySeedAndShapeExceptInEarlierFiles) {
  SweepSpec s = slide_spec();
  s.learning_rates = {0.01f, 0.1f};
  s.seeds = 2;
  const std::vector<NetworkConfig> nets = expand(s);
  std::map<std::pair<std::vector<int>, uint64_t>, uint64_t> key_of;  // (shape, seed) -> key
  std::set<uint64_t> keys;
  for (const NetworkConfig& n : nets) {
    const auto [it, first] = key_of.emplace(std::pair{n.hidden, n.seed}, n.stream_key());
    EXPECT_EQ(it->second, n.stream_key()) << "network " << n.id;
    if (first) EXPECT_TRUE(keys.insert(n.stream_key()).second) << "network " << n.id << " shares another's key";
  }
  EXPECT_EQ(keys.size(), 54u * 2);  // 54 shapes x 2 seeds
  NetworkConfig alone = nets[7];
  alone.id = 0;  // the same network in a sweep of its own
  EXPECT_EQ(alone.stream_key(), nets[7].stream_key());
  auto j = nlohmann::json::parse(spec_to_json(s));
  EXPECT_EQ(j.at("streams"), "shape");
  j.erase("streams");
  const SweepSpec earlier = spec_from_json(j.dump());
  EXPECT_EQ(earlier.streams, StreamRule::id);
  EXPECT_EQ(spec_to_json(earlier), j.dump()) << "an earlier file's spec (and its sweep hash) must read back unchanged";
  const std::vector<NetworkConfig> old = expand(earlier);
  EXPECT_EQ(old[7].stream_key(), network_stream_key(old[7].seed, 7));
  EXPECT_NE(old[7].stream_key(), old[8].stream_key());
  j["streams"] = "chaos";
  EXPECT_THROW(spec_from_json(j.dump()), SpecError);
}

// Found by fuzz_spec_json: values of the wrong kind were converted
// (1e38 cast to int is undefined; 1.5 truncated; -1 wrapped to a huge seed).
TEST(Spec, StoredSpecRefusesValuesOfTheWrongKind) {
  const std::string good = spec_to_json(slide_spec());
  EXPECT_NO_THROW(spec_from_json(good));
  auto with = [&](const std::string& key, const std::string& value) {
    auto j = nlohmann::json::parse(good);
    j[key] = nlohmann::json::parse(value);
    return j.dump();
  };
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"epochs", "3e38"}, {"epochs", "1.5"}, {"epochs", "true"}, {"epochs", "4294967297"},
           {"seed", "-1"}, {"seed", "1.0"}, {"grid", "\"64\""}, {"layers", "1"}, {"layers", "[1.5]"},
           {"shapes", "[3]"}, {"activations", "\"relu\""}, {"lr", "[1e39]"}, {"l1", "false"},
           {"extent", "[0, 1, 2]"}, {"momentum", "null"}}) {
    try {
      spec_from_json(with(key, value));
      ADD_FAILURE() << key << " = " << value << " was accepted";
    } catch (const SpecError& e) {
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(spec_from_json("[1, 2]"), SpecError);
}

TEST(Layout, PackedOffsetsAreAlignedAndCountParameters) {
  SweepSpec s = slide_spec();
  const auto nets = expand(s);
  const auto layout = PackedLayout::build(nets, 2, 2);
  for (size_t n = 0; n < nets.size(); ++n) {
    const auto& net = layout.networks[n];
    EXPECT_EQ(net.offset % kNetworkAlignment, 0);
    int64_t expect = 0, in = 2;
    for (int w : nets[n].hidden) {
      expect += in * w + w;
      in = w;
    }
    expect += in * 2 + 2;
    EXPECT_EQ(net.count, expect);
    if (n + 1 < nets.size()) EXPECT_GE(layout.networks[n + 1].offset, net.offset + net.count);
  }
  // 8 x 384: W0 (384,2) b0, W1 (384,384) b1 ...: the second layer starts after 2*384 + 384.
  EXPECT_EQ(layout.networks.back().layers[1].weights, 2 * 384 + 384);
}
