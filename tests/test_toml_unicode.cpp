// The config reader's way around toml++ 3.3's unclassifiable code points
// (src/toml_unicode.h). Under the sanitizer build (tests/run_sanitizers.sh:
// UBSan, no recovery) these tests also show that toml++ is never handed one.
#include <gtest/gtest.h>
#include <toml++/toml.h>

#include <string>

#include "cli_config.h"
#include "toml_unicode.h"

using namespace netsweep;
namespace tu = netsweep::toml_unicode;

namespace {

std::string utf8(char32_t c) {
  std::string s;
  if (c < 0x80) {
    s += char(c);
  } else if (c < 0x800) {
    s += {char(0xC0 | c >> 6), char(0x80 | (c & 0x3F))};
  } else if (c < 0x10000) {
    s += {char(0xE0 | c >> 12), char(0x80 | (c >> 6 & 0x3F)), char(0x80 | (c & 0x3F))};
  } else {
    s += {char(0xF0 | c >> 18), char(0x80 | (c >> 12 & 0x3F)), char(0x80 | (c >> 6 & 0x3F)), char(0x80 | (c & 0x3F))};
  }
  return s;
}

bool is_scalar(char32_t c) { return c < 0xD800 || (c > 0xDFFF && c <= 0x10FFFF); }

// The horizontal whitespace TOML++ knows beyond ASCII (its generated table's answers).
bool unicode_space(char32_t c) {
  return c == 0xA0 || c == 0x1680 || c == 0x180E || (c >= 0x2000 && c <= 0x200B) || c == 0x202F || c == 0x205F ||
         c == 0x2060 || c == 0x3000 || c == 0xFEFF;
}

std::string first_input(const std::string& text, const std::string& key = "device") {
  ConfigKeys keys;
  keys[key] = ConfigKey{ConfigKey::text};
  const auto items = parse_config_toml(text, keys, "run", "t.toml");
  return items.at(0).inputs.at(0);
}

}  // namespace

TEST(TomlUnicode, TomlIsAskedOnlyAboutCodePointsItCanClassify) {
  // Every code point the reader hands toml++ gets an answer from its table,
  // and the right one (an unclassifiable one here would be undefined behaviour,
  // which the sanitizer build stops at).
  int moved = 0;
  for (char32_t c = 0x80; c <= 0x10FFFF; ++c) {
    if (!is_scalar(c)) continue;
    if (tu::unclassifiable(c)) {
      ++moved;
      continue;
    }
    ASSERT_EQ(toml::impl::is_non_ascii_horizontal_whitespace(c), unicode_space(c)) << std::hex << unsigned(c);
  }
  EXPECT_EQ(moved, (0x499 - 0xA1 + 1) + (0x3057 - 0x2C5E + 1 - 1) + (0xFEFE - 0xFB26 + 1));
  // Moved code points land where toml++ answers: beyond U+FEFF.
  EXPECT_FALSE(toml::impl::is_non_ascii_horizontal_whitespace(tu::kMovedBy + 0xA1));
}

TEST(TomlUnicode, EveryCodePointComesBackAsWritten) {
  for (char32_t c = 0x80; c <= 0x10FFFF; ++c) {
    if (!is_scalar(c) || (c >= tu::kMovedBy && c <= tu::kMovedBy + 0xFFFF)) continue;
    const std::string text = "a" + utf8(c) + "b";
    const std::string moved = tu::moved(text, "t.toml");
    ASSERT_EQ(moved, tu::unclassifiable(c) ? "a" + utf8(c + tu::kMovedBy) + "b" : text) << std::hex << unsigned(c);
    ASSERT_EQ(tu::restored(moved), text) << std::hex << unsigned(c);
  }
  // toml++ writes a non-ASCII character of a message as an escape; a string's text is left alone.
  EXPECT_EQ(tu::restored_message("saw '\\U000F00E9'"), "saw '\\u00E9'");
  EXPECT_EQ(tu::restored_message("saw '\\U000F3000'"), "saw '\\U000F3000'");  // U+3000 is never moved
  EXPECT_EQ(tu::restored("\\U000F00E9"), "\\U000F00E9");
  EXPECT_EQ(first_input("device = \"\\u005CU000F00E9\"\n"), "\\U000F00E9");  // an escaped backslash, then text
  // Bytes that are no UTF-8 pass through both ways (toml++ refuses them).
  EXPECT_EQ(tu::moved("\xC3(\xFF\xED\xA0\x80", "t.toml"), "\xC3(\xFF\xED\xA0\x80");
  EXPECT_EQ(tu::restored("\xC3(\xFF"), "\xC3(\xFF");
}

TEST(TomlUnicode, PlaneFifteenIsRefusedWhereItIs) {
  // Written or escaped, it would come back as another character: refused, with its place.
  for (const auto& [text, where] : std::vector<std::pair<std::string, std::string>>{
           {"epochs = 1\ndevice = \"x" + utf8(0xF00E9) + "\"\n", "t.toml:2:12: "},
           {"device = \"\\U000F00E9\"\n", "t.toml:1:11: "},
           {"device = \"\\U000f2D2e\"\n", "t.toml:1:11: "},
           {"\xEF\xBB\xBF"
            "device = \"" +
                utf8(0xF00E9) + "\"\n",
            "t.toml:1:11: "}}) {  // after a byte order mark
    try {
      first_input(text);
      ADD_FAILURE() << text;
    } catch (const CLI::ConfigError& e) {
      EXPECT_EQ(std::string(e.what()).rfind(where + "characters of Unicode's private use plane 15", 0), 0u) << e.what();
    }
  }
  // Other private use planes and escapes of moved-looking values elsewhere are fine.
  EXPECT_EQ(first_input("device = \"" + utf8(0x100000) + "\\U000E00E9\"\n"), utf8(0x100000) + utf8(0xE00E9));
}

TEST(TomlUnicode, StringsKeepTheirCharacters) {
  EXPECT_EQ(first_input("device = \"r\xC3\xA9seau \xE3\x80\x81 \xEF\xBC\x81\"\n"),
            "r\xC3\xA9seau \xE3\x80\x81 \xEF\xBC\x81");
  EXPECT_EQ(first_input("device = '\xC2\xA7'\n"), "\xC2\xA7");
  EXPECT_EQ(first_input("device = \"\\u00e9\"\n"), "\xC3\xA9");
  // marzer/tomlplusplus#190: a line-ending backslash, then an unclassifiable character.
  EXPECT_EQ(first_input("device = \"\"\"\\\n\xC2\xA7\"\"\"\n"), "\xC2\xA7");
  EXPECT_EQ(first_input("device = \"\"\"\\\n   \xC2\xA7 x\"\"\"\n"), "\xC2\xA7 x");
}

TEST(TomlUnicode, FuzzFindingsEndInOneError) {
  // Each reached toml++'s unreachable branch (fuzz_config; the last two are
  // marzer/tomlplusplus#295 and a value it reads ahead through a quote).
  for (const std::string text : {"a=1\"\xC2\xA1", "a=1=\"\xC2\xA1", "a=1979-05-27 1#\xC2\xA1", "\xCC\xAA",
                                 "x = 1\xEF\xAC\xB0", "[a.\xE2\xB1\x9E]"}) {
    EXPECT_THROW(first_input(text), CLI::ConfigError) << text;
  }
}

// An option given twice names the later place as the repeat and the earlier
// as the first, whatever order the table's keys are visited in (by name).
TEST(ConfigFile, AnOptionGivenTwiceNamesItsLinesInFileOrder) {
  ConfigKeys keys;
  keys["seeds"] = ConfigKey{ConfigKey::integer};
  keys["snapshot-every"] = ConfigKey{ConfigKey::integer};
  const auto message = [&](const std::string& text) {
    try {
      parse_config_toml(text, keys, "run", "r.toml");
    } catch (const CLI::ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message("\n\n\nseeds = 2\n\n[run]\nseeds = 3\n"),
            "r.toml:7:9: 'seeds' gives option --seeds again (first given at r.toml:4:9)");
  EXPECT_EQ(message("snapshot_every = 1\nsnapshot-every = 2\n"),
            "r.toml:2:18: 'snapshot-every' gives option --snapshot-every again (first given at r.toml:1:18)");
  EXPECT_EQ(message("snapshot-every = 1\nsnapshot_every = 2\n"),
            "r.toml:2:18: 'snapshot_every' gives option --snapshot-every again (first given at r.toml:1:18)");
}
