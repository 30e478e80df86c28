// `netsweep run --config FILE`: the file parsed as main.cpp parses it (the
// same CLI11 app, the strict TOML reader with `run`'s real keys), then the
// options resolved, the spec made and checked, and generator data made when
// it is small -- everything `run` does before training.
#include <cstdlib>

#include "cli_config.h"
#include "cli_run.h"
#include "fuzz_util.h"

using namespace netsweep;

namespace {

// Generators only, and only small ones (files named in a config are the
// other harnesses' business; a 10-million-point generator is merely slow).
bool small_generated_data(const DataOptions& d) {
  if (!d.points.empty() || !d.csv.empty() || d.generator.n_points > 2000) return false;
  for (const auto& g : d.datasets) {
    const auto n = g.find("n=");
    if (n != std::string::npos && std::strtod(g.c_str() + n + 2, nullptr) > 2000) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = fuzz::scratch_dir() + "/sweep.toml";
  fuzz::write_bytes(path, data, size);

  CLI::App app{"netsweep"};
  app.require_subcommand(1);
  CliRun c;
  std::vector<CLI::Option*> spec_options;
  CLI::App* run = app.add_subcommand("run", "train a sweep");
  add_run_options(*run, c, spec_options);
  add_checkpoint_options(*run, c);
  add_run_config(app, *run, path);
  std::string argv_path = path;
  char* argv[] = {const_cast<char*>("netsweep"), const_cast<char*>("run"), const_cast<char*>("--config"),
                  argv_path.data(), nullptr};
  try {
    check_config_file(path);
    app.parse(4, argv);
    resolve_run_options(c, 4, argv, *run);
    const SweepSpec s = make_spec(c);
    s.validate();
    if (!small_generated_data(c.data)) {
      fuzz::check_spec(s);
      return 0;
    }
    const Dataset d = load_data(c.data);
    validate_dataset(d, "fuzz");
    fuzz::check_spec(s, &d);
  } catch (const std::exception& e) {
    fuzz::refused(e);
  }
  return 0;
}
