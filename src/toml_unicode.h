// toml++ 3.3 (Debian 12) asks whether a character is whitespace through a
// generated table that reaches an unreachable branch -- undefined behaviour --
// for some non-ASCII code points (marzer/tomlplusplus#190 and #295, fixed
// upstream by #305 in 2026). Its parser asks that in many places: outside
// strings, across a bare value it reads ahead (`x = 1"é"`), after a backslash
// in a multi-line string (fuzz_config found all three). Rather than predict
// where it asks, netsweep hands it none of those code points: each is moved to
// the supplementary private use plane (U+F0000 + c), which toml++ classifies
// correctly, and moved back in every string taken from the parse and in its
// messages.
#pragma once

#include <string>
#include <string_view>

namespace netsweep::toml_unicode {

constexpr char32_t kMovedBy = 0xF0000;

// Whether toml++ 3.3's whitespace test is undefined for `c`: U+00A1..U+0499,
// U+2C5E..U+3057 but U+3000, U+FB26..U+FEFE (the table's blocks without an
// answer, each 0x3FA code points from U+00A0).
constexpr bool unclassifiable(char32_t c) {
  return (c >= 0xA1 && c <= 0x499) || (c >= 0x2C5E && c <= 0x3057 && c != 0x3000) || (c >= 0xFB26 && c <= 0xFEFE);
}

// `text` with every unclassifiable code point moved, for toml++. Throws
// CLI::ConfigError naming `where`, line and column if the text already holds
// a character of plane 15 (U+F0000..U+FFFFF), or the text of an escape of a
// moved one (`\U000F00E9`, wherever it stands: also in a comment, or after an
// escaped backslash): such characters would come back as other ones.
std::string moved(const std::string& text, const std::string& where);

// A string or key toml++ gives back, with moved code points restored.
std::string restored(std::string_view text);
// One of toml++'s messages: moved code points restored, also where it wrote
// one as an escape (`\U000F00E9` becomes `\u00E9`).
std::string restored_message(std::string_view text);

}  // namespace netsweep::toml_unicode
