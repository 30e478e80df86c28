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
