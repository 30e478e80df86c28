// netsweep-render RESULTS.h5 -o gallery/ : frames, GIFs, loss plots and an HTML gallery.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <new>

#include "gallery.h"
#include "netsweep/stop_signals.h"
#include "netsweep/text.h"
#include "netsweep/version.h"

int main(int argc, char** argv) {
  netsweep::ignore_write_signals();  // a stop or an error still ends with its own line and status
  netsweep::render::RenderOptions o;
  CLI::App app{"netsweep-render: turn a netsweep results file into frames, GIFs, loss plots and an HTML gallery"};
  app.set_version_flag("--version", std::string("netsweep-render ") + netsweep::kVersion);
  app.add_option("results", o.inputs,
                 "results files written by netsweep run (or merge): one, or the parts of a sweep, shown together")
      ->required();
  app.add_option("-o,--output", o.output, "gallery directory (open OUTPUT/index.html)")->required();
  app.add_option("--colormap", o.colormap,
                 "seed (output 0 red, output 1 green), playground (orange-grey-blue) or viridis; "
                 "default seed for two-output binary files, else playground");
  app.add_flag("--discretize", o.discretize, "show only the predicted class");
  app.add_flag("--log-loss", o.log_loss, "loss plots on a log scale");
  app.add_flag("--lines", o.lines,
               "draw each first-layer unit's line w.x + b = 0 on the frames (networks whose parameters were recorded "
               "and whose first layer has at most 32 units)");
  app.add_flag("--axes", o.axes, "frames with tick marks and values on x and y");
  app.add_flag("!--no-points", o.points, "frames without the data points (a clean field)");
  app.add_flag("!--no-caption", o.caption, "frames without the epoch/loss/accuracy strip");
  app.add_option("--scale", o.scale, "pixels per grid point (0 = automatic: frames about 256 px wide)")
      ->capture_default_str();
  app.add_option("--frame-stride", o.frame_stride, "render every k-th frame (the last always)")->capture_default_str();
  app.add_option("--gif-delay", o.gif_delay, "GIF frame delay in 1/100 s")->capture_default_str();
  app.add_option("--runs", o.runs, "only networks matching key=value[|value],... e.g. activation=relu,layers=3");
  app.add_option("--font", o.font, "TrueType or OpenType font (default: $NETSWEEP_FONT or DejaVu Sans)");
  app.add_option("--threads", o.threads, "threads (0 = all cores)")->capture_default_str();
  app.add_flag("-q,--quiet", o.quiet, "no progress output");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "netsweep-render: error: %s (see --help)\n",
                 netsweep::one_line(netsweep::plain_cli_error(e.what())).c_str());
    return 2;
  }
  try {
    netsweep::render::render_gallery(o);
  } catch (const netsweep::render::RenderInterrupted& e) {
    std::fprintf(stderr, "netsweep-render: %s\n", e.what());
    return e.code;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr,
                 "netsweep-render: error: out of memory (this machine's, or a limit on this process: "
                 "ulimit -v, a job's or container's memory); try --threads 1 or a smaller --scale\n");
    return 2;
  } catch (const std::exception& e) {
    // One line whatever a path or value it quotes holds (a newline, a NUL).
    std::fprintf(stderr, "netsweep-render: error: %s\n", netsweep::one_line(e.what()).c_str());
    return 2;
  }
  return 0;
}
