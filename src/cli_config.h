// `--config FILE`: run options from a TOML file, read strictly. TOML syntax
// errors (unterminated strings or arrays, duplicate keys, a bare `=`), keys
// that are no run option, and values of the wrong type (`epochs = "2"`) are
// errors naming the file, line and key; the file must be a regular file of at
// most 1 MiB (not /dev/zero, not a FIFO). Parsed with toml++ (Debian's
// libtomlplusplus-dev), handed to CLI11 as config items so that options on
// the command line still win over the file.
#pragma once

#include <CLI/CLI.hpp>
#include <map>
#include <string>
#include <vector>

namespace netsweep {

// What a config key must hold: the kind of its option's values, and whether
// the option takes a list (a list or a single value may be given).
struct ConfigKey {
  enum Kind { integer, unsigned_integer, number, text, boolean } kind = text;
  bool list = false;
  bool nested = false;  // a list of lists: each inner list one occurrence (e.g. features)
};
using ConfigKeys = std::map<std::string, ConfigKey>;

constexpr size_t kMaxConfigBytes = size_t(1) << 20;

// The keys of a subcommand's long options (without dashes), from their
// types; `nested`: the options that take a list of lists.
ConfigKeys config_keys(const CLI::App& command, const std::vector<std::string>& nested = {});
// The TOML text into CLI11 config items under `section` (e.g. "run"); throws
// CLI::ConfigError naming `where` and the problem.
std::vector<CLI::ConfigItem> parse_config_toml(const std::string& text, const ConfigKeys& keys,
                                               const std::string& section, const std::string& where);
// Refuses (CLI::ConfigError) a --config path that is not a regular file of at most kMaxConfigBytes.
void check_config_file(const std::string& path);
// The --config path in argv, if any ("" if none).
std::string config_path_in(int argc, char** argv);

class StrictTomlConfig : public CLI::Config {
 public:
  StrictTomlConfig(ConfigKeys keys, std::string section, std::string path)
      : keys_(std::move(keys)), section_(std::move(section)), path_(std::move(path)) {}
  std::string to_config(const CLI::App*, bool, bool, std::string) const override;
  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override;

 private:
  ConfigKeys keys_;
  std::string section_, path_;
};

}  // namespace netsweep
