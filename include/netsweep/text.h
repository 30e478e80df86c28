// Text for messages and labels, shared by netsweep and netsweep-render (host only).
#pragma once

#include <cmath>
#include <cstdio>
#include <string>

namespace netsweep {

// Text from an input file or the command line, as a message may quote it:
// control bytes (a newline would split the one-line message, a NUL end it)
// as \xNN, at most `limit` bytes of it.
inline std::string printable(const std::string& text, size_t limit = 80) {
  std::string out;
  for (size_t i = 0; i < text.size() && i < limit; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != 0x7f) {
      out += char(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

// A whole message on one line, as the tools print an error: every control
// byte escaped (a path may hold a newline), nothing cut.
inline std::string one_line(const std::string& message) { return printable(message, std::string::npos); }

// CLI11's message for an option given twice, or given without its value, in
// plain words ("--epochs: At Most 1 required but received 2"); others as they are.
inline std::string plain_cli_error(const std::string& what) {
  const std::string twice = ": At Most 1 required but received ", needs = ": 1 required ", missing = " missing";
  const std::string convert = "Could not convert: ";  // "Could not convert: --epochs = 1e10"
  if (what.compare(0, convert.size(), convert) == 0) {
    const size_t eq = what.find(" = ", convert.size());
    if (eq != std::string::npos)
      return what.substr(convert.size(), eq - convert.size()) + ": '" + what.substr(eq + 3) +
             "' is not a number of the kind it takes, or out of its range";
  }
  if (const size_t at = what.find(twice); at != std::string::npos)
    return what.substr(0, at) + ": given " + what.substr(at + twice.size()) + " times; give it once";
  const size_t at = what.find(needs);
  if (at != std::string::npos && what.size() >= at + needs.size() + missing.size() &&
      what.compare(what.size() - missing.size(), missing.size(), missing) == 0)
    return what.substr(0, at) + ": its value (" +
           what.substr(at + needs.size(), what.size() - missing.size() - at - needs.size()) + ") is missing";
  return what;
}

// A number as printf writes it with `format` (%g: 0.95, 1e-05; inf, -inf);
// `missing`, when given, in place of a NaN (the CSV's "nan", a page's "–").
inline std::string format_number(double v, const char* format = "%g", const char* missing = nullptr) {
  if (missing && std::isnan(v)) return missing;
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";  // whatever the format (%.1f%% would say "inf%")
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

}  // namespace netsweep
