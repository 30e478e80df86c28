#include "toml_unicode.h"

#include <CLI/CLI.hpp>
#include <cstdio>

namespace netsweep::toml_unicode {
namespace {

// The code point of the well-formed UTF-8 sequence at text[i] and its length
// in bytes; length 0 if the bytes there are not one (toml++ refuses those).
char32_t decode(std::string_view text, size_t i, size_t& length) {
  const auto byte = [&](size_t k) { return i + k < text.size() ? static_cast<unsigned char>(text[i + k]) : 0u; };
  const auto continuation = [&](size_t k) { return (byte(k) & 0xC0) == 0x80; };
  const unsigned b0 = byte(0);
  length = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF && continuation(1)) {
    length = 2;
    return char32_t((b0 & 0x1F) << 6 | (byte(1) & 0x3F));
  }
  if (b0 >= 0xE0 && b0 <= 0xEF && continuation(1) && continuation(2)) {
    const char32_t c = (b0 & 0x0F) << 12 | (byte(1) & 0x3F) << 6 | (byte(2) & 0x3F);
    if (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF)) return 0;  // overlong, or a surrogate
    length = 3;
    return c;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4 && continuation(1) && continuation(2) && continuation(3)) {
    const char32_t c = (b0 & 0x07) << 18 | (byte(1) & 0x3F) << 12 | (byte(2) & 0x3F) << 6 | (byte(3) & 0x3F);
    if (c < 0x10000 || c > 0x10FFFF) return 0;
    length = 4;
    return c;
  }
  return 0;
}

void encode(char32_t c, std::string& out) {
  if (c < 0x80) {
    out += char(c);
  } else if (c < 0x800) {
    out += char(0xC0 | c >> 6);
    out += char(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += char(0xE0 | c >> 12);
    out += char(0x80 | (c >> 6 & 0x3F));
    out += char(0x80 | (c & 0x3F));
  } else {
    out += char(0xF0 | c >> 18);
    out += char(0x80 | (c >> 12 & 0x3F));
    out += char(0x80 | (c >> 6 & 0x3F));
    out += char(0x80 | (c & 0x3F));
  }
}

bool moved_code_point(char32_t c) { return c >= kMovedBy && unclassifiable(c - kMovedBy); }

// The `\U000F....` escape at text[i] (toml++'s and TOML's 8-digit form), if
// it names a moved code point: its value, else 0.
char32_t moved_escape(std::string_view text, size_t i) {
  if (text.compare(i, 2, "\\U") != 0 || i + 10 > text.size()) return 0;
  char32_t c = 0;
  for (size_t k = i + 2; k < i + 10; ++k) {
    const char h = text[k];
    const int digit = h >= '0' && h <= '9'   ? h - '0'
                      : h >= 'A' && h <= 'F' ? h - 'A' + 10
                      : h >= 'a' && h <= 'f' ? h - 'a' + 10
                                             : -1;
    if (digit < 0) return 0;
    c = c << 4 | char32_t(digit);
  }
  return moved_code_point(c) ? c : 0;
}

}  // namespace

std::string moved(const std::string& text, const std::string& where) {
  std::string out;
  out.reserve(text.size() + text.size() / 4);
  size_t line = 1, column = 1;
  const size_t bom = text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;  // toml++ skips it: no column
  out.append(text, 0, bom);
  for (size_t i = bom; i < text.size();) {
    size_t length;
    const char32_t c = decode(text, i, length);
    const bool plane15 = length > 0 && c >= kMovedBy && c <= kMovedBy + 0xFFFF;
    if (plane15 || moved_escape(text, i))
      throw CLI::ConfigError(where + ":" + std::to_string(line) + ":" + std::to_string(column) +
                             ": characters of Unicode's private use plane 15 (U+F0000..U+FFFFF), written or escaped, "
                             "are not taken in a netsweep config");
    if (length > 0 && unclassifiable(c)) {
      encode(c + kMovedBy, out);
    } else {
      if (length == 0) length = 1;  // ASCII, or a byte toml++ will refuse
      out.append(text, i, length);
    }
    i += length;
    ++column;
    if (text[i - length] == '\n') {
      ++line;
      column = 1;
    }
  }
  return out;
}

namespace {

std::string restore(std::string_view text, bool escapes) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    size_t length;
    const char32_t c = decode(text, i, length);
    if (length > 0 && moved_code_point(c)) {
      encode(c - kMovedBy, out);
      i += length;
    } else if (const char32_t e = escapes ? moved_escape(text, i) : 0) {
      char escape[8];
      std::snprintf(escape, sizeof escape, "\\u%04X", unsigned(e - kMovedBy));
      out += escape;
      i += 10;
    } else {
      out += text[i++];
    }
  }
  return out;
}

}  // namespace

std::string restored(std::string_view text) { return restore(text, false); }
std::string restored_message(std::string_view text) { return restore(text, true); }

}  // namespace netsweep::toml_unicode
