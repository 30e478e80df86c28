#include "pages.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "overview.h"

namespace netsweep::render {
namespace fs = std::filesystem;
std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

namespace {

const char* kStyle = R"(<style>
body{font-family:DejaVu Sans,Arial,sans-serif;margin:16px;color:#222;background:#fafafa}
h1{font-size:20px;margin:0 0 8px} h2{font-size:16px;margin:20px 0 8px}
table{border-collapse:collapse} td,th{border:1px solid #ddd;padding:4px 6px;vertical-align:top;font-size:12px}
th{background:#f0f0f0} th.sortable{cursor:pointer} th.sortable:hover{background:#e4e4e4}
.cell{white-space:nowrap} .cell img{display:inline-block;vertical-align:top;margin:0 2px 2px 0} .num{font-family:DejaVu Sans Mono,monospace;text-align:right}
.settings td{border:none;padding:1px 8px 1px 0} .diverged{color:#b00} .early_stopped{color:#b60}
.frames{display:flex;flex-wrap:wrap;gap:6px} .frames figure{margin:0;font-size:11px;text-align:center}
.panels{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start} .panel{background:#fff;border:1px solid #ddd;padding:8px}
.panel h3{font-size:14px;margin:0 0 6px} .heat,.fields{margin:0 0 8px} caption{font-size:11px;text-align:left;color:#555}
.heat td.hc{text-align:center;min-width:44px;padding:3px} .heat td.hc a{text-decoration:none} .fields td{padding:1px}
.note{font-size:12px;color:#555;max-width:900px}
</style>)";

// Set by the browser test: counts images that failed to load and script errors.
const char* kSelfCheck = R"(<script>
(function(){var errors=0;window.addEventListener('error',function(e){if(e.target&&e.target.tagName==='IMG')return;errors++;},true);
window.addEventListener('load',function(){var imgs=[].slice.call(document.images);imgs.forEach(function(i){i.loading='eager';});
var tries=0;(function check(){var pending=imgs.filter(function(i){return !i.complete;}).length;
if(pending>0&&tries++<200){setTimeout(check,50);return;}
var broken=imgs.filter(function(i){return i.complete&&i.naturalWidth===0;}).length;
document.body.setAttribute('data-selfcheck',(broken===0&&errors===0&&pending===0)?'ok':('broken='+broken+' errors='+errors+' pending='+pending));
document.body.setAttribute('data-images',String(imgs.length));})();});})();
</script>)";

const char* kSortScript = R"(<script>
function sortTable(th){var table=th.closest('table'),idx=[].indexOf.call(th.parentNode.children,th);
var asc=th.getAttribute('data-dir')!=='asc';th.parentNode.querySelectorAll('th').forEach(function(h){h.removeAttribute('data-dir');});
th.setAttribute('data-dir',asc?'asc':'desc');var body=table.tBodies[0],rows=[].slice.call(body.rows);
rows.sort(function(a,b){var x=a.children[idx].getAttribute('data-v'),y=b.children[idx].getAttribute('data-v');
var fx=parseFloat(x),fy=parseFloat(y);if(isNaN(fx))fx=Infinity;if(isNaN(fy))fy=Infinity;
if(fx!==fy)return asc?fx-fy:fy-fx;return 0;});rows.forEach(function(r){body.appendChild(r);});}
</script>)";

std::string list_of(const nlohmann::json& j) {
  std::string out;
  for (const auto& v : j)
    out += (out.empty() ? "" : ", ") + (v.is_string()         ? v.get<std::string>()
                                        : v.is_number_float() ? fmt("%g", v.get<double>())
                                                              : v.dump());
  return out;
}

std::string data_summary(const nlohmann::json& d) {
  std::string out;
  for (const auto& src : d.value("source", nlohmann::json::array())) {
    std::string one = src.contains("generator") ? "generator " + src["generator"].get<std::string>() + " (n " +
                                                      std::to_string(src.value("n_points", 0)) + ", noise " +
                                                      fmt("%g", src.value("noise", 0.0)) + ", seed " +
                                                      std::to_string(src.value("seed", 0)) + ")"
                      : src.contains("points") ? src["points"].get<std::string>() + " (class " +
                                                     std::to_string(src["label"].get<int>()) + ")"
                                               : src.value("csv", std::string("?"));
    out += (out.empty() ? "" : "; ") + one;
  }
  return out + " — " + std::to_string(d.value("n_train", 0)) + " train / " + std::to_string(d.value("n_test", 0)) +
         " test points" +
         (d.value("n_test", 0) > 0 ? " (test fraction " + fmt("%g", d.value("test_fraction", 0.0)) + ", split seed " +
                                         std::to_string(d.value("split_seed", 0)) + ")"
                                   : "") +
         ", " + (d.value("classes", 0) > 0 ? std::to_string(d.value("classes", 0)) + " classes" : "regression");
}

// The settings of one results file: what every network of it shares.
std::string settings_table(const Sweep& s, int shown) {
  std::ostringstream h;
  auto row = [&](const std::string& k, const std::string& v) {
    h << "<tr><td><b>" << html_escape(k) << "</b></td><td>" << html_escape(v) << "</td></tr>\n";
  };
  const auto& sp = s.spec;
  h << "<table class=\"settings\">\n";
  row("file", s.path + (s.part_label.empty() ? "" : "  (part: " + s.part_label + ")") +
                  (s.shard.sharded() ? "  (shard " + s.shard.label() +
                                           ": this shard's networks only; netsweep merge joins the shards)"
                                     : ""));
  if (!sp.at("layers").empty()) row("layers x widths", list_of(sp.at("layers")) + "  x  " + list_of(sp.at("widths")));
  if (!sp.at("shapes").empty()) {
    std::string shapes;
    for (const auto& sh : sp.at("shapes")) {
      std::string one;
      for (const auto& w : sh) one += (one.empty() ? "" : "-") + w.dump();
      shapes += (shapes.empty() ? "" : ", ") + one;
    }
    row("explicit shapes", shapes);
  }
  row("activations", list_of(sp.at("activations")));
  std::string batches;
  for (const auto& b : sp.at("batch"))
    batches += (batches.empty() ? "" : ", ") + (b.get<int>() == 0 ? std::string("full") : b.dump());
  row("optimizers", list_of(sp.at("optimizers")) + "; lr " + list_of(sp.at("lr")) + "; batch " + batches +
                        "; momentum " + list_of(sp.at("momentum")) + " (momentum optimizer)");
  row("penalties", "L1 " + list_of(sp.at("l1")) + "; L2 " + list_of(sp.at("l2")) + " (weights only)");
  row("loss and outputs", s.loss + ", " + std::to_string(s.shape[4]) + " output" + (s.shape[4] > 1 ? "s" : ""));
  row("features", [&] {
    std::string f;
    for (const auto& n : s.feature_names) f += (f.empty() ? "" : ", ") + n;
    return f;
  }());
  row("seeds", std::to_string(sp.at("seeds").get<int>()) + " per configuration (seed " + sp.at("seed").dump() + "+)");
  row("epochs", std::to_string(sp.at("epochs").get<int>()) + ", frames every " +
                    std::to_string(sp.at("snapshot_every").get<int>()) + " epochs (" +
                    std::to_string(s.frame_epochs.size()) + " of " + std::to_string(s.shape[3]) + "x" +
                    std::to_string(s.shape[2]) + ")");
  row("data", data_summary(s.dataset));
  row("trained on", s.device + ", " + fmt("%.1f s", s.elapsed) + ", " + s.created);
  std::map<std::string, int> status_counts;
  for (const auto& r : s.rows) ++status_counts[r.status];
  std::string totals = std::to_string(shown) + " shown of " + std::to_string(s.total_networks) + " networks";
  for (const auto& [k, v] : status_counts) totals += "; " + std::to_string(v) + " " + k;
  row("totals", totals);
  h << "</table>\n";
  return h.str();
}

// One epoch slider moving every picture of the page together: the field
// (optionally with the first layer's lines), the network with its units, the
// hidden spaces, and a marker on the loss plot. Plain JavaScript from file://.
const char* kSliderScript = R"(<script>
function netsweepShow(k){var v=document.getElementById('view');var frames=JSON.parse(v.getAttribute('data-frames'));
var epochs=JSON.parse(v.getAttribute('data-epochs'));k=Math.max(0,Math.min(frames.length-1,k));
var lines=document.getElementById('lines');var f=String(frames[k]);while(f.length<3)f='0'+f;
document.querySelectorAll('img[data-pattern]').forEach(function(img){var p=img.getAttribute('data-pattern');
if(lines&&lines.checked&&img.hasAttribute('data-lines'))p=img.getAttribute('data-lines');img.src=p.replace('FFF',f);});
document.getElementById('epoch').textContent='epoch '+epochs[k];document.getElementById('slider').value=k;
var plot=document.getElementById('loss'),m=document.getElementById('marker');var a=JSON.parse(plot.getAttribute('data-axes'));
var s=plot.naturalWidth?plot.clientWidth/plot.naturalWidth:1;var x=a.left+(epochs[k]-a.x0)/(a.x1-a.x0)*(a.right-a.left);
m.style.left=(x*s)+'px';m.style.top=(a.top*s)+'px';m.style.height=((a.bottom-a.top)*s)+'px';m.setAttribute('data-epoch',epochs[k]);}
window.addEventListener('load',function(){var v=document.getElementById('view');if(!v)return;
var n=JSON.parse(v.getAttribute('data-frames')).length;netsweepShow(n-1);
if(location.hash==='#slider-selftest'){var before=[].map.call(document.querySelectorAll('img[data-pattern]'),function(i){return i.src;});
netsweepShow(0);var after=[].map.call(document.querySelectorAll('img[data-pattern]'),function(i){return i.src;});
var moved=after.filter(function(s,i){return s!==before[i];}).length;
document.body.setAttribute('data-slider',(n<2||moved===after.length)?'moved='+moved+'/'+after.length:'stuck='+(after.length-moved));}});
</script>)";

void write_training_view(std::ostringstream& p, const Sweep& s, const NetworkPictures& pics,
                         const std::vector<int>& frames, const std::string& d) {
  std::string frame_list, epoch_list;
  for (int f : frames) {
    frame_list += (frame_list.empty() ? "" : ",") + std::to_string(f);
    epoch_list += (epoch_list.empty() ? "" : ",") + std::to_string(s.frame_epochs[size_t(f)]);
  }
  p << "<h2>Training</h2>\n<div id=\"view\" data-frames=\"[" << frame_list << "]\" data-epochs=\"[" << epoch_list
    << "]\"><p><input type=\"range\" id=\"slider\" min=\"0\" max=\"" << frames.size() - 1 << "\" value=\""
    << frames.size() - 1 << "\" oninput=\"netsweepShow(+this.value)\" style=\"width:420px\"> <b id=\"epoch\"></b>";
  if (pics.lines)
    p << " <label><input type=\"checkbox\" id=\"lines\" onchange=\"netsweepShow(+document.getElementById('slider')"
         ".value)\"> first-layer lines</label>";
  p << "</p>\n<div class=\"frames\"><figure><img data-pattern=\"" << d << "/frame-FFF.png\"";
  if (pics.lines) p << " data-lines=\"" << d << "/lines-FFF.png\"";
  // 1-D regression draws the fitted curve over x, not a field over the plane.
  const char* field = s.scene.regression ? "fitted curve" : "decision field";
  p << " alt=\"" << field << "\"><figcaption>" << field << "</figcaption></figure>";
  if (pics.neurons)
    p << "<figure><img data-pattern=\"" << d << "/neurons-FFF.png\" alt=\"network\"><figcaption>the network: "
      << "each unit over " << (s.scene.regression ? "x" : "the plane")
      << ", edges blue &gt; 0, orange &lt; 0</figcaption></figure>";
  for (size_t l = 0; l < pics.hidden_units.size(); ++l)
    p << "<figure><img data-pattern=\"" << d << "/hidden-" << l + 1 << "-FFF.png\" alt=\"hidden layer " << l + 1
      << "\"><figcaption>layer " << l + 1 << "'s space (<a href=\"" << d << "/hidden-" << l + 1
      << ".gif\">GIF</a>)</figcaption></figure>";
  const PlotAxes& a = pics.loss_axes;
  p << "<figure><div style=\"position:relative;display:inline-block\"><img id=\"loss\" src=\"" << d
    << "/loss.png\" alt=\"loss\" data-axes='{\"left\":" << a.left << ",\"right\":" << a.right << ",\"top\":" << a.top
    << ",\"bottom\":" << a.bottom << ",\"x0\":" << a.x_min << ",\"x1\":" << a.x_max
    << "}'><div id=\"marker\" style=\"position:absolute;width:2px;background:#d62728;opacity:.8\"></div></div>"
    << "<figcaption>loss (<a href=\"" << d << "/anim.gif\">GIF of the field</a>)</figcaption></figure></div></div>\n"
    << kSliderScript;
}

}  // namespace

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  if (!out) throw RenderError(path.string() + ": cannot write");
}

std::string page_head(const std::string& title, const std::string& root) {
  return "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + html_escape(title) + "</title>" + kStyle +
         kSortScript + "<!-- root " + root + " --></head><body>\n";
}

std::string page_tail() { return std::string(kSelfCheck) + "</body></html>\n"; }

void write_index(const std::vector<const Sweep*>& sweeps, const std::vector<GalleryNetwork>& networks,
                 const std::vector<Configuration>& configs, const std::vector<std::string>& inputs,
                 const fs::path& dir) {
  std::ostringstream idx;
  std::string title;
  for (const auto& in : inputs) title += (title.empty() ? "" : ", ") + fs::path(in).filename().string();
  idx << page_head("netsweep gallery: " + title, "") << "<h1>netsweep gallery</h1>\n";
  const bool regression = sweeps[0]->scene.regression;
  for (const Sweep* s : sweeps) {
    int shown = 0;
    for (const auto& n : networks) shown += n.sweep == s;
    idx << settings_table(*s, shown);
  }
  idx << overview_html(configs, networks, regression);
  idx << "<h2>All networks (click a column to sort)</h2>\n<table class=\"list\"><thead><tr><th>final frame</th>"
         "<th>network</th><th>status</th>"
         "<th class=\"sortable\" onclick=\"sortTable(this)\">train loss</th>"
         "<th class=\"sortable\" onclick=\"sortTable(this)\">test loss</th>"
         "<th class=\"sortable\" onclick=\"sortTable(this)\">train accuracy</th>"
         "<th class=\"sortable\" onclick=\"sortTable(this)\">test accuracy</th>"
         "<th class=\"sortable\" onclick=\"sortTable(this)\">time (s)</th></tr></thead><tbody>\n";
  auto num = [](double v, const char* f) {
    return "<td class=\"num\" data-v=\"" + (std::isfinite(v) ? fmt("%.9g", v) : std::string("NaN")) + "\">" +
           fmt(f, v) + "</td>";
  };
  for (const auto& n : networks) {
    const NetworkRow& r = n.sweep->rows[n.k];
    idx << "<tr><td><a href=\"" << n.dir << ".html\"><img loading=\"lazy\" width=\"64\" src=\"" << n.dir
        << "/final.png\" alt=\"final\"></a></td><td><a href=\"" << n.dir << ".html\">" << html_escape(network_label(n))
        << "</a></td><td class=\"" << r.status << "\">" << r.status << "</td>" << num(r.final_train_loss, "%.5f")
        << num(r.final_test_loss, "%.5f") << num(r.final_train_accuracy, "%.4f") << num(r.final_test_accuracy, "%.4f")
        << num(r.wall_seconds, "%.2f") << "</tr>\n";
  }
  idx << "</tbody></table>\n" << page_tail();
  write_text(dir / "index.html", idx.str());
}

void write_network_page(const GalleryNetwork& n, const std::vector<int>& frames, const fs::path& dir) {
  const Sweep& s = *n.sweep;
  const NetworkRow& row = s.rows[n.k];
  const NetworkResult& r = n.result;
  const std::string d = fs::path(n.dir).filename().string();  // pictures beside the page
  std::ostringstream p;
  p << page_head(network_label(n), "../") << "<p><a href=\"../index.html\">&larr; gallery</a></p>\n<h1>"
    << html_escape(network_label(n)) << "</h1>\n";
  p << "<table class=\"settings\">";
  auto line = [&](const std::string& key, const std::string& v) {
    p << "<tr><td><b>" << key << "</b></td><td>" << html_escape(v) << "</td></tr>";
  };
  if (!s.part_label.empty()) line("part", s.part_label);
  line("network id", std::to_string(row.id));
  line("hidden shape", row.hidden_shape + " (" + std::to_string(row.hidden_layers) + " hidden layer" +
                           (row.hidden_layers > 1 ? "s" : "") + ")");
  line("activation", row.activation);
  std::string features;
  for (const auto& f : s.feature_names) features += (features.empty() ? "" : ", ") + f;
  line("features", features);
  line("loss and outputs", s.loss + ", " + std::to_string(s.shape[4]) + " output" + (s.shape[4] > 1 ? "s" : ""));
  line("optimizer", row.optimizer + ", lr " + fmt("%g", row.lr) +
                        (std::isfinite(row.momentum) ? ", momentum " + fmt("%g", row.momentum) : "") + ", " +
                        (row.batch == 0 ? std::string("full batch") : "batch " + std::to_string(row.batch)));
  line("penalties", "L1 " + fmt("%g", row.l1) + ", L2 " + fmt("%g", row.l2));
  line("seed", std::to_string(row.seed) + " (replica " + std::to_string(row.replica) + ")");
  line("parameters", std::to_string(row.parameters));
  line("status", row.status + " after " + std::to_string(row.epochs_trained) + " epochs");
  line("final loss", "train " + fmt("%.5f", row.final_train_loss) + ", test " + fmt("%.5f", row.final_test_loss));
  if (!s.scene.regression)
    line("final accuracy",
         "train " + fmt("%.4f", row.final_train_accuracy) + ", test " + fmt("%.4f", row.final_test_accuracy));
  line("time", fmt("%.2f s", row.wall_seconds));
  p << "</table>\n";
  write_training_view(p, s, n.pictures, frames, d);
  p << "<h2>Frames</h2>\n<div class=\"frames\">";
  for (int f : frames) {
    char name[32];
    std::snprintf(name, sizeof name, "frame-%03d.png", f);
    p << "<figure><img loading=\"lazy\" src=\"" << d << "/" << name << "\" alt=\"frame " << f << "\"><figcaption>epoch "
      << s.frame_epochs[size_t(f)] << "<br>loss " << fmt("%.4f", r.snapshot_train_loss[size_t(f)]);
    if (!s.scene.regression) p << " · acc " << fmt("%.3f", r.snapshot_train_accuracy[size_t(f)]);
    if (std::isfinite(r.snapshot_test_loss[size_t(f)]))
      p << "<br>test " << fmt("%.4f", r.snapshot_test_loss[size_t(f)]);
    p << "</figcaption></figure>";
  }
  p << "</div>\n" << page_tail();
  write_text(dir / (n.dir + ".html"), p.str());
}

std::string network_label(const GalleryNetwork& n) {
  const Sweep& s = *n.sweep;
  const NetworkRow& r = s.rows[n.k];
  // Of several files, each network is named with its part, or its file (the axes that vary are each file's).
  const std::string part = !s.part_label.empty() ? s.part_label
                           : s.prefix.empty()    ? ""
                                                 : fs::path(s.path).stem().string();
  return (part.empty() ? "" : part + " · ") + r.hidden_shape + " " + configuration_label(r, s.axes);
}

}  // namespace netsweep::render
