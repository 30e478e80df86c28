// What a sweep answers: one row per network, or one row per group of
// networks (any spec axes, e.g. layers,width,activation) with the
// distribution over its replicas: medians and quartiles of the final losses
// and accuracies, the share that reached a target accuracy and how soon, and
// how many diverged. Used by `netsweep info` and the gallery's overview.
#pragma once

#include <string>
#include <vector>

#include "netsweep/results.h"

namespace netsweep {

struct NetworkSummary {
  std::string part;      // the file's part label, else among several files its name ("a + b" with the seeds
                         // of its sweep run later, its shards); "" for one file of one part
  std::string features;  // "x1,x2"
  NetworkRow row;
  int file = 0;               // which of the files given
  int epochs_to_target = -1;  // the first frame epoch whose accuracy reached the target; -1: never
  bool reached_target = false;
  bool target_measured = false;  // the target set's accuracy was recorded (no test set, regression: not)
};

struct SummaryOptions {
  float target_accuracy = 0.95f;
  bool target_on_test = false;  // measure the target on the test set (else the training set)
  bool check_distinct = true;   // refuse a network given twice (false: the caller checked, as it selects)
};

// Every network of the files (open_distinct's), in file order.
std::vector<NetworkSummary> summarize_networks(const std::vector<ResultsFile>& files, const SummaryOptions& options);

// The axes networks can be grouped by, and a network's value on one.
const std::vector<std::string>& summary_axes();
std::string axis_value(const NetworkSummary& n, const std::string& axis);  // throws ResultsError for an unknown axis
std::vector<std::string> parse_axes(const std::string& comma_list);        // checked

// What two files' sweeps train differently beyond what the axes can tell apart
// (the seeds among them): "the data", or a spec key with both values ("epochs (100
// and 4000)"). Grouped by axes, their networks pool as replicas. Empty where
// either records no sweep, or one that does not stand run's checks.
std::vector<std::string> unnamed_differences(const ResultsFile& a, const ResultsFile& b);

// Quantile q of the values but NaN (linear interpolation between order
// statistics, as NumPy's default); NaN if there are none. An infinite loss
// (a diverged network's) counts, sorted to the end.
double quantile(std::vector<double> values, double q);

struct Distribution {
  double median = 0, q25 = 0, q75 = 0;
};
struct GroupSummary {
  std::vector<std::string> key;  // the group's value on each axis
  std::vector<int> members;      // indices into the networks
  int count = 0, diverged = 0;
  Distribution train_loss, test_loss, train_accuracy, test_accuracy;
  double reached_share = 0;  // of the replicas measured on its set, those that reached the target (NaN: none measured)
  double median_epochs_to_target = 0;  // among those that reached it (NaN if none)
};
// Groups in order of first appearance.
std::vector<GroupSummary> group_networks(const std::vector<NetworkSummary>& networks,
                                         const std::vector<std::string>& axes);

enum class SummaryFormat { table, csv, json };
SummaryFormat parse_summary_format(const std::string& name);  // throws SpecError
// The table says when each network reached options' target accuracy (CSV and JSON: epochs_to_target).
std::string format_networks(const std::vector<NetworkSummary>& networks, SummaryFormat format,
                            const SummaryOptions& options);
std::string format_groups(const std::vector<GroupSummary>& groups, const std::vector<std::string>& axes,
                          SummaryFormat format, const SummaryOptions& options);

}  // namespace netsweep
