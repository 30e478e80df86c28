#include "pages.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

namespace netsweep::render {
namespace fs = std::filesystem;
namespace {

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

const char* kStyle = R"(<style>
body{font-family:DejaVu Sans,Arial,sans-serif;margin:16px;color:#222;background:#fafafa}
h1{font-size:20px;margin:0 0 8px} h2{font-size:16px;margin:20px 0 8px}
table{border-collapse:collapse} td,th{border:1px solid #ddd;padding:4px 6px;vertical-align:top;font-size:12px}
th{background:#f0f0f0} th.sortable{cursor:pointer} th.sortable:hover{background:#e4e4e4}
.cell{white-space:nowrap} .cell img{display:inline-block;vertical-align:top;margin:0 2px 2px 0} .num{font-family:DejaVu Sans Mono,monospace;text-align:right}
.settings td{border:none;padding:1px 8px 1px 0} .diverged{color:#b00} .early_stopped{color:#b60}
.frames{display:flex;flex-wrap:wrap;gap:6px} .frames figure{margin:0;font-size:11px;text-align:center}
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

std::string settings_table(const Sweep& s, const std::map<std::string, int>& status_counts) {
  std::ostringstream h;
  auto row = [&](const std::string& k, const std::string& v) {
    h << "<tr><td><b>" << html_escape(k) << "</b></td><td>" << html_escape(v) << "</td></tr>\n";
  };
  auto list = [](const nlohmann::json& j) {
    std::string out;
    for (const auto& v : j)
      out += (out.empty() ? "" : ", ") + (v.is_string()         ? v.get<std::string>()
                                          : v.is_number_float() ? fmt("%g", v.get<double>())
                                                                : v.dump());
    return out;
  };
  auto data_summary = [&](const nlohmann::json& d) {
    std::string out;
    for (const auto& src : d.value("source", nlohmann::json::array())) {
      std::string one = src.contains("generator") ? "generator " + src["generator"].get<std::string>()
                        : src.contains("points")  ? src["points"].get<std::string>() + " (class " +
                                                       std::to_string(src["label"].get<int>()) + ")"
                                                 : src.value("csv", std::string("?"));
      out += (out.empty() ? "" : "; ") + one;
    }
    return out + " — " + std::to_string(d.value("n_train", 0)) + " train / " + std::to_string(d.value("n_test", 0)) +
           " test points, " +
           (d.value("classes", 0) > 0 ? std::to_string(d.value("classes", 0)) + " classes" : "regression");
  };
  h << "<table class=\"settings\">\n";
  row("file", s.path);
  if (!s.spec.at("layers").empty())
    row("layers x widths", list(s.spec.at("layers")) + "  x  " + list(s.spec.at("widths")));
  if (!s.spec.at("shapes").empty()) row("explicit shapes", s.spec.at("shapes").dump());
  row("activations", list(s.spec.at("activations")));
  row("optimizers",
      list(s.spec.at("optimizers")) + ", lr " + list(s.spec.at("lr")) + ", batch " + list(s.spec.at("batch")));
  row("seeds", std::to_string(s.spec.at("seeds").get<int>()) + " per configuration");
  row("epochs", std::to_string(s.spec.at("epochs").get<int>()) + ", loss " + s.loss + ", frames every " +
                    std::to_string(s.spec.at("snapshot_every").get<int>()) + " epochs (" +
                    std::to_string(s.frame_epochs.size()) + " of " + std::to_string(s.shape[3]) + "x" +
                    std::to_string(s.shape[2]) + ")");
  row("data", data_summary(s.dataset));
  row("trained on", s.device + ", " + fmt("%.1f s", s.elapsed) + ", " + s.created);
  std::string totals = std::to_string(s.rows.size()) + " shown of " + std::to_string(s.total_networks) + " networks";
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
  p << " alt=\"decision field\"><figcaption>decision field</figcaption></figure>";
  if (pics.neurons)
    p << "<figure><img data-pattern=\"" << d << "/neurons-FFF.png\" alt=\"network\"><figcaption>the network: "
      << "each unit over the plane, edges blue &gt; 0, orange &lt; 0</figcaption></figure>";
  for (size_t l = 0; l < pics.hidden_units.size(); ++l)
    p << "<figure><img data-pattern=\"" << d << "/hidden-" << l + 1 << "-FFF.png\" alt=\"hidden layer " << l + 1
      << "\"><figcaption>layer " << l + 1 << "'s space (<a href=\"" << d << "/hidden-" << l + 1
      << ".gif\">GIF</a>)</figcaption></figure>";
  const PlotAxes& a = pics.loss_axes;
  p << "<figure><div style=\"position:relative;display:inline-block\"><img id=\"loss\" src=\"" << d
    << "/loss.png\" alt=\"loss\" data-axes='{\"left\":" << a.left << ",\"right\":" << a.right
    << ",\"top\":" << a.top << ",\"bottom\":" << a.bottom << ",\"x0\":" << a.x_min << ",\"x1\":" << a.x_max
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

void write_index(const Sweep& s, const fs::path& dir) {
  std::map<std::string, int> status_counts;
  for (const auto& r : s.rows) ++status_counts[r.status];
  // Columns: every axis besides the shape that varies among the shown networks.
  auto column_key = [&](const NetworkRow& r) { return configuration_label(r, s.axes); };
  std::vector<std::string> shapes, columns;
  std::map<std::pair<std::string, std::string>, std::vector<size_t>> cells;
  for (size_t k = 0; k < s.rows.size(); ++k) {
    const std::string sh = shape_label(s.rows[k]), col = column_key(s.rows[k]);
    if (std::find(shapes.begin(), shapes.end(), sh) == shapes.end()) shapes.push_back(sh);
    if (std::find(columns.begin(), columns.end(), col) == columns.end()) columns.push_back(col);
    cells[{sh, col}].push_back(k);
  }
  const int thumb = 160;
  std::ostringstream idx;
  idx << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>netsweep gallery: "
      << html_escape(fs::path(s.path).filename().string()) << "</title>" << kStyle << kSortScript << "</head><body>\n";
  idx << "<h1>netsweep gallery</h1>\n" << settings_table(s, status_counts);
  idx << "<h2>By shape and " << (columns.size() > 1 ? "configuration" : "activation")
      << "</h2>\n<table class=\"grid\"><thead><tr><th>hidden shape</th>";
  for (const auto& c : columns) idx << "<th>" << html_escape(c) << "</th>";
  idx << "</tr></thead><tbody>\n";
  for (const auto& sh : shapes) {
    idx << "<tr><th>" << html_escape(sh) << "</th>";
    for (const auto& c : columns) {
      idx << "<td class=\"cell\">";
      for (size_t k : cells[{sh, c}]) {
        const auto& r = s.rows[k];
        const std::string d = "nets/" + net_dir(r.id);
        idx << "<a href=\"" << d << ".html\"><img loading=\"lazy\" width=\"" << thumb << "\" src=\"" << d
            << "/anim.gif\" alt=\"animation\"></a>"
            << "<img loading=\"lazy\" width=\"" << thumb << "\" src=\"" << d << "/final.png\" alt=\"final frame\">"
            << "<img loading=\"lazy\" width=\"" << thumb * 3 / 2 << "\" src=\"" << d << "/loss.png\" alt=\"loss\">"
            << "<div class=\"" << r.status << "\">loss " << fmt("%.4f", r.final_train_loss)
            << (s.scene.regression ? "" : " · acc " + fmt("%.1f%%", 100.0 * r.final_train_accuracy))
            << (r.status != "trained" ? " · " + r.status : "") << "</div>";
      }
      idx << "</td>";
    }
    idx << "</tr>\n";
  }
  idx << "</tbody></table>\n";
  idx << "<h2>All networks (click a column to sort)</h2>\n<table class=\"list\"><thead><tr><th>final frame</th>"
         "<th>network</th><th>status</th>"
         "<th class=\"sortable\" onclick=\"sortTable(this)\">train loss</th>"
         "<th class=\"sortable\" onclick=\"sortTable(this)\">test loss</th>"
         "<th class=\"sortable\" onclick=\"sortTable(this)\">train accuracy</th>"
         "<th class=\"sortable\" onclick=\"sortTable(this)\">test accuracy</th>"
         "<th class=\"sortable\" onclick=\"sortTable(this)\">time (s)</th></tr></thead><tbody>\n";
  for (const auto& r : s.rows) {
    const std::string d = "nets/" + net_dir(r.id);
    auto num = [](double v, const char* f) {
      return "<td class=\"num\" data-v=\"" + (std::isfinite(v) ? fmt("%.9g", v) : std::string("NaN")) + "\">" +
             fmt(f, v) + "</td>";
    };
    idx << "<tr><td><a href=\"" << d << ".html\"><img loading=\"lazy\" width=\"64\" src=\"" << d
        << "/final.png\" alt=\"final\"></a></td><td><a href=\"" << d << ".html\">" << html_escape(shape_label(r)) << " "
        << html_escape(column_key(r)) << "</a></td><td class=\"" << r.status << "\">" << r.status << "</td>"
        << num(r.final_train_loss, "%.5f") << num(r.final_test_loss, "%.5f") << num(r.final_train_accuracy, "%.4f")
        << num(r.final_test_accuracy, "%.4f") << num(r.wall_seconds, "%.2f") << "</tr>\n";
  }
  idx << "</tbody></table>\n" << kSelfCheck << "</body></html>\n";
  write_text(dir / "index.html", idx.str());

}

void write_network_page(const Sweep& s, size_t k, const NetworkResult& r, const NetworkPictures& pics,
                        const std::vector<int>& frames, const fs::path& dir) {
  const auto& row = s.rows[k];
  const std::string d = net_dir(row.id);
  std::ostringstream p;
  p << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" << html_escape(shape_label(row)) << " "
    << html_escape(row.activation) << "</title>" << kStyle << "</head><body>\n<p><a href=\"../index.html\">"
    << "&larr; gallery</a></p>\n<h1>" << html_escape(shape_label(row) + " " + configuration_label(row, s.axes)) << "</h1>\n";
  p << "<table class=\"settings\">";
  auto line = [&](const std::string& key, const std::string& v) {
    p << "<tr><td><b>" << key << "</b></td><td>" << html_escape(v) << "</td></tr>";
  };
  line("network id", std::to_string(row.id));
  line("hidden shape", row.hidden_shape);
  line("activation", row.activation);
  line("optimizer", row.optimizer + ", lr " + fmt("%g", row.lr) + ", batch " + std::to_string(row.batch));
  line("seed", std::to_string(row.seed));
  line("parameters", std::to_string(row.parameters));
  line("status", row.status + " after " + std::to_string(row.epochs_trained) + " epochs");
  line("final loss", "train " + fmt("%.5f", row.final_train_loss) + ", test " + fmt("%.5f", row.final_test_loss));
  if (!s.scene.regression)
    line("final accuracy",
         "train " + fmt("%.4f", row.final_train_accuracy) + ", test " + fmt("%.4f", row.final_test_accuracy));
  line("time", fmt("%.2f s", row.wall_seconds));
  p << "</table>\n";
  write_training_view(p, s, pics, frames, d);
  p << "<h2>Frames</h2>\n<div class=\"frames\">";
  for (int f : frames) {
    char name[32];
    std::snprintf(name, sizeof name, "frame-%03d.png", f);
    p << "<figure><img loading=\"lazy\" src=\"" << d << "/" << name << "\" alt=\"frame " << f
      << "\"><figcaption>epoch " << s.frame_epochs[size_t(f)] << "<br>loss "
      << fmt("%.4f", r.snapshot_train_loss[size_t(f)]);
    if (!s.scene.regression) p << " · acc " << fmt("%.3f", r.snapshot_train_accuracy[size_t(f)]);
    if (std::isfinite(r.snapshot_test_loss[size_t(f)]))
      p << "<br>test " << fmt("%.4f", r.snapshot_test_loss[size_t(f)]);
    p << "</figcaption></figure>";
  }
  p << "</div>\n" << kSelfCheck << "</body></html>\n";
  write_text(dir / "nets" / (d + ".html"), p.str());
}

}  // namespace netsweep::render
