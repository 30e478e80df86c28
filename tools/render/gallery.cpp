// netsweep-render's driver: options, the pictures of every network (in
// parallel), the pages, and the gallery swapped into place when complete.
#include "gallery.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "gif.h"
#include "inside.h"
#include "netsweep/forward.h"
#include "netsweep/stop_signals.h"
#include "netsweep/text.h"
#include "overview.h"
#include "pages.h"
#include "sweep.h"

namespace netsweep::render {
namespace fs = std::filesystem;
namespace {

constexpr const char* kMarker = ".netsweep-gallery";

// The gallery being written (OUTPUT.partial-HOST-PID): removed unless it was moved into place.
class StagingDir {
 public:
  // `output`: the gallery's path as given, named in errors (the staging path is the tool's own).
  StagingDir(fs::path path, const std::string& output) : path_(std::move(path)) {
    std::error_code ec;
    fs::remove_all(path_, ec);
    if (!ec) fs::create_directories(path_ / "nets", ec);
    if (ec) throw RenderError(output + ": cannot write a gallery there (" + ec.message() + ")");
  }
  ~StagingDir() {
    std::error_code ec;
    if (!committed_) fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  void committed() { committed_ = true; }

 private:
  fs::path path_;
  bool committed_ = false;
};

std::string caption(const Sweep& s, const NetworkResult& r, int frame) {
  std::string c = "epoch " + std::to_string(s.frame_epochs[size_t(frame)]) + "   loss " +
                  fmt("%.4f", r.snapshot_train_loss[size_t(frame)]);
  if (!s.scene.regression) c += "   acc " + fmt("%.1f%%", 100.0 * r.snapshot_train_accuracy[size_t(frame)]);
  return c;
}

// What the file recorded inside network `index` at the rendered frames.
InsideNetwork read_inside(const ResultsFile& file, const Sweep& s, int index, const NetworkRow& row,
                          const std::vector<int>& frames) {
  InsideNetwork net;
  net.layout = single_network_layout(row.hidden_shape, s.inputs, s.shape[4]);
  net.activation = parse_activation(row.activation);
  net.loss = parse_loss(s.loss);
  net.features = s.features;
  net.feature_names = s.feature_names;
  net.neuron_h = s.neuron_grid[0];
  net.neuron_w = s.neuron_grid[1];
  for (int f : frames) {
    net.epochs.push_back(s.frame_epochs[size_t(f)]);
    if (file.neuron_units(index) > 0) net.maps.push_back(file.neuron_maps(index, f));
    if (file.has_weight_snapshots(index)) net.weights.push_back(file.weights_at(index, f));
  }
  return net;
}

std::string numbered(const char* pattern, int f) {
  char name[64];
  std::snprintf(name, sizeof name, pattern, f);
  return name;
}

// Why a network's first-layer lines w.x + b = 0 cannot be drawn over its
// frames; empty if they can.
std::string lines_missing(bool weights_recorded, const FrameScene& scene, const NetworkLayout& layout) {
  if (scene.regression) return "1-D data, no plane to draw them on";
  if (layout.layers.size() < 2) return "no hidden layer";
  if (layout.layers[0].out > kMaxLinedUnits)
    return "a first hidden layer wider than " + std::to_string(kMaxLinedUnits) + " units";
  if (!weights_recorded) return "parameters not recorded (run with --record-weights all)";
  return "";
}
bool lines_drawable(bool weights_recorded, const FrameScene& scene, const NetworkLayout& layout) {
  return lines_missing(weights_recorded, scene, layout).empty();
}

// Every picture of one network into dir: frames (with first-layer lines where
// asked), its GIF and final frame, the loss plot, and what is inside it.
NetworkPictures render_network(const Sweep& s, const NetworkRow& row, const NetworkResult& r,
                               const std::vector<int>& frames, const std::vector<std::vector<float>>& values,
                               const InsideNetwork& inside, const RenderOptions& o, const Font& font,
                               const fs::path& dir) {
  const FrameScene& scene = s.scene;
  NetworkPictures pics;
  fs::create_directories(dir);
  // First-layer lines: on every frame with --lines, else as a second set the page can switch to.
  const bool can_line = lines_drawable(inside.has_weights(), scene, inside.layout);
  pics.lines = can_line && !o.lines;
  std::vector<Image> images;
  for (size_t k = 0; k < frames.size(); ++k) {
    const int f = frames[k];
    images.push_back(render_frame(scene, values[size_t(f)].data(), caption(s, r, f), font));
    if (pics.lines) {
      Image lined = images.back();
      draw_first_layer_lines(lined, scene, inside, inside.weights[k].data());
      lined.write_png((dir / numbered("lines-%03d.png", f)).string());
    } else if (can_line) {
      draw_first_layer_lines(images.back(), scene, inside, inside.weights[k].data());
    }
    images.back().write_png((dir / numbered("frame-%03d.png", f)).string());
  }
  images.back().write_png((dir / "final.png").string());
  write_gif((dir / "anim.gif").string(), images, o.gif_delay);
  LossCurves curves;
  curves.epoch_loss = r.epoch_loss;
  curves.snapshot_epochs = s.frame_epochs;
  curves.snapshot_test_loss = r.snapshot_test_loss;
  render_loss_plot(curves, row.hidden_shape + " " + row.activation, o.log_loss, 1, font, &pics.loss_axes)
      .write_png((dir / "loss.png").string());

  if (inside.has_maps()) {
    pics.neurons = true;
    for (size_t k = 0; k < frames.size(); ++k)
      render_network_diagram(scene, inside, k, font)
          .write_png((dir / numbered("neurons-%03d.png", frames[k])).string());
  }
  int units = 0;
  for (int l = 0; l < inside.hidden_layers(); ++l) units += inside.layout.layers[size_t(l)].out;
  if (inside.has_weights() && units <= kMaxHiddenViewUnits) {
    const std::vector<HiddenView> views = hidden_views(scene, inside);
    nlohmann::json doc = nlohmann::json::array();
    for (const HiddenView& v : views) {
      std::vector<Image> anim;
      for (size_t k = 0; k < frames.size(); ++k) {
        anim.push_back(render_hidden_view(scene, inside, v, k, font));
        anim.back().write_png(
            (dir / numbered(("hidden-" + std::to_string(v.layer + 1) + "-%03d.png").c_str(), frames[k])).string());
      }
      write_gif((dir / ("hidden-" + std::to_string(v.layer + 1) + ".gif")).string(), anim, o.gif_delay);
      pics.hidden_units.push_back(v.units);
      // What the views show, for other tools (and the tests): the projection,
      // the extent, and the data's coordinates at the first, middle and last rendered frame.
      nlohmann::json j = {{"layer", v.layer + 1},
                          {"units", v.units},
                          {"center", v.center},
                          {"projection", v.projection},
                          {"extent", v.extent}};
      for (size_t k : {size_t(0), frames.size() / 2, frames.size() - 1})
        j["points"][std::to_string(frames[k])] = v.points[k];
      doc.push_back(j);
    }
    write_text(dir / "hidden.json", doc.dump());
  }
  return pics;
}

}  // namespace

namespace {
// The inputs with a network --runs matches (with several files, one without
// any is left out, and said so); all of them without --runs.
std::vector<std::string> matching_inputs(const RenderOptions& o) {
  if (o.runs.empty() || o.inputs.size() < 2) return o.inputs;
  std::vector<std::string> kept;
  for (const auto& path : o.inputs) {
    const ResultsFile file(path);
    const auto& rows = file.networks();
    if (std::any_of(rows.begin(), rows.end(), [&](const NetworkRow& r) { return matches(r, o.runs); }))
      kept.push_back(path);
    else if (!o.quiet)
      std::fprintf(stderr, "netsweep-render: %s\n",
                   one_line(path + ": no network matches --runs '" + o.runs + "'; left out").c_str());
  }
  if (kept.empty()) throw RenderError("--runs '" + o.runs + "': no network matches in any of the files");
  return kept;
}
}  // namespace

void render_gallery(const RenderOptions& given) {
  RenderOptions o = given;
  o.inputs = matching_inputs(given);
  const auto start = std::chrono::steady_clock::now();
  if (o.inputs.empty()) throw RenderError("no results file given");
  if (o.scale < 0 || o.scale > 16) throw RenderError("--scale: must be 1..16 (0 = automatic)");
  if (o.frame_stride < 1) throw RenderError("--frame-stride: must be >= 1");
  if (o.gif_delay < 1 || o.gif_delay > 65535)  // a GIF stores the delay in 16 bits
    throw RenderError("--gif-delay: must be 1..65535 (1/100 s)");
  if (o.output.empty()) throw RenderError("-o: the output directory is empty");
  if (o.threads < 0 || o.threads > 4096) throw RenderError("--threads: must be 0..4096 (0 = all cores)");
  const Font font(o.font.empty() ? Font::default_path() : o.font);
  const std::vector<ResultsFile> files = open_distinct(o.inputs);
  std::vector<Sweep> sweeps;
  std::vector<const ResultsFile*> each;
  for (const ResultsFile& f : files) each.push_back(&f);
  check_distinct_networks(each, [&](const NetworkRow& r) { return matches(r, o.runs); });
  for (size_t k = 0; k < files.size(); ++k) {
    sweeps.push_back(read_sweep(files[k], o));
    if (files.size() > 1) sweeps.back().prefix = "p" + std::to_string(k) + "-";
    if (sweeps.back().scene.regression != sweeps[0].scene.regression)
      throw RenderError(o.inputs[k] + ": one gallery cannot mix 1-D regression with 2-D classification files");
  }
  if (!o.colormap.empty()) {  // two classes' map: more are blended from their own colours, values drawn in viridis
    const auto drawn_otherwise = [](const Sweep& s) { return s.scene.regression || s.scene.style.classes != 2; };
    for (size_t k = 0; k < sweeps.size(); ++k) {
      if (!drawn_otherwise(sweeps[k])) continue;
      const std::string why = sweeps[k].scene.regression ? "1-D regression values, drawn in viridis"
                                                         : std::to_string(sweeps[k].scene.style.classes) +
                                                               " classes, each drawn in its own colour";
      if (std::all_of(sweeps.begin(), sweeps.end(), drawn_otherwise))  // an option that changes nothing
        throw RenderError("--colormap " + o.colormap + ": " + o.inputs[k] + " holds " + why +
                          "; the colour maps are for two classes");
      if (!o.quiet)
        std::fprintf(stderr, "netsweep-render: %s: %s; --colormap %s is for two classes\n",
                     one_line(o.inputs[k]).c_str(), why.c_str(), one_line(o.colormap).c_str());
    }
  }
  std::vector<GalleryNetwork> networks;
  for (const Sweep& s : sweeps)
    for (size_t k = 0; k < s.rows.size(); ++k) {
      GalleryNetwork n;
      n.sweep = &s;
      n.k = k;
      n.dir = "nets/" + s.prefix + net_dir(s.rows[k].id);
      networks.push_back(std::move(n));
    }
  if (networks.empty()) throw RenderError("--runs '" + o.runs + "': no network matches");
  if (o.lines) {  // refused where no network can have them, with why (by how many networks, most first)
    std::map<std::string, int> why;
    for (const GalleryNetwork& n : networks) {
      const Sweep& s = *n.sweep;
      ++why[lines_missing(files[size_t(&s - sweeps.data())].has_weight_snapshots(s.rows_index[n.k]), s.scene,
                          single_network_layout(s.rows[n.k].hidden_shape, s.inputs, s.shape[4]))];
    }
    if (!why.count("")) {
      std::vector<std::pair<int, std::string>> reasons;
      for (const auto& [reason, count] : why) reasons.push_back({-count, reason});
      std::sort(reasons.begin(), reasons.end());
      std::string text;
      for (const auto& [count, reason] : reasons)
        text += (text.empty() ? "" : "; ") + reason + " (" + std::to_string(-count) +
                (count == -1 ? " network)" : " networks)");
      throw RenderError("--lines: no network rendered from " + o.inputs[0] +
                        (o.inputs.size() > 1 ? " and the rest" : "") + " can have first-layer lines: " + text);
    }
  }

  // Render into a temporary directory; rename it into place at the end.
  fs::path out = fs::absolute(o.output).lexically_normal();
  if (out.filename().empty()) out = out.parent_path();  // "gallery/" names the directory gallery
  if (fs::is_symlink(fs::symlink_status(out)))          // the rename into place would replace the link, not its target
    throw RenderError(o.output + ": is a symbolic link; give the directory itself");
  const fs::path parent = out.parent_path();
  if (!fs::is_directory(parent))
    throw RenderError(o.output + ": the directory " + parent.string() + " does not exist (netsweep-render makes " +
                      "only the gallery's own directory)");
  if (fs::exists(out) && !fs::is_directory(out)) throw RenderError(o.output + ": exists and is not a directory");
  for (const auto& input : o.inputs) {  // the gallery replaces its directory whole, with whatever is in it
    const fs::path rel = fs::weakly_canonical(input).lexically_relative(fs::weakly_canonical(out));
    if (!rel.empty() && *rel.begin() != "..")
      throw RenderError(input + ": is inside " + o.output + ", which rendering replaces; move it out or render to " +
                        "another directory");
  }
  if (fs::exists(out) && !fs::exists(out / kMarker) && !fs::is_empty(out))
    throw RenderError(o.output + ": exists and is not a netsweep gallery; refusing to replace it");
  const StopSignals signals;
  // What killed renders left: a staging directory, or (where the swap takes two
  // renames) the gallery it was replacing.
  for (const std::string& gone : {out.string(), out.string() + ".old"})
    for (const std::string& line : clear_stale_partials(gone, true))
      std::fprintf(stderr, "netsweep-render: %s\n", one_line(line).c_str());
  StagingDir staging(partial_path(out.string()), o.output);
  const PartialLock staging_lock(staging.path().string());
  const fs::path& tmp = staging.path();

  std::vector<std::vector<int>> frames;  // per file
  for (const Sweep& s : sweeps) frames.push_back(frames_to_render(s.shape[1], o.frame_stride));
  std::vector<std::vector<float>> final_frames(networks.size());  // for the ensembles
  std::mutex file_mutex;                                          // one reader at a time
  std::atomic<size_t> next{0}, done{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto worker = [&] {
    for (size_t k; (k = next.fetch_add(1)) < networks.size();) {
      if (g_stop_signal) break;
      try {
        GalleryNetwork& n = networks[k];
        const Sweep& s = *n.sweep;
        const size_t file_index = size_t(&s - sweeps.data());
        const ResultsFile& file = files[file_index];
        const std::vector<int>& fr = frames[file_index];
        const NetworkRow& row = s.rows[n.k];
        const int index = s.rows_index[n.k];
        std::vector<std::vector<float>> values(size_t(s.shape[1]));
        InsideNetwork inside;
        {
          std::lock_guard<std::mutex> lock(file_mutex);
          n.result = file.network_result(index);
          for (int f : fr) values[size_t(f)] = file.frame(index, f);
          inside = read_inside(file, s, index, row, fr);
        }
        for (int f : fr) inside.fields.push_back(values[size_t(f)]);
        n.pictures = render_network(s, row, n.result, fr, values, inside, o, font, tmp / n.dir);
        final_frames[k] = values[size_t(fr.back())];
        const size_t d = done.fetch_add(1) + 1;
        if (!o.quiet && (d % 10 == 0 || d == networks.size()))
          std::fprintf(stderr, "netsweep-render: %zu/%zu networks\n", d, networks.size());
      } catch (...) {
        std::lock_guard<std::mutex> lock(failure_mutex);
        if (!failure) failure = std::current_exception();
        next = networks.size();
      }
    }
  };
  const int threads = o.threads > 0 ? o.threads : int(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  for (int t = 1; t < std::min<int>(threads, int(networks.size())); ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
  auto check_stop = [&] {
    if (const int sig = g_stop_signal)
      throw RenderInterrupted(std::string("stopped by ") + signal_name(sig) + "; " + o.output + " was left as it was",
                              128 + sig);
  };
  check_stop();

  // The answer at a glance: configurations (replicas grouped) and their pages.
  {
    SummaryOptions checked;
    checked.check_distinct = false;  // above, of the networks --runs selects
    const std::vector<NetworkSummary> summaries = summarize_networks(files, checked);
    std::vector<size_t> first_of_file(files.size() + 1, 0);
    for (size_t k = 0; k < files.size(); ++k) first_of_file[k + 1] = first_of_file[k] + files[k].networks().size();
    for (auto& n : networks) {
      const size_t file_index = size_t(n.sweep - sweeps.data());
      n.summary = summaries[first_of_file[file_index] + size_t(n.sweep->rows_index[n.k])];
    }
  }
  const std::vector<Configuration> configs = configurations(networks);
  for (size_t c = 0; c < configs.size(); ++c)
    if (configs[c].summary.count > 1) write_configuration(configs[c], c, networks, final_frames, font, tmp);
  std::vector<const Sweep*> sweep_list;
  for (const Sweep& s : sweeps) sweep_list.push_back(&s);
  write_index(sweep_list, networks, configs, o.inputs, tmp);
  for (const auto& n : networks) write_network_page(n, frames[size_t(n.sweep - sweeps.data())], tmp);
  std::string from;
  for (const auto& in : o.inputs) from += (from.empty() ? "" : " ") + in;
  write_text(tmp / kMarker, "netsweep-render gallery of " + from + "\n");
  check_stop();

  // Swap the finished gallery into place: in one step where the file system
  // can (never a moment without a gallery at OUTPUT; the old one is left in
  // the staging directory, removed as it goes), else in two renames.
  if (!fs::exists(out)) {
    fs::rename(tmp, out);
    staging.committed();
  } else if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, out.c_str(), RENAME_EXCHANGE) != 0) {
    const fs::path old = partial_path(out.string() + ".old");
    fs::rename(out, old);
    fs::rename(tmp, out);
    staging.committed();
    fs::remove_all(old);
  }
  if (!o.quiet) {
    // Where to look, as a path and as a URL a terminal can open.
    std::error_code ec;
    const fs::path index = fs::path(o.output) / "index.html";
    const fs::path absolute = fs::absolute(index, ec);
    std::fprintf(stderr, "netsweep-render: %zu networks in %.1f s; open %s  (file://%s)\n", networks.size(),
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
                 one_line(index.string()).c_str(),
                 one_line((ec ? index : absolute.lexically_normal()).string()).c_str());
  }
}

}  // namespace netsweep::render
