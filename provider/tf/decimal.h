// Exact decimal numbers for the host's `number` type.
//
// The host parses numbers at high precision and sends any value that is not exactly an int64 or
// a float64 as a decimal string. A provider that turned those into `double` would hand back a
// different number and fail the host's plan checks, so numbers stay exact here: a sign, a digit
// string and a power-of-ten exponent, or an infinity.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace arnica::tf {

class Decimal {
 public:
  // Zero.
  Decimal() = default;

  // Parses "12", "-0.1", "1e400", "2.5E-3", "+7", "Infinity", "-Infinity". Returns nullopt for
  // anything else (empty, "NaN", stray characters, a bare ".").
  static std::optional<Decimal> Parse(std::string_view text);
  static Decimal FromInt(int64_t value);
  static Decimal FromUint(uint64_t value);
  // The exact value of a binary double (0.1 becomes 0.1000000000000000055511151231257827...).
  // NaN is not a number the host can carry; it yields nullopt.
  static std::optional<Decimal> FromDouble(double value);
  static Decimal Infinity(bool negative);

  bool is_zero() const { return digits_.empty() && !infinite_; }
  bool is_negative() const { return negative_; }
  bool is_infinite() const { return infinite_; }
  bool is_integer() const;

  // Plain notation ("0.001", "1200") while the exponent stays small; "1e+400" style beyond that,
  // which the host parses back to the same value. Infinities render as "+Inf"/"-Inf" for display
  // only; codecs handle them separately.
  std::string ToString() const;
  // The exact int64, if the value is an integer in range.
  std::optional<int64_t> ToInt64() const;
  // The nearest double (for display and comparisons that tolerate rounding only).
  double ToDouble() const;

  friend bool operator==(const Decimal&, const Decimal&) = default;
  friend std::strong_ordering operator<=>(const Decimal& a, const Decimal& b);

 private:
  // Restores the invariant below after digits_ or exponent_ were set directly.
  void Normalize();

  // Normalised: no leading or trailing zeros in digits_; zero has empty digits_, exponent_ 0 and
  // negative_ false. Value = (-1)^negative_ * digits_ * 10^exponent_.
  bool negative_ = false;
  bool infinite_ = false;
  std::string digits_;
  int64_t exponent_ = 0;
};

}  // namespace arnica::tf
