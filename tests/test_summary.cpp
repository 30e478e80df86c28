// What `netsweep info` and the gallery's overview compute and print from the
// networks' rows (src/summary.cpp); tests/check_summary.py checks the grouped
// statistics against NumPy on a real sweep.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "netsweep/summary.h"

using namespace netsweep;

// A diverged network's infinite loss counts in its group's statistics (it sorts
// to the end); a missing one (NaN: no test set) is left out. The median of 5
// losses of 0.25 and one inf was over 5 while n said 6, and the accuracy's over 6.
TEST(Summary, QuantilesKeepInfinitiesAndLeaveOutNaN) {
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<double> losses = {0.25, 0.25, 0.25, 0.3, 0.25, inf, std::nan("")};
  EXPECT_DOUBLE_EQ(quantile(losses, 0.5), 0.25);  // of 6: 0.25 0.25 0.25 0.25 0.3 inf
  EXPECT_DOUBLE_EQ(quantile(losses, 0.25), 0.25);
  EXPECT_DOUBLE_EQ(quantile(losses, 0.75), 0.2875);  // between 0.25 and 0.3
  EXPECT_EQ(quantile(losses, 0.9), inf);             // between 0.3 and inf: inf, not inf - inf
  EXPECT_EQ(quantile({-inf, 1, 2}, 0.25), -inf);
  EXPECT_DOUBLE_EQ(quantile({1, 2, inf}, 0.25), 1.5);
  EXPECT_TRUE(std::isnan(quantile({std::nan("")}, 0.5)));
}

// Part labels are never cut: cut to 28 bytes, "circle:n=100 · features x1,x2" and
// "... x1,x2,x1^2,x2^2" printed alike (and a cut could split the '·').
TEST(Summary, TablesKeepWholePartLabels) {
  std::vector<NetworkSummary> networks(2);
  networks[0].part = "circle:n=100 · features x1,x2";
  networks[1].part = "circle:n=100 · features x1,x2,x1^2,x2^2";
  for (auto& n : networks) {
    n.row.hidden_shape = "4";
    n.row.activation = "tanh";
    n.row.status = "trained";
  }
  const std::string table = format_networks(networks, SummaryFormat::table, SummaryOptions{});
  const std::string groups =
      format_groups(group_networks(networks, {"part"}), {"part"}, SummaryFormat::table, SummaryOptions{});
  for (const std::string& text : {table, groups}) {
    for (const auto& n : networks) EXPECT_NE(text.find(n.part + " "), std::string::npos) << text;
    // Columns line up by characters: the next column starts at one character for both.
    std::istringstream lines(text);
    std::string line;
    std::vector<size_t> starts;
    while (std::getline(lines, line)) {
      const std::string& part = line.rfind(networks[1].part, 0) == 0 ? networks[1].part : networks[0].part;
      if (line.rfind(part, 0) != 0) continue;
      size_t chars = 0;
      for (unsigned char c : part) chars += (c & 0xC0u) != 0x80u;
      starts.push_back(chars + line.find_first_not_of(' ', part.size()) - part.size());
    }
    ASSERT_EQ(starts.size(), 2u) << text;
    EXPECT_EQ(starts[0], starts[1]) << text;
  }
}

// The share reaching the target counts only replicas measured on its set: a
// group of files with and without a test set is not diluted by the latter.
TEST(Summary, TargetShareCountsOnlyMeasuredReplicas) {
  std::vector<NetworkSummary> networks(4);
  for (size_t i = 0; i < networks.size(); ++i) {
    networks[i].row.hidden_shape = "4";
    networks[i].row.activation = "tanh";
    networks[i].row.status = "trained";
    networks[i].target_measured = i < 2;  // two files of a test set, two without
  }
  networks[0].reached_target = true;
  networks[0].epochs_to_target = 30;
  const auto groups = group_networks(networks, {"activation"});
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].count, 4);
  EXPECT_DOUBLE_EQ(groups[0].reached_share, 0.5);  // 1 of the 2 measured, not 1 of 4
  EXPECT_DOUBLE_EQ(groups[0].median_epochs_to_target, 30);
  for (auto& n : networks) n.target_measured = false;
  networks[0].reached_target = false;
  EXPECT_TRUE(std::isnan(group_networks(networks, {"activation"})[0].reached_share));
}

// The per-network table says when each network reached the target (it used
// to show it in CSV and JSON only, so --target-accuracy changed nothing
// there), and its columns line up by characters although "≥" is 3 bytes.
TEST(Summary, NetworkTableSaysWhenTheTargetWasReached) {
  std::vector<NetworkSummary> networks(3);
  for (size_t i = 0; i < networks.size(); ++i) {
    networks[i].row.id = int(i);
    networks[i].row.hidden_shape = "4";
    networks[i].row.activation = "tanh";
    networks[i].row.status = "trained";
    networks[i].target_measured = i < 2;
  }
  networks[0].reached_target = true;
  networks[0].epochs_to_target = 1200;
  networks[2].row.status = "diverged";  // its loss in 4 digits, not 30: the row keeps its columns
  networks[2].row.final_epoch_loss = 6.2226e26f;
  SummaryOptions options;
  options.target_accuracy = 0.9f;
  options.target_on_test = true;
  const std::string table = format_networks(networks, SummaryFormat::table, options);
  std::istringstream lines(table);
  std::vector<std::string> rows;
  for (std::string line; std::getline(lines, line);) rows.push_back(line);
  ASSERT_EQ(rows.size(), 5u) << table;  // header, 3 networks, the note
  const auto column_end = [](const std::string& line, const std::string& cell) {
    const size_t at = line.find(" " + cell + " ");
    if (at == std::string::npos) return std::string::npos;
    size_t chars = 0;
    for (size_t b = 0; b < at + 1 + cell.size(); ++b) chars += (static_cast<unsigned char>(line[b]) & 0xC0u) != 0x80u;
    return chars;
  };
  const size_t end = column_end(rows[0], "≥0.9");
  ASSERT_NE(end, std::string::npos) << table;
  EXPECT_EQ(column_end(rows[1], "1200"), end) << table;
  EXPECT_EQ(column_end(rows[2], "-"), end) << table;    // measured, never reached
  EXPECT_EQ(column_end(rows[3], "n/a"), end) << table;  // no test set
  EXPECT_NE(rows[3].find(" 6.223e+26 "), std::string::npos) << table;
  EXPECT_NE(rows[4].find("test accuracy reached 0.9"), std::string::npos) << table;
}
