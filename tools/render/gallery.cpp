#include "gallery.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "draw.h"
#include "gif.h"
#include "netsweep/results.h"

namespace netsweep::render {
namespace fs = std::filesystem;
namespace {

constexpr const char* kMarker = ".netsweep-gallery";

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

std::string fmt(const char* f, double v) {
  if (!std::isfinite(v)) return "–";
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string net_dir(int id) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "net-%04d", id);
  return buf;
}

// --runs key=value[|value...],... : every condition must hold.
bool matches(const NetworkRow& r, const std::string& filter) {
  if (filter.empty()) return true;
  std::stringstream conds(filter);
  std::string cond;
  while (std::getline(conds, cond, ',')) {
    const auto eq = cond.find('=');
    if (eq == std::string::npos) throw RenderError("--runs: '" + cond + "' is not key=value");
    const std::string key = cond.substr(0, eq);
    std::string value;
    if (key == "activation")
      value = r.activation;
    else if (key == "layers")
      value = std::to_string(r.hidden_layers);
    else if (key == "width")
      value = std::to_string(r.width);
    else if (key == "shape")
      value = r.hidden_shape;
    else if (key == "optimizer")
      value = r.optimizer;
    else if (key == "lr")
      value = fmt("%g", r.lr);
    else if (key == "batch")
      value = std::to_string(r.batch);
    else if (key == "seed")
      value = std::to_string(r.seed);
    else if (key == "status")
      value = r.status;
    else if (key == "id")
      value = std::to_string(r.id);
    else
      throw RenderError("--runs: unknown key '" + key +
                        "' (known: activation, layers, width, shape, optimizer, lr, batch, seed, status, id)");
    std::stringstream alts(cond.substr(eq + 1));
    std::string alt;
    bool any = false;
    while (std::getline(alts, alt, '|')) any |= alt == value;
    if (!any) return false;
  }
  return true;
}

std::string shape_label(const NetworkRow& r) {
  return r.width > 0 ? std::to_string(r.hidden_layers) + " x " + std::to_string(r.width) : r.hidden_shape;
}

// Everything the workers need, read once from the file.
struct Sweep {
  std::string path;
  std::vector<NetworkRow> rows;  // selected networks
  std::vector<int> rows_index;   // their row in the file
  std::vector<int> frame_epochs;
  std::array<int, 5> shape{};
  FrameScene scene;
  nlohmann::json spec, dataset;
  std::string device, created, loss;
  double elapsed = 0;
  int total_networks = 0;
};

struct NetworkOutput {
  std::vector<float> snap_train_loss, snap_train_acc, snap_test_loss, snap_test_acc;
  std::vector<int> rendered;  // frame indices rendered as PNG
};

std::vector<int> frames_to_render(int frames, int stride) {
  std::vector<int> out;
  for (int f = 0; f < frames; f += stride) out.push_back(f);
  if (out.empty() || out.back() != frames - 1) out.push_back(frames - 1);
  return out;
}

std::string caption(const Sweep& s, const NetworkResult& r, int frame) {
  std::string c = "epoch " + std::to_string(s.frame_epochs[size_t(frame)]) + "   loss " +
                  fmt("%.4f", r.snapshot_train_loss[size_t(frame)]);
  if (!s.scene.regression) c += "   acc " + fmt("%.1f%%", 100.0 * r.snapshot_train_accuracy[size_t(frame)]);
  return c;
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  if (!out) throw RenderError(path.string() + ": cannot write");
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

}  // namespace

void render_gallery(const RenderOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  if (o.scale < 0 || o.scale > 16) throw RenderError("--scale: must be 1..16 (0 = automatic)");
  if (o.frame_stride < 1) throw RenderError("--frame-stride: must be >= 1");
  if (o.gif_delay < 1) throw RenderError("--gif-delay: must be >= 1 (1/100 s)");
  const Font font(o.font.empty() ? Font::default_path() : o.font);

  Sweep s;
  s.path = o.input;
  ResultsFile file(o.input);
  try {
    s.shape = file.frame_shape();
  } catch (const std::exception&) {
    throw RenderError(o.input + ": the file has no frames (dataset 'frames' is missing or not 5-dimensional)");
  }
  if (s.shape[0] == 0 || s.shape[1] == 0) throw RenderError(o.input + ": the file has no frames");
  s.frame_epochs = file.frame_epochs();
  const auto all_rows = file.networks();
  s.total_networks = int(all_rows.size());
  for (size_t i = 0; i < all_rows.size(); ++i)
    if (matches(all_rows[i], o.runs)) {
      s.rows.push_back(all_rows[i]);
      s.rows_index.push_back(int(i));
    }
  if (s.rows.empty()) throw RenderError("--runs '" + o.runs + "': no network matches");
  s.spec = nlohmann::json::parse(file.attribute("spec"));
  s.dataset = nlohmann::json::parse(file.attribute("dataset"));
  s.device = file.attribute("device");
  s.created = file.attribute("created");
  s.loss = file.attribute("loss");
  s.elapsed = file.double_attribute("elapsed_seconds");
  const Dataset data = file.dataset();
  FrameScene& scene = s.scene;
  scene.grid_h = s.shape[2];
  scene.grid_w = s.shape[3];
  scene.outputs = s.shape[4];
  scene.extent = file.extent();
  scene.regression = data.regression;
  scene.scale = o.scale > 0 ? o.scale : std::max(1, (256 + scene.grid_w / 2) / scene.grid_w);
  if (scene.regression && o.scale == 0) scene.scale = 1;
  scene.style.outputs = scene.outputs;
  scene.style.classes = data.classes;
  scene.style.discretize = o.discretize;
  scene.style.map = !o.colormap.empty()                         ? parse_colormap(o.colormap)
                    : (data.classes == 2 && scene.outputs == 2) ? ColorMap::seed
                                                                : ColorMap::playground;
  for (auto [src, dst] : {std::pair<const PointSet*, Points*>{&data.train, &scene.train}, {&data.test, &scene.test}}) {
    dst->coords = src->coords;
    dst->labels.assign(src->labels.begin(), src->labels.end());
    dst->values = src->values;
  }
  if (scene.regression) {
    float lo = INFINITY, hi = -INFINITY;
    for (const PointSet* p : {&data.train, &data.test})
      for (float v : p->values) lo = std::min(lo, v), hi = std::max(hi, v);
    const float pad = 0.15f * std::max(hi - lo, 1e-3f);
    scene.value_range = {lo - pad, hi + pad};
  }

  // Render into a temporary directory; rename it into place at the end.
  const fs::path out = fs::absolute(o.output);
  if (fs::exists(out) && !fs::exists(out / kMarker) && !fs::is_empty(out))
    throw RenderError(o.output + ": exists and is not a netsweep gallery; refusing to replace it");
  const fs::path tmp = out.string() + ".partial-" + std::to_string(::getpid());
  fs::remove_all(tmp);
  fs::create_directories(tmp / "nets");

  const std::vector<int> frames = frames_to_render(s.shape[1], o.frame_stride);
  std::vector<NetworkResult> results(s.rows.size());
  std::mutex file_mutex;  // HDF5 is not thread-safe: one reader at a time
  std::atomic<size_t> next{0}, done{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto worker = [&] {
    for (size_t k; (k = next.fetch_add(1)) < s.rows.size();) {
      try {
        const NetworkRow& row = s.rows[k];
        const int index = s.rows_index[k];
        std::vector<std::vector<float>> values(size_t(s.shape[1]));
        {
          std::lock_guard<std::mutex> lock(file_mutex);
          results[k] = file.network_result(index);
          for (int f : frames) values[size_t(f)] = file.frame(index, f);
        }
        const NetworkResult& r = results[k];
        const fs::path dir = tmp / "nets" / net_dir(row.id);
        fs::create_directories(dir);
        std::vector<Image> images;
        for (int f : frames) {
          images.push_back(render_frame(scene, values[size_t(f)].data(), caption(s, r, f), font));
          char name[32];
          std::snprintf(name, sizeof name, "frame-%03d.png", f);
          images.back().write_png((dir / name).string());
        }
        images.back().write_png((dir / "final.png").string());
        write_gif((dir / "anim.gif").string(), images, o.gif_delay);
        LossCurves curves{r.epoch_loss, s.frame_epochs, r.snapshot_test_loss};
        render_loss_plot(curves, shape_label(row) + " " + row.activation, o.log_loss, 1, font)
            .write_png((dir / "loss.png").string());
        const size_t d = done.fetch_add(1) + 1;
        if (!o.quiet && (d % 10 == 0 || d == s.rows.size()))
          std::fprintf(stderr, "netsweep-render: %zu/%zu networks\n", d, s.rows.size());
      } catch (...) {
        std::lock_guard<std::mutex> lock(failure_mutex);
        if (!failure) failure = std::current_exception();
        next = s.rows.size();
      }
    }
  };
  const int threads = o.threads > 0 ? o.threads : int(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  for (int t = 1; t < std::min<int>(threads, int(s.rows.size())); ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (failure) {
    fs::remove_all(tmp);
    std::rethrow_exception(failure);
  }

  // Pages.
  std::map<std::string, int> status_counts;
  for (const auto& r : s.rows) ++status_counts[r.status];
  // Columns: every axis besides the shape that varies among the shown networks.
  auto varies = [&](auto get) {
    for (const auto& x : s.rows)
      if (get(x) != get(s.rows[0])) return true;
    return false;
  };
  const bool optimizers = varies([](const NetworkRow& x) { return x.optimizer; });
  const bool lrs = varies([](const NetworkRow& x) { return x.lr; });
  const bool batches = varies([](const NetworkRow& x) { return x.batch; });
  const bool seeds = varies([](const NetworkRow& x) { return x.seed; });
  auto column_key = [&](const NetworkRow& r) {
    std::string key = r.activation;
    if (optimizers) key += " · " + r.optimizer;
    if (lrs) key += " · lr " + fmt("%g", r.lr);
    if (batches) key += " · batch " + std::to_string(r.batch);
    if (seeds) key += " · seed " + std::to_string(r.seed);
    return key;
  };
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
      << html_escape(fs::path(o.input).filename().string()) << "</title>" << kStyle << kSortScript << "</head><body>\n";
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
  write_text(tmp / "index.html", idx.str());

  for (size_t k = 0; k < s.rows.size(); ++k) {
    const auto& row = s.rows[k];
    const auto& r = results[k];
    const std::string d = net_dir(row.id);
    std::ostringstream p;
    p << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" << html_escape(shape_label(row)) << " "
      << html_escape(row.activation) << "</title>" << kStyle << "</head><body>\n<p><a href=\"../index.html\">"
      << "&larr; gallery</a></p>\n<h1>" << html_escape(shape_label(row) + " " + column_key(row)) << "</h1>\n";
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
    p << "</table>\n<p><img src=\"" << d << "/anim.gif\" alt=\"animation\"> <img src=\"" << d
      << "/loss.png\" alt=\"loss\"></p>\n<h2>Frames</h2>\n<div class=\"frames\">";
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
    write_text(tmp / "nets" / (d + ".html"), p.str());
  }
  write_text(tmp / kMarker, "netsweep-render gallery of " + o.input + "\n");

  // Swap the finished gallery into place.
  if (fs::exists(out)) {
    const fs::path old = out.string() + ".old-" + std::to_string(::getpid());
    fs::rename(out, old);
    fs::rename(tmp, out);
    fs::remove_all(old);
  } else {
    fs::rename(tmp, out);
  }
  if (!o.quiet)
    std::fprintf(stderr, "netsweep-render: %zu networks, %zu frames each -> %s/index.html (%.1f s)\n", s.rows.size(),
                 frames.size(), o.output.c_str(),
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

}  // namespace netsweep::render
