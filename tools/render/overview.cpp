#include "overview.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "colormap.h"
#include "pages.h"

namespace netsweep::render {
namespace fs = std::filesystem;
namespace {

// The axes a configuration keeps apart (every axis but the replica's seed).
const std::vector<std::string> kConfigAxes = {"part", "features", "shape", "activation", "optimizer",
                                              "lr",   "batch",    "l1",    "l2",         "momentum"};
// Of those, the ones that make panels (the rest make the cells).
const std::vector<std::string> kPanelAxes = {"part",  "features", "activation", "optimizer", "lr",
                                             "batch", "l1",       "l2",         "momentum"};

std::string axis_text(const std::string& axis, const std::string& value) {
  if (axis == "part" || axis == "activation" || axis == "optimizer") return value;
  if (axis == "features") return "features " + value;
  if (axis == "batch") return value == "full" ? "full batch" : "batch " + value;
  if (axis == "momentum") return "momentum " + value;
  return axis + " " + value;
}

std::string hex(Rgb c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", c[0], c[1], c[2]);
  return buf;
}

// Text that stays readable on a cell's colour.
std::string ink_on(Rgb c) { return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2] > 140 ? "#111" : "#fff"; }

}  // namespace

std::vector<Configuration> configurations(const std::vector<GalleryNetwork>& networks) {
  std::vector<NetworkSummary> summaries;
  for (const auto& n : networks) summaries.push_back(n.summary);
  // Axes that vary anywhere in the gallery name panels and labels; the others are the same for all.
  std::vector<std::string> varying;
  for (const auto& a : kConfigAxes) {
    for (const auto& s : summaries)
      if (axis_value(s, a) != axis_value(summaries[0], a)) {
        varying.push_back(a);
        break;
      }
  }
  std::vector<Configuration> out;
  for (GroupSummary& g : group_networks(summaries, kConfigAxes)) {
    Configuration c;
    const NetworkSummary& first = summaries[size_t(g.members[0])];
    const NetworkRow& r = first.row;
    c.label = r.hidden_shape;
    for (const auto& a : varying) {
      if (a == "shape") continue;
      const std::string v = axis_value(first, a);
      const std::string t = axis_text(a, v);
      c.label += " · " + t;
      if (std::find(kPanelAxes.begin(), kPanelAxes.end(), a) != kPanelAxes.end())
        c.panel += (c.panel.empty() ? "" : " · ") + t;
    }
    if (r.width > 0) {
      c.row = std::to_string(r.hidden_layers);
      c.column = std::to_string(r.width);
    } else {
      c.row = "shape " + r.hidden_shape;  // not "3", the row of 3 layers: --shape 3 is one layer of 3
      c.column = "-";
    }
    c.summary = std::move(g);
    out.push_back(std::move(c));
  }
  for (size_t i = 0; i < out.size(); ++i) {
    char name[64];
    std::snprintf(name, sizeof name, "groups/g-%04zu.html", i);
    out[i].page = out[i].summary.count > 1 ? name : networks[size_t(out[i].summary.members[0])].dir + ".html";
  }
  return out;
}

void write_configuration(const Configuration& c, size_t index, const std::vector<GalleryNetwork>& networks,
                         const std::vector<std::vector<float>>& final_frames, const Font& font, const fs::path& dir) {
  char base[32];
  std::snprintf(base, sizeof base, "g-%04zu", index);
  const fs::path pics = dir / "groups" / base;
  fs::create_directories(pics);
  const GalleryNetwork& first = networks[size_t(c.summary.members[0])];
  const Sweep& s = *first.sweep;
  const FrameScene& scene = s.scene;
  // Replicas come from one sweep family (summarize_networks and the gallery keep
  // others' files apart): the same epochs and plane, which the loops below read.
  for (int m : c.summary.members)
    if (networks[size_t(m)].result.epoch_loss.size() != first.result.epoch_loss.size() ||
        final_frames[size_t(m)].size() != final_frames[size_t(c.summary.members[0])].size())
      throw RenderError(c.label + ": its replicas come from sweeps of different epochs or planes");

  // The median loss curve with its interquartile band across the replicas.
  const size_t epochs = first.result.epoch_loss.size();
  LossCurves curves;
  curves.snapshot_epochs = s.frame_epochs;
  curves.epoch_loss.assign(epochs, NAN);
  curves.band_low.assign(epochs, NAN);
  curves.band_high.assign(epochs, NAN);
  for (size_t e = 0; e < epochs; ++e) {
    std::vector<double> v;
    for (int m : c.summary.members) v.push_back(networks[size_t(m)].result.epoch_loss[e]);
    curves.epoch_loss[e] = float(quantile(v, 0.5));
    curves.band_low[e] = float(quantile(v, 0.25));
    curves.band_high[e] = float(quantile(v, 0.75));
  }
  curves.snapshot_test_loss.assign(s.frame_epochs.size(), NAN);
  render_loss_plot(curves, "median of " + std::to_string(c.summary.count) + " replicas, IQR band", false, 1, font)
      .write_png((pics / "loss.png").string());

  // The ensemble's view of the plane at the last frame.
  const size_t values = final_frames[size_t(c.summary.members[0])].size();
  std::vector<float> mean(values, 0.0f);
  for (int m : c.summary.members)
    for (size_t i = 0; i < values; ++i) mean[i] += final_frames[size_t(m)][i] / float(c.summary.count);
  render_frame(scene, mean.data(), "mean of " + std::to_string(c.summary.count) + " replicas", font)
      .write_png((pics / "mean.png").string());
  if (!scene.regression) {
    // Per point: the share of replicas whose predicted class is not the majority's.
    const int outs = scene.outputs, classes = std::max(scene.style.classes, 2);
    const size_t points = values / size_t(outs);
    std::vector<float> disagreement(points);
    for (size_t g = 0; g < points; ++g) {
      std::vector<int> votes(size_t(classes), 0);
      for (int m : c.summary.members) {
        const float* p = final_frames[size_t(m)].data() + g * size_t(outs);
        const int cls = classes == 2 ? (outs == 1 ? p[0] > 0.5f : p[0] > p[1]) : int(std::max_element(p, p + outs) - p);
        ++votes[size_t(std::clamp(cls, 0, classes - 1))];
      }
      disagreement[g] = 1.0f - float(*std::max_element(votes.begin(), votes.end())) / float(c.summary.count);
    }
    FrameScene one = scene;
    one.outputs = 1;
    // The most n replicas can disagree: only ceil(n / classes) of them with the majority.
    const int replicas = c.summary.count;
    const float worst = 1.0f - float((replicas + classes - 1) / classes) / float(replicas);
    const FieldColor color = [&](const float* v) {
      const float t = std::clamp(worst > 0 ? v[0] / worst : 0.0f, 0.0f, 1.0f);
      return Rgb{uint8_t(255 - 40 * t), uint8_t(255 - 215 * t), uint8_t(255 - 215 * t)};
    };
    render_frame(one, disagreement.data(), "disagreement with the majority (white: none)", font, &color)
        .write_png((pics / "disagreement.png").string());
  }

  std::ostringstream p;
  p << page_head(c.label, "../") << "<p><a href=\"../index.html\">&larr; gallery</a></p>\n<h1>" << html_escape(c.label)
    << "</h1>\n<p>" << c.summary.count << " replicas (seeds)";
  if (c.summary.diverged) p << ", " << c.summary.diverged << " diverged";
  p << ". Median final train loss " << fmt("%.4f", c.summary.train_loss.median) << " [IQR "
    << fmt("%.4f", c.summary.train_loss.q25) << ", " << fmt("%.4f", c.summary.train_loss.q75) << "]";
  if (!scene.regression)
    p << ", accuracy " << fmt("%.3f", c.summary.train_accuracy.median) << " ["
      << fmt("%.3f", c.summary.train_accuracy.q25) << ", " << fmt("%.3f", c.summary.train_accuracy.q75) << "]";
  p << ".</p>\n<div class=\"frames\"><figure><img src=\"" << base << "/loss.png\" alt=\"median loss\"><figcaption>"
    << "train loss: median and interquartile band</figcaption></figure><figure><img src=\"" << base
    << "/mean.png\" alt=\"ensemble mean\"><figcaption>the replicas' mean prediction</figcaption></figure>";
  if (!scene.regression)
    p << "<figure><img src=\"" << base << "/disagreement.png\" alt=\"disagreement\"><figcaption>where they disagree: "
      << "the share not predicting the majority's class</figcaption></figure>";
  p << "</div>\n<h2>Replicas</h2>\n<div class=\"frames\">";
  for (int m : c.summary.members) {
    const GalleryNetwork& n = networks[size_t(m)];
    const NetworkRow& r = n.sweep->rows[n.k];
    p << "<figure><a href=\"../" << n.dir << ".html\"><img loading=\"lazy\" width=\"128\" src=\"../" << n.dir
      << "/final.png\" alt=\"seed " << r.seed << "\"></a><figcaption>seed " << r.seed << "<br>loss "
      << fmt("%.4f", r.final_train_loss);
    if (!scene.regression) p << " · acc " << fmt("%.3f", r.final_train_accuracy);
    if (r.status != "trained") p << "<br><span class=\"" << r.status << "\">" << r.status << "</span>";
    p << "</figcaption></figure>";
  }
  p << "</div>\n" << page_tail();
  write_text(dir / "groups" / (std::string(base) + ".html"), p.str());
}

std::string overview_html(const std::vector<Configuration>& configs, const std::vector<GalleryNetwork>& networks,
                          bool regression) {
  // One colour scale for the whole overview: log10 of the median final loss, accuracy on [min, 1].
  double lo = INFINITY, hi = -INFINITY, acc_lo = 1;
  for (const auto& c : configs) {
    const double v = c.summary.train_loss.median;
    if (std::isfinite(v) && v > 0) lo = std::min(lo, std::log10(v)), hi = std::max(hi, std::log10(v));
    if (std::isfinite(c.summary.train_accuracy.median)) acc_lo = std::min(acc_lo, c.summary.train_accuracy.median);
  }
  if (!(hi > lo)) hi = lo + 1;
  if (acc_lo >= 1) acc_lo = 0.5;
  auto loss_color = [&](double v) {
    return std::isfinite(v) && v > 0 ? viridis(float(1.0 - (std::log10(v) - lo) / (hi - lo))) : Rgb{220, 220, 220};
  };
  auto acc_color = [&](double v) {
    return std::isfinite(v) ? viridis(float((v - acc_lo) / (1 - acc_lo))) : Rgb{220, 220, 220};
  };

  std::vector<std::string> panels;
  for (const auto& c : configs)
    if (std::find(panels.begin(), panels.end(), c.panel) == panels.end()) panels.push_back(c.panel);
  std::ostringstream h;
  h << "<h2>At a glance</h2>\n<p class=\"note\">Each cell is one configuration: the median over its replicas of the "
       "final training loss"
    << (regression ? "" : " (and accuracy)")
    << ", coloured on one scale for the whole sweep (brighter is better); it links to the configuration's replicas "
       "and their ensemble, or to the network itself.</p>\n<div class=\"panels\">\n";
  for (const auto& panel : panels) {
    std::vector<const Configuration*> in;
    for (const auto& c : configs)
      if (c.panel == panel) in.push_back(&c);
    std::vector<std::string> rows, cols;
    for (const auto* c : in) {
      if (std::find(rows.begin(), rows.end(), c->row) == rows.end()) rows.push_back(c->row);
      if (std::find(cols.begin(), cols.end(), c->column) == cols.end()) cols.push_back(c->column);
    }
    // Layer counts and widths in numeric order (a shard's networks may come 8 before 4), explicit shapes
    // after them as they came: panels of one sweep line up.
    const auto numeric_first = [](std::vector<std::string>& labels) {
      const auto whole = [](const std::string& s) {
        return !s.empty() && s.size() < 10 && s.find_first_not_of("0123456789") == std::string::npos;
      };
      std::stable_sort(labels.begin(), labels.end(), [&](const std::string& a, const std::string& b) {
        if (whole(a) != whole(b)) return whole(a);
        return whole(a) && std::stoi(a) < std::stoi(b);
      });
    };
    numeric_first(rows);
    numeric_first(cols);
    auto cell_of = [&](const std::string& r, const std::string& col) -> const Configuration* {
      for (const auto* c : in)
        if (c->row == r && c->column == col) return c;
      return nullptr;
    };
    h << "<div class=\"panel\"><h3>" << html_escape(panel.empty() ? "all networks" : panel) << "</h3>\n";
    for (int metric = 0; metric < (regression ? 1 : 2); ++metric) {
      h << "<table class=\"heat\"><caption>" << (metric == 0 ? "median final loss" : "median final accuracy")
        << "</caption><tr><th>layers \\ width</th>";
      for (const auto& col : cols) h << "<th>" << html_escape(col == "-" ? "shape" : col) << "</th>";
      h << "</tr>\n";
      for (const auto& r : rows) {
        h << "<tr><th>" << html_escape(r) << "</th>";
        for (const auto& col : cols) {
          const Configuration* c = cell_of(r, col);
          if (!c) {
            h << "<td></td>";
            continue;
          }
          const GroupSummary& g = c->summary;
          const double v = metric == 0 ? g.train_loss.median : g.train_accuracy.median;
          const Rgb bg = metric == 0 ? loss_color(v) : acc_color(v);
          h << "<td class=\"hc\" style=\"background:" << hex(bg) << "\" title=\"" << html_escape(c->label) << ": "
            << g.count << " replica" << (g.count > 1 ? "s" : "") << ", test loss " << fmt("%.4f", g.test_loss.median)
            << "\"><a style=\"color:" << ink_on(bg) << "\" href=\"" << c->page << "\">"
            << (metric == 0 ? fmt("%.3g", v) : fmt("%.1f%%", 100 * v));
          if (g.count > 1)
            h << "<br><small>n=" << g.count << (g.diverged ? ", " + std::to_string(g.diverged) + " div" : "")
              << "</small>";
          else if (g.diverged)
            h << "<br><small>diverged</small>";
          h << "</a></td>";
        }
        h << "</tr>\n";
      }
      h << "</table>\n";
    }
    // The final fields in the same layout (the first replica of each configuration).
    h << "<table class=\"fields\"><caption>" << (regression ? "fitted curves" : "decision fields")
      << " over training (the first replica)</caption><tr><th></th>";
    for (const auto& col : cols) h << "<th>" << html_escape(col == "-" ? "shape" : col) << "</th>";
    h << "</tr>\n";
    for (const auto& r : rows) {
      h << "<tr><th>" << html_escape(r) << "</th>";
      for (const auto& col : cols) {
        const Configuration* c = cell_of(r, col);
        h << "<td>";
        if (c) {
          const GalleryNetwork& n = networks[size_t(c->summary.members[0])];
          h << "<a href=\"" << c->page << "\"><img loading=\"lazy\" width=\"96\" src=\"" << n.dir
            << "/anim.gif\" alt=\"" << html_escape(c->label) << "\"></a>";
        }
        h << "</td>";
      }
      h << "</tr>\n";
    }
    h << "</table></div>\n";
  }
  h << "</div>\n";
  return h.str();
}

}  // namespace netsweep::render
