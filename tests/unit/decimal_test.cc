#include "provider/tf/decimal.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace arnica::tf {
namespace {

Decimal D(const std::string& text) {
  std::optional<Decimal> parsed = Decimal::Parse(text);
  EXPECT_TRUE(parsed.has_value()) << text;
  return parsed.value_or(Decimal());
}

TEST(DecimalTest, ParseAndPrintRoundTrip) {
  struct Case {
    std::string input;
    std::string printed;
  };
  const std::vector<Case> cases = {
      {"0", "0"},
      {"-0", "0"},
      {"+0.000", "0"},
      {"0.1", "0.1"},
      {"-0.1", "-0.1"},
      {"123.4500", "123.45"},
      {"00012", "12"},
      {"+7", "7"},
      {".5", "0.5"},
      {"5.", "5"},
      {"1200", "1200"},
      {"2.5E-3", "0.0025"},
      {"1e400", "1e+400"},
      {"-1e400", "-1e+400"},
      {"1.5e-400", "1.5e-400"},
      {"12345e-2", "123.45"},
      {"1e30", "1" + std::string(30, '0')},
      {"1e31", "1e+31"},
      {"1e-31", "0." + std::string(30, '0') + "1"},
      {"1e-32", "1e-32"},
      {"9223372036854775808", "9223372036854775808"},
  };
  for (const Case& c : cases) {
    Decimal parsed = D(c.input);
    EXPECT_EQ(parsed.ToString(), c.printed) << c.input;
    std::optional<Decimal> again = Decimal::Parse(parsed.ToString());
    ASSERT_TRUE(again.has_value()) << c.printed;
    EXPECT_EQ(*again, parsed) << c.printed;
  }
}

TEST(DecimalTest, NegativeZeroIsZero) {
  Decimal zero = D("-0");
  EXPECT_TRUE(zero.is_zero());
  EXPECT_FALSE(zero.is_negative());
  EXPECT_EQ(zero, Decimal());
  EXPECT_EQ(zero, Decimal::FromInt(0));
}

TEST(DecimalTest, ParseRejectsJunk) {
  for (const char* text : {"",    ".",  "-",    "+",   "NaN",       "nan", "-NaN",
                           "abc", "1e", "1e+",  "e5",  "--1",       "+-1", "1.2.3",
                           " 1",  "1 ", "0x10", "1,5", "Infinityx", "in",  "1e99999999999999999",
                           "1.5f"}) {
    EXPECT_FALSE(Decimal::Parse(text).has_value()) << '"' << text << '"';
  }
}

TEST(DecimalTest, ParseInfinities) {
  EXPECT_EQ(D("Infinity"), Decimal::Infinity(false));
  EXPECT_EQ(D("+Infinity"), Decimal::Infinity(false));
  EXPECT_EQ(D("-Infinity"), Decimal::Infinity(true));
  EXPECT_EQ(D("inf"), Decimal::Infinity(false));
  EXPECT_EQ(D("-INF"), Decimal::Infinity(true));
  EXPECT_TRUE(D("Infinity").is_infinite());
  EXPECT_EQ(Decimal::Infinity(false).ToString(), "+Inf");
  EXPECT_EQ(Decimal::Infinity(true).ToString(), "-Inf");
  // What ToString prints must parse back.
  EXPECT_EQ(D("+Inf"), Decimal::Infinity(false));
  EXPECT_EQ(D("-Inf"), Decimal::Infinity(true));
  EXPECT_NE(Decimal::Infinity(false), Decimal::Infinity(true));
}

TEST(DecimalTest, FromDoubleIsExact) {
  EXPECT_EQ(Decimal::FromDouble(0.1)->ToString(),
            "0.1000000000000000055511151231257827021181583404541015625");
  EXPECT_EQ(Decimal::FromDouble(0.5)->ToString(), "0.5");
  EXPECT_EQ(Decimal::FromDouble(-2.0)->ToString(), "-2");
  EXPECT_EQ(Decimal::FromDouble(1e22)->ToString(), "10000000000000000000000");
  EXPECT_EQ(Decimal::FromDouble(std::ldexp(1.0, 70))->ToString(), "1180591620717411303424");
  EXPECT_EQ(*Decimal::FromDouble(1.25), D("1.25"));
  EXPECT_NE(*Decimal::FromDouble(0.1), D("0.1"));
}

TEST(DecimalTest, FromDoubleExtremes) {
  // The smallest subnormal is 2^-1074: 751 significant digits.
  Decimal tiny = *Decimal::FromDouble(std::numeric_limits<double>::denorm_min());
  std::string text = tiny.ToString();
  EXPECT_EQ(text.rfind("4.940656458412465441765687928682213723650598026143247644255856825", 0), 0u)
      << text;
  EXPECT_EQ(text.substr(text.size() - 5), "e-324");
  EXPECT_EQ(text.size(), std::string("4.").size() + 750 + std::string("e-324").size());
  EXPECT_EQ(tiny.ToDouble(), std::numeric_limits<double>::denorm_min());

  Decimal max = *Decimal::FromDouble(std::numeric_limits<double>::max());
  EXPECT_TRUE(max.is_integer());
  EXPECT_EQ(max.ToString().size(), 309u);
  EXPECT_EQ(max.ToString().rfind("17976931348623157081452742373170435679", 0), 0u);
  EXPECT_EQ(max.ToDouble(), std::numeric_limits<double>::max());
}

TEST(DecimalTest, FromDoubleSpecialValues) {
  EXPECT_FALSE(Decimal::FromDouble(std::nan("")).has_value());
  EXPECT_EQ(*Decimal::FromDouble(std::numeric_limits<double>::infinity()),
            Decimal::Infinity(false));
  EXPECT_EQ(*Decimal::FromDouble(-std::numeric_limits<double>::infinity()),
            Decimal::Infinity(true));
  Decimal negative_zero = *Decimal::FromDouble(-0.0);
  EXPECT_TRUE(negative_zero.is_zero());
  EXPECT_FALSE(negative_zero.is_negative());
}

TEST(DecimalTest, FromDoubleRoundTripsThroughToDouble) {
  std::mt19937_64 random(42);
  for (int i = 0; i < 2000; ++i) {
    uint64_t bits = random();
    double value;
    std::memcpy(&value, &bits, sizeof(value));
    if (std::isnan(value)) continue;
    std::optional<Decimal> exact = Decimal::FromDouble(value);
    ASSERT_TRUE(exact.has_value());
    EXPECT_EQ(exact->ToDouble(), value) << exact->ToString();
    EXPECT_EQ(*Decimal::Parse(exact->ToString()), *exact);
  }
}

TEST(DecimalTest, Ordering) {
  // Strictly ascending.
  const std::vector<Decimal> ascending = {Decimal::Infinity(true),
                                          D("-1e400"),
                                          D("-2"),
                                          D("-1.5"),
                                          D("-0.1"),
                                          D("-1e-400"),
                                          D("0"),
                                          D("1e-400"),
                                          D("0.1"),
                                          D("0.10000001"),
                                          D("0.2"),
                                          D("1"),
                                          D("1.5"),
                                          D("2"),
                                          D("10"),
                                          D("99"),
                                          D("100"),
                                          D("1e400"),
                                          Decimal::Infinity(false)};
  for (size_t i = 0; i < ascending.size(); ++i) {
    EXPECT_TRUE(ascending[i] == ascending[i]);
    EXPECT_EQ(ascending[i] <=> ascending[i], std::strong_ordering::equal);
    for (size_t j = i + 1; j < ascending.size(); ++j) {
      EXPECT_LT(ascending[i], ascending[j])
          << ascending[i].ToString() << " vs " << ascending[j].ToString();
      EXPECT_GT(ascending[j], ascending[i]);
      EXPECT_NE(ascending[i], ascending[j]);
    }
  }
  EXPECT_EQ(D("1.0"), D("1"));
  EXPECT_EQ(D("100"), D("1e2"));
  EXPECT_EQ(D("0.10"), D("1e-1"));
}

TEST(DecimalTest, ToInt64Bounds) {
  EXPECT_EQ(D("9223372036854775807").ToInt64(), std::numeric_limits<int64_t>::max());
  EXPECT_FALSE(D("9223372036854775808").ToInt64().has_value());
  EXPECT_EQ(D("-9223372036854775808").ToInt64(), std::numeric_limits<int64_t>::min());
  EXPECT_FALSE(D("-9223372036854775809").ToInt64().has_value());
  EXPECT_EQ(D("0").ToInt64(), 0);
  EXPECT_EQ(D("-42").ToInt64(), -42);
  EXPECT_EQ(D("1e18").ToInt64(), int64_t{1'000'000'000'000'000'000});
  EXPECT_FALSE(D("1e19").ToInt64().has_value());
  EXPECT_FALSE(D("1e400").ToInt64().has_value());
  EXPECT_FALSE(D("1.5").ToInt64().has_value());
  EXPECT_FALSE(D("-0.5").ToInt64().has_value());
  EXPECT_FALSE(Decimal::Infinity(false).ToInt64().has_value());
}

TEST(DecimalTest, FromIntAndUint) {
  EXPECT_EQ(Decimal::FromInt(std::numeric_limits<int64_t>::min()).ToString(),
            "-9223372036854775808");
  EXPECT_EQ(Decimal::FromInt(std::numeric_limits<int64_t>::min()).ToInt64(),
            std::numeric_limits<int64_t>::min());
  EXPECT_EQ(Decimal::FromUint(std::numeric_limits<uint64_t>::max()).ToString(),
            "18446744073709551615");
  EXPECT_EQ(Decimal::FromInt(-1200), D("-1.2e3"));
  EXPECT_EQ(Decimal::FromUint(0), Decimal());
}

TEST(DecimalTest, IsInteger) {
  EXPECT_TRUE(D("0").is_integer());
  EXPECT_TRUE(D("1e3").is_integer());
  EXPECT_TRUE(D("100").is_integer());
  EXPECT_TRUE(D("-7.000").is_integer());
  EXPECT_TRUE(D("1e400").is_integer());
  EXPECT_FALSE(D("1.5").is_integer());
  EXPECT_FALSE(D("1e-400").is_integer());
  EXPECT_FALSE(Decimal::Infinity(false).is_integer());
}

TEST(DecimalTest, ToDouble) {
  EXPECT_EQ(D("0.1").ToDouble(), 0.1);
  EXPECT_EQ(D("-2.5").ToDouble(), -2.5);
  EXPECT_EQ(D("1e400").ToDouble(), std::numeric_limits<double>::infinity());
  EXPECT_EQ(D("-1e400").ToDouble(), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(D("1e-400").ToDouble(), 0.0);
  EXPECT_EQ(Decimal::Infinity(true).ToDouble(), -std::numeric_limits<double>::infinity());
}

TEST(DecimalTest, ExponentsBeyondWhatTheHostCanHoldAreRefused) {
  // Regression: "1e999999999999" parsed here, and the host could not read it back.
  EXPECT_TRUE(Decimal::Parse("1e600000000").has_value());
  EXPECT_FALSE(Decimal::Parse("1e600000001").has_value());
  EXPECT_FALSE(Decimal::Parse("1e999999999999").has_value());
  EXPECT_FALSE(Decimal::Parse("1e-999999999999").has_value());
}

}  // namespace
}  // namespace arnica::tf
