#include "netsweep/summary.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "netsweep/text.h"

namespace netsweep {
namespace {

// The CSV's and the table's numbers: "nan" for a missing one and "inf" for an
// overflowed one, as pandas reads them.
std::string g(double v, const char* format = "%g") { return format_number(v, format, "nan"); }
// A table's loss: fixed decimals, or 4 significant digits where a diverged network's loss would
// print 30 digits and push the row out of its columns.
std::string loss_text(double v, const char* fixed) { return g(v, std::fabs(v) < 1e6 ? fixed : "%.4g"); }

// Characters of UTF-8 text (a part label's '·' is two bytes, one character).
size_t characters(const std::string& text) {
  size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0u) != 0x80u;
  return n;
}
// printf's field width for `text` to take `width` characters (printf counts bytes).
int byte_width(const std::string& text, int width) { return width + int(text.size() - characters(text)); }
// The tables' "≥TARGET" column: its title, and its width in characters (at least 8).
struct ReachColumn {
  std::string title;
  int width;
};
ReachColumn reach_column(const std::string& target) {
  const std::string title = "≥" + target;
  return {title, int(std::max<size_t>(8, characters(title)))};
}
// Text and spaces to `width` characters: a table's column, never cut (labels
// cut to 28 bytes printed two parts alike, or split a character).
std::string padded(const std::string& text, size_t width) {
  return text + std::string(width > characters(text) ? width - characters(text) : 0, ' ') + " ";
}

std::string csv_cell(const std::string& v) {
  if (v.find_first_of(",\"\n") == std::string::npos) return v;
  std::string q = "\"";
  for (char c : v) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

nlohmann::json number_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

Distribution distribution(const std::vector<double>& v) {
  return {quantile(v, 0.5), quantile(v, 0.25), quantile(v, 0.75)};
}

}  // namespace

std::vector<NetworkSummary> summarize_networks(const std::vector<ResultsFile>& opened, const SummaryOptions& options) {
  std::vector<NetworkSummary> out;
  // Each file's part: its label, else (of several files) its name, joined with
  // those of its sweep family ("a + b": its seeds run later, its shards), whose
  // networks are replicas of the same configurations. Files of different sweeps
  // that share a part (A/run.h5 and B/run.h5, or two sweeps' "circle" parts) are
  // told apart by their paths, so their networks never group as replicas.
  std::vector<std::string> files;
  for (const ResultsFile& f : opened) files.push_back(f.path());
  std::vector<std::string> parts(files.size()), hashes(files.size());
  std::vector<bool> labelled(files.size());
  for (size_t k = 0; k < files.size(); ++k) {
    const ResultsFile& f = opened[k];
    labelled[k] = f.has_attribute("part_label");
    parts[k] = labelled[k] ? f.attribute("part_label") : "";
    const std::string family = sweep_family(f);
    hashes[k] = !family.empty() ? family : f.sweep_hash().empty() ? files[k] : f.sweep_hash();
  }
  for (size_t k = 0; k < files.size() && files.size() > 1; ++k)
    for (size_t j = 0; j < files.size() && !labelled[k]; ++j)
      if (!labelled[j] && hashes[j] == hashes[k])
        parts[k] += (parts[k].empty() ? "" : " + ") + std::filesystem::path(files[j]).stem().string();
  std::vector<const ResultsFile*> each;
  for (const ResultsFile& f : opened) each.push_back(&f);
  if (options.check_distinct) check_distinct_networks(each);
  const std::vector<std::string> named = parts;
  for (size_t k = 0; k < files.size(); ++k) {
    std::string same;  // the files of k's name and family, which stay one part
    bool other = false;
    for (size_t j = 0; j < files.size(); ++j)
      if (named[j] == named[k] && hashes[j] == hashes[k])
        same += (same.empty() ? "" : " + ") + files[j];
      else if (named[j] == named[k])
        other = true;
    if (other) parts[k] = (parts[k].empty() ? "" : parts[k] + " ") + "(" + same + ")";
  }
  for (size_t k = 0; k < files.size(); ++k) {
    const ResultsFile& f = opened[k];
    const std::string& part = parts[k];
    std::string features;
    for (const auto& name : f.features()) features += (features.empty() ? "" : ",") + name;
    const std::vector<int> epochs = f.frame_epochs();
    const auto& rows = f.networks();
    for (size_t i = 0; i < rows.size(); ++i) {
      NetworkSummary n;
      n.part = part;
      n.features = features;
      n.row = rows[i];
      n.file = int(k);
      const NetworkResult r = f.network_result(int(i));
      const std::vector<float>& accuracy =
          options.target_on_test ? r.snapshot_test_accuracy : r.snapshot_train_accuracy;
      for (float a : accuracy) n.target_measured |= std::isfinite(a);
      for (size_t fr = 0; fr < accuracy.size(); ++fr)
        if (std::isfinite(accuracy[fr]) && accuracy[fr] >= options.target_accuracy) {
          n.reached_target = true;
          n.epochs_to_target = epochs[fr];
          break;
        }
      out.push_back(std::move(n));
    }
  }
  return out;
}

double quantile(std::vector<double> values, double q) {
  values.erase(std::remove_if(values.begin(), values.end(), [](double v) { return std::isnan(v); }), values.end());
  if (values.empty()) return NAN;
  std::sort(values.begin(), values.end());
  const double at = q * double(values.size() - 1), fraction = at - std::floor(at);
  const size_t lo = size_t(std::floor(at)), hi = std::min(lo + 1, values.size() - 1);
  if (fraction == 0 || values[lo] == values[hi]) return values[lo];
  if (std::isinf(values[hi]) && values[hi] > 0) return values[hi];  // toward +inf: +inf (the formula: inf - inf)
  if (std::isinf(values[lo]) && values[lo] < 0) return values[lo];
  return values[lo] + (values[hi] - values[lo]) * fraction;
}

std::vector<GroupSummary> group_networks(const std::vector<NetworkSummary>& networks,
                                         const std::vector<std::string>& axes) {
  std::vector<GroupSummary> groups;
  std::map<std::vector<std::string>, size_t> index;
  for (size_t i = 0; i < networks.size(); ++i) {
    std::vector<std::string> key;
    for (const auto& a : axes) key.push_back(axis_value(networks[i], a));
    auto [it, fresh] = index.emplace(key, groups.size());
    if (fresh) {
      GroupSummary grp;
      grp.key = key;
      groups.push_back(std::move(grp));
    }
    groups[it->second].members.push_back(int(i));
  }
  for (GroupSummary& grp : groups) {
    std::vector<double> train_loss, test_loss, train_acc, test_acc, epochs;
    int reached = 0, measured = 0;
    for (int i : grp.members) {
      const NetworkSummary& n = networks[size_t(i)];
      train_loss.push_back(n.row.final_train_loss);
      test_loss.push_back(n.row.final_test_loss);
      train_acc.push_back(n.row.final_train_accuracy);
      test_acc.push_back(n.row.final_test_accuracy);
      grp.diverged += n.row.status == "diverged";
      measured += n.target_measured;
      if (n.reached_target) {
        ++reached;
        epochs.push_back(n.epochs_to_target);
      }
    }
    grp.count = int(grp.members.size());
    grp.train_loss = distribution(train_loss);
    grp.test_loss = distribution(test_loss);
    grp.train_accuracy = distribution(train_acc);
    grp.test_accuracy = distribution(test_acc);
    // Of the replicas measured on the target's set (files without a test set, or
    // of regression, among others say nothing); NaN: none was.
    grp.reached_share = measured ? double(reached) / double(measured) : NAN;
    grp.median_epochs_to_target = quantile(epochs, 0.5);
  }
  return groups;
}

SummaryFormat parse_summary_format(const std::string& name) {
  if (name == "table") return SummaryFormat::table;
  if (name == "csv") return SummaryFormat::csv;
  if (name == "json") return SummaryFormat::json;
  throw SpecError("--format '" + name + "': expected table, csv or json");
}

std::string format_networks(const std::vector<NetworkSummary>& networks, SummaryFormat format,
                            const SummaryOptions& options) {
  const bool parts = std::any_of(networks.begin(), networks.end(), [](const auto& n) { return !n.part.empty(); });
  std::ostringstream out;
  if (format == SummaryFormat::json) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& n : networks) {
      const NetworkRow& r = n.row;
      rows.push_back({{"part", n.part},
                      {"features", n.features},
                      {"id", r.id},
                      {"shape", r.hidden_shape},
                      {"layers", r.hidden_layers},
                      {"width", r.width},
                      {"activation", r.activation},
                      {"optimizer", r.optimizer},
                      {"lr", r.lr},
                      {"batch", r.batch},
                      {"l1", number_or_null(r.l1)},
                      {"l2", number_or_null(r.l2)},
                      {"momentum", number_or_null(r.momentum)},
                      {"seed", r.seed},
                      {"replica", r.replica},
                      {"status", r.status},
                      {"epochs_trained", r.epochs_trained},
                      {"parameters", r.parameters},
                      {"final_epoch_loss", number_or_null(r.final_epoch_loss)},
                      {"final_train_loss", number_or_null(r.final_train_loss)},
                      {"final_test_loss", number_or_null(r.final_test_loss)},
                      {"final_train_accuracy", number_or_null(r.final_train_accuracy)},
                      {"final_test_accuracy", number_or_null(r.final_test_accuracy)},
                      {"epochs_to_target", n.reached_target ? nlohmann::json(n.epochs_to_target) : nlohmann::json()},
                      {"wall_seconds", r.wall_seconds}});
    }
    return rows.dump(1) + "\n";
  }
  if (format == SummaryFormat::csv) {
    out << "part,features,id,shape,layers,width,activation,optimizer,lr,batch,l1,l2,momentum,seed,replica,status,"
           "epochs_trained,parameters,final_epoch_loss,final_train_loss,final_test_loss,final_train_accuracy,"
           "final_test_accuracy,epochs_to_target,wall_seconds\n";
    for (const auto& n : networks) {
      const NetworkRow& r = n.row;
      out << csv_cell(n.part) << ',' << csv_cell(n.features) << ',' << r.id << ',' << csv_cell(r.hidden_shape) << ','
          << r.hidden_layers << ',' << r.width << ',' << r.activation << ',' << r.optimizer << ',' << g(r.lr, "%.9g")
          << ',' << r.batch << ',' << g(r.l1, "%.9g") << ',' << g(r.l2, "%.9g") << ',' << g(r.momentum, "%.9g") << ','
          << r.seed << ',' << r.replica << ',' << r.status << ',' << r.epochs_trained << ',' << r.parameters << ','
          << g(r.final_epoch_loss, "%.9g") << ',' << g(r.final_train_loss, "%.9g") << ','
          << g(r.final_test_loss, "%.9g") << ',' << g(r.final_train_accuracy, "%.9g") << ','
          << g(r.final_test_accuracy, "%.9g") << ',' << (n.reached_target ? std::to_string(n.epochs_to_target) : "")
          << ',' << g(r.wall_seconds, "%.6g") << '\n';
    }
    return out.str();
  }
  char buf[512];
  size_t part_width = characters("part");
  for (const auto& n : networks) part_width = std::max(part_width, characters(n.part));
  if (parts) out << padded("part", part_width);
  const std::string target = g(options.target_accuracy);
  const auto [reach, reach_width] = reach_column(target);
  std::snprintf(buf, sizeof buf, "%5s %-16s %-10s %-9s %9s %6s %5s %-13s %6s %11s %11s %9s %9s %*s %9s\n", "id",
                "shape", "activation", "optimizer", "lr", "batch", "seed", "status", "epochs", "epoch_loss",
                "train_loss", "train_acc", "test_acc", byte_width(reach, reach_width), reach.c_str(), "time_s");
  out << buf;
  for (const auto& n : networks) {
    const NetworkRow& r = n.row;
    if (parts) out << padded(n.part, part_width);
    // Numbers through g: a missing one "nan" (printf wrote "-nan" for some), an overflowed one "inf".
    const std::string reached = n.reached_target ? std::to_string(n.epochs_to_target) : n.target_measured ? "-" : "n/a";
    std::snprintf(buf, sizeof buf, "%5d %-16s %-10s %-9s %9s %6d %5llu %-13s %6d %11s %11s %9s %9s %*s %9s\n", r.id,
                  r.hidden_shape.c_str(), r.activation.c_str(), r.optimizer.c_str(), g(r.lr, "%.3g").c_str(), r.batch,
                  static_cast<unsigned long long>(r.seed), r.status.c_str(), r.epochs_trained,
                  loss_text(r.final_epoch_loss, "%.5f").c_str(), loss_text(r.final_train_loss, "%.5f").c_str(),
                  g(r.final_train_accuracy, "%.4f").c_str(), g(r.final_test_accuracy, "%.4f").c_str(), reach_width,
                  reached.c_str(), g(r.wall_seconds, "%.2f").c_str());
    out << buf;
  }
  out << "(" << reach << ": the first frame epoch whose " << (options.target_on_test ? "test" : "train")
      << " accuracy reached " << target << "; - never, n/a not measured on that set)\n";
  return out.str();
}

std::string format_groups(const std::vector<GroupSummary>& groups, const std::vector<std::string>& axes,
                          SummaryFormat format, const SummaryOptions& options) {
  const std::string target = g(options.target_accuracy);
  const std::vector<std::pair<std::string, const Distribution GroupSummary::*>> stats = {
      {"train_loss", &GroupSummary::train_loss},
      {"test_loss", &GroupSummary::test_loss},
      {"train_accuracy", &GroupSummary::train_accuracy},
      {"test_accuracy", &GroupSummary::test_accuracy}};
  std::ostringstream out;
  if (format == SummaryFormat::json) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& grp : groups) {
      nlohmann::json j;
      for (size_t a = 0; a < axes.size(); ++a) j[axes[a]] = grp.key[a];
      j["count"] = grp.count;
      for (const auto& [name, member] : stats) {
        const Distribution& d = grp.*member;
        j[name + "_median"] = number_or_null(d.median);
        j[name + "_q25"] = number_or_null(d.q25);
        j[name + "_q75"] = number_or_null(d.q75);
      }
      j["target_accuracy"] = options.target_accuracy;
      j["target_set"] = options.target_on_test ? "test" : "train";
      j["reached_target_share"] = grp.reached_share;
      j["median_epochs_to_target"] = number_or_null(grp.median_epochs_to_target);
      j["diverged"] = grp.diverged;
      rows.push_back(j);
    }
    return rows.dump(1) + "\n";
  }
  if (format == SummaryFormat::csv) {
    for (const auto& a : axes) out << a << ',';
    out << "count";
    for (const auto& [name, member] : stats) out << ',' << name << "_median," << name << "_q25," << name << "_q75";
    out << ",reached_target_share,median_epochs_to_target,diverged\n";
    for (const auto& grp : groups) {
      for (const auto& v : grp.key) out << csv_cell(v) << ',';
      out << grp.count;
      for (const auto& [name, member] : stats) {
        const Distribution& d = grp.*member;
        out << ',' << g(d.median, "%.9g") << ',' << g(d.q25, "%.9g") << ',' << g(d.q75, "%.9g");
      }
      out << ',' << g(grp.reached_share, "%.9g") << ',' << g(grp.median_epochs_to_target, "%.9g") << ',' << grp.diverged
          << '\n';
    }
    return out.str();
  }
  // Table: the axes, then median [q25, q75] per statistic.
  std::vector<size_t> widths;
  for (size_t a = 0; a < axes.size(); ++a) {
    size_t w = characters(axes[a]);
    for (const auto& grp : groups) w = std::max(w, characters(grp.key[a]));
    widths.push_back(w);
  }
  char buf[256];
  for (size_t a = 0; a < axes.size(); ++a) out << padded(axes[a], widths[a]);
  const auto [reach, reach_width] = reach_column(target);
  std::snprintf(buf, sizeof buf, "%5s %-24s %-24s %-21s %-21s %*s %10s %8s\n", "n", "train_loss med [IQR]",
                "test_loss med [IQR]", "train_acc med [IQR]", "test_acc med [IQR]", byte_width(reach, reach_width),
                reach.c_str(), "epochs_to", "diverged");
  out << buf;
  auto cell = [](const Distribution& d, const char* f) {
    return loss_text(d.median, f) + " [" + loss_text(d.q25, f) + "," + loss_text(d.q75, f) + "]";
  };
  for (const auto& grp : groups) {
    for (size_t a = 0; a < axes.size(); ++a) out << padded(grp.key[a], widths[a]);
    const std::string share = std::isnan(grp.reached_share) ? "n/a" : g(100 * grp.reached_share, "%.0f") + "%";
    std::snprintf(buf, sizeof buf, "%5d %-24s %-24s %-21s %-21s %*s %10s %8d\n", grp.count,
                  cell(grp.train_loss, "%.4f").c_str(), cell(grp.test_loss, "%.4f").c_str(),
                  cell(grp.train_accuracy, "%.3f").c_str(), cell(grp.test_accuracy, "%.3f").c_str(), reach_width,
                  share.c_str(), g(grp.median_epochs_to_target).c_str(), grp.diverged);
    out << buf;
  }
  out << "(" << (options.target_on_test ? "test" : "train") << " accuracy ≥ " << target
      << ": the share of the replicas measured on that set that reached it at a frame; epochs_to: the median "
      << "first frame epoch that did)\n";
  return out.str();
}

}  // namespace netsweep
