#include "cli_config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "toml_unicode.h"

namespace netsweep {
namespace {

const char* kind_name(ConfigKey::Kind k) {
  switch (k) {
    case ConfigKey::integer: return "an integer";
    case ConfigKey::unsigned_integer: return "an integer >= 0";
    case ConfigKey::number: return "a number";
    case ConfigKey::text: return "a string";
    case ConfigKey::boolean: return "true or false";
  }
  return "?";
}

std::string at(const std::string& where, const toml::source_region& r) {
  return where + ":" + std::to_string(r.begin.line) + ":" + std::to_string(r.begin.column);
}

// One TOML value as the option's text, if it is of the kind the option takes.
bool scalar_text(const toml::node& v, ConfigKey::Kind kind, std::string& out) {
  switch (kind) {
    case ConfigKey::integer:
    case ConfigKey::unsigned_integer:
      if (const auto* i = v.as_integer()) {
        if (kind == ConfigKey::unsigned_integer && i->get() < 0) return false;
        out = std::to_string(i->get());
        return true;
      }
      return false;
    case ConfigKey::number:
      if (const auto* i = v.as_integer()) {
        out = std::to_string(i->get());
        return true;
      }
      if (const auto* d = v.as_floating_point()) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.17g", d->get());
        out = buf;
        return true;
      }
      return false;
    case ConfigKey::text:
      if (const auto* s = v.as_string()) {
        out = toml_unicode::restored(s->get());
        return true;
      }
      return false;
    case ConfigKey::boolean:
      if (const auto* b = v.as_boolean()) {
        out = b->get() ? "true" : "false";
        return true;
      }
      return false;
  }
  return false;
}

}  // namespace

ConfigKeys config_keys(const CLI::App& command, const std::vector<std::string>& nested) {
  ConfigKeys keys;
  for (const CLI::Option* o : command.get_options()) {
    ConfigKey k;
    const std::string type = o->get_type_name();
    if (o->get_expected_max() == 0)  // a flag
      k.kind = ConfigKey::boolean;
    else if (type.find("UINT") != std::string::npos)
      k.kind = ConfigKey::unsigned_integer;
    else if (type.find("INT") != std::string::npos)
      k.kind = ConfigKey::integer;
    else if (type.find("FLOAT") != std::string::npos)
      k.kind = ConfigKey::number;
    else
      k.kind = ConfigKey::text;
    k.list = o->get_items_expected_max() > 1;
    for (const std::string& name : o->get_lnames()) {
      k.nested = std::find(nested.begin(), nested.end(), name) != nested.end();
      if (name != "help" && name != "config") keys[name] = k;
    }
  }
  return keys;
}

std::vector<CLI::ConfigItem> parse_config_toml(const std::string& text, const ConfigKeys& keys,
                                               const std::string& section, const std::string& where) {
  if (text.size() > kMaxConfigBytes) throw CLI::ConfigError(where + ": larger than 1 MiB; not a netsweep config");
  toml::table table;
  try {
    table = toml::parse(toml_unicode::moved(text, where), std::string_view(where));
  } catch (const toml::parse_error& e) {
    throw CLI::ConfigError(at(where, e.source()) + ": " + toml_unicode::restored_message(e.description()));
  }
  std::vector<CLI::ConfigItem> items;
  // Each option once: toml++ refuses a key written twice, but not the same option spelled
  // snapshot_every and snapshot-every, or given at the top level and under [section]
  // (CLI11 then kept one of the values and dropped the other without a word).
  // Option -> where and as what it was seen first; tables are visited in key order, not the file's.
  std::map<std::string, std::pair<toml::source_region, std::string>> seen;
  auto take = [&](const toml::key& key_node, const toml::node& value) {
    std::string key = toml_unicode::restored(key_node.str());
    auto it = keys.find(key);
    if (it == keys.end()) {  // snapshot_every for --snapshot-every
      std::string dashed = key;
      for (char& c : dashed) c = c == '_' ? '-' : c;
      it = keys.find(dashed);
      if (it != keys.end()) key = dashed;
    }
    const std::string here = at(where, value.source()) + ": '" + toml_unicode::restored(key_node.str()) + "'";
    if (it == keys.end()) throw CLI::ConfigError(here + " is not a " + section + " option");
    const std::string as_written = toml_unicode::restored(key_node.str());
    if (const auto [first, inserted] = seen.emplace(key, std::pair{value.source(), as_written}); !inserted) {
      const auto line_column = [](const toml::source_region& r) { return std::pair{r.begin.line, r.begin.column}; };
      const bool later = line_column(value.source()) > line_column(first->second.first);
      const toml::source_region& again = later ? value.source() : first->second.first;
      const std::string& again_as = later ? as_written : first->second.second;
      throw CLI::ConfigError(at(where, again) + ": '" + again_as + "' gives option --" + key +
                             " again (first given at " + at(where, later ? first->second.first : value.source()) + ")");
    }
    const ConfigKey& k = it->second;
    CLI::ConfigItem item;
    item.parents = {section};
    item.name = key;
    if (const auto* array = value.as_array()) {
      if (!k.list) throw CLI::ConfigError(here + " takes one value, not a list");
      const bool lists = k.nested && !array->empty() && array->front().is_array();
      for (const auto& element : *array) {
        std::string s;
        if (lists) {  // [["x1", "x2"], ["x1", "x2", "x1^2"]]: one occurrence each, separated as CLI11 does
          const auto* inner = element.as_array();
          if (!inner || inner->empty()) throw CLI::ConfigError(here + ": every element must be a non-empty list");
          if (!item.inputs.empty()) item.inputs.push_back("%%");
          for (const auto& e : *inner) {
            if (!scalar_text(e, k.kind, s))
              throw CLI::ConfigError(here + ": every element must be " + kind_name(k.kind));
            item.inputs.push_back(s);
          }
          continue;
        }
        if (!scalar_text(element, k.kind, s))
          throw CLI::ConfigError(here + ": every element must be " + kind_name(k.kind));
        item.inputs.push_back(s);
      }
      if (item.inputs.empty()) throw CLI::ConfigError(here + ": the list is empty");
    } else {
      std::string s;
      if (!scalar_text(value, k.kind, s))
        throw CLI::ConfigError(here + " must be " + kind_name(k.kind) + (k.list ? " or a list of them" : ""));
      item.inputs.push_back(s);
    }
    items.push_back(std::move(item));
  };
  for (const auto& [key, value] : table) {
    const auto* sub = value.as_table();
    if (!sub) {
      take(key, value);
      continue;
    }
    if (key.str() != section)
      throw CLI::ConfigError(at(where, value.source()) + ": section [" + toml_unicode::restored(key.str()) +
                             "] is not known (keys go at the top level, or under [" + section + "])");
    for (const auto& [sub_key, sub_value] : *sub) take(sub_key, sub_value);
  }
  return items;
}

void check_config_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw CLI::ConfigError("--config " + path + ": no such file");
  if (!std::filesystem::is_regular_file(path, ec)) throw CLI::ConfigError("--config " + path + ": not a regular file");
  if (std::filesystem::file_size(path, ec) > kMaxConfigBytes)
    throw CLI::ConfigError("--config " + path + ": larger than 1 MiB; not a netsweep config");
}

std::string config_path_in(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--config" && i + 1 < argc) return argv[i + 1];
    if (a.rfind("--config=", 0) == 0) return a.substr(9);
  }
  return "";
}

std::string StrictTomlConfig::to_config(const CLI::App*, bool, bool, std::string) const {
  throw CLI::ConfigError("writing config files is not supported");
}

std::vector<CLI::ConfigItem> StrictTomlConfig::from_config(std::istream& input) const {
  std::string text(kMaxConfigBytes + 1, '\0');
  input.read(text.data(), std::streamsize(text.size()));
  text.resize(size_t(input.gcount()));
  return parse_config_toml(text, keys_, section_, path_);
}

}  // namespace netsweep
