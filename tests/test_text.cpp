// The text helpers both tools' messages and labels go through (include/netsweep/text.h).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "netsweep/text.h"

using namespace netsweep;

TEST(Text, PrintableEscapesControlBytesKeepsUtf8AndCuts) {
  const std::string text = std::string("a\nb") + '\0' + "c\x7f\t\xc3\xa9";
  EXPECT_EQ(printable(text), "a\\x0ab\\x00c\\x7f\\x09\xc3\xa9");
  EXPECT_EQ(printable(std::string(100, 'x')).size(), 80u);
  EXPECT_EQ(printable("abcdef", 3), "abc");
}

TEST(Text, OneLineEscapesEveryLineBreakAndCutsNothing) {
  const std::string message = "/tmp/a\nb/x.h5: the directory /tmp/a\r\nb does not exist" + std::string(200, '.');
  const std::string line = one_line(message);
  EXPECT_EQ(line.find_first_of("\n\r"), std::string::npos);
  EXPECT_EQ(line, "/tmp/a\\x0ab/x.h5: the directory /tmp/a\\x0d\\x0ab does not exist" + std::string(200, '.'));
}

TEST(Text, FormatNumberAsPrintfWithAWordForMissing) {
  EXPECT_EQ(format_number(0.95), "0.95");
  EXPECT_EQ(format_number(1e-5), "1e-05");
  EXPECT_EQ(format_number(0.123456789, "%.4f"), "0.1235");
  EXPECT_EQ(format_number(std::numeric_limits<double>::infinity()), "inf");
  EXPECT_EQ(format_number(std::nan(""), "%.4f", "nan"), "nan");
  EXPECT_EQ(format_number(-std::numeric_limits<double>::infinity(), "%g", "–"), "-inf");  // overflowed, not missing
  EXPECT_EQ(format_number(std::numeric_limits<double>::infinity(), "%.1f%%", "–"), "inf");
  EXPECT_EQ(format_number(2.5, "%.1f", "–"), "2.5");
}

TEST(Text, PlainCliErrorRewordsTwiceAndMissingValues) {
  EXPECT_EQ(plain_cli_error("--epochs: At Most 1 required but received 2"), "--epochs: given 2 times; give it once");
  EXPECT_EQ(plain_cli_error("--output: 1 required TEXT missing"), "--output: its value (TEXT) is missing");
  EXPECT_EQ(plain_cli_error("--extent: 4 required FLOAT missing"), "--extent: 4 required FLOAT missing");
  EXPECT_EQ(plain_cli_error("files is required"), "files is required");
  EXPECT_EQ(plain_cli_error("-x: 1 required missing"), "-x: 1 required missing");  // too short: left as it is
  EXPECT_EQ(plain_cli_error("Could not convert: --epochs = 10000000000"),
            "--epochs: '10000000000' is not a number of the kind it takes, or out of its range");
  EXPECT_EQ(plain_cli_error("Could not convert: nothing to split"), "Could not convert: nothing to split");
}
