#include "provider/tf/decimal.h"

#include <cstdlib>
#include <cstring>
#include <limits>
#include <vector>

namespace arnica::tf {
namespace {

// Exponents beyond this are rejected by Parse. The host keeps numbers as Go big.Floats, whose
// binary exponent is an int32: about 10^646456992 at most. A number past that, handed back to
// the host, fails there with "number is required", so it is refused here, with a margin.
constexpr int64_t kMaxExponent = 600'000'000;
// Plain notation is used while it needs at most this many zeros beyond the significant digits.
constexpr int64_t kMaxPlainZeros = 30;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    if (x != b[i]) return false;
  }
  return true;
}

// A non-negative integer in little-endian base-10^9 limbs; just enough arithmetic to expand a
// double's binary mantissa and exponent into exact decimal digits.
class BigNatural {
 public:
  explicit BigNatural(uint64_t value) {
    do {
      limbs_.push_back(static_cast<uint32_t>(value % kBase));
      value /= kBase;
    } while (value != 0);
  }

  void Multiply(uint32_t factor) {
    uint64_t carry = 0;
    for (uint32_t& limb : limbs_) {
      uint64_t product = uint64_t{limb} * factor + carry;
      limb = static_cast<uint32_t>(product % kBase);
      carry = product / kBase;
    }
    while (carry != 0) {
      limbs_.push_back(static_cast<uint32_t>(carry % kBase));
      carry /= kBase;
    }
  }

  // Multiplies by base^exponent in chunks of base^chunk, where base^chunk fits in 32 bits.
  void MultiplyByPower(uint32_t base, int exponent, int chunk) {
    uint32_t chunk_factor = 1;
    for (int i = 0; i < chunk; ++i) chunk_factor *= base;
    for (; exponent >= chunk; exponent -= chunk) Multiply(chunk_factor);
    uint32_t rest = 1;
    for (int i = 0; i < exponent; ++i) rest *= base;
    Multiply(rest);
  }

  std::string ToString() const {
    std::string out = std::to_string(limbs_.back());
    for (size_t i = limbs_.size() - 1; i-- > 0;) {
      std::string part = std::to_string(limbs_[i]);
      out.append(9 - part.size(), '0');
      out += part;
    }
    return out;
  }

 private:
  static constexpr uint64_t kBase = 1'000'000'000;
  std::vector<uint32_t> limbs_;
};

}  // namespace

std::optional<Decimal> Decimal::Parse(std::string_view text) {
  size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
    negative = text[i] == '-';
    ++i;
  }
  std::string_view rest = text.substr(i);
  if (EqualsIgnoreCase(rest, "inf") || EqualsIgnoreCase(rest, "infinity")) {
    return Infinity(negative);
  }

  Decimal result;
  size_t fraction_digits = 0;
  bool any_digit = false;
  for (; i < text.size() && IsDigit(text[i]); ++i) {
    result.digits_ += text[i];
    any_digit = true;
  }
  if (i < text.size() && text[i] == '.') {
    for (++i; i < text.size() && IsDigit(text[i]); ++i) {
      result.digits_ += text[i];
      ++fraction_digits;
      any_digit = true;
    }
  }
  if (!any_digit) return std::nullopt;

  int64_t exponent = 0;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool negative_exponent = false;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
      negative_exponent = text[i] == '-';
      ++i;
    }
    if (i >= text.size() || !IsDigit(text[i])) return std::nullopt;
    for (; i < text.size() && IsDigit(text[i]); ++i) {
      exponent = exponent * 10 + (text[i] - '0');
      if (exponent > kMaxExponent) return std::nullopt;
    }
    if (negative_exponent) exponent = -exponent;
  }
  if (i != text.size()) return std::nullopt;
  if (fraction_digits > static_cast<size_t>(kMaxExponent)) return std::nullopt;

  result.negative_ = negative;
  result.exponent_ = exponent - static_cast<int64_t>(fraction_digits);
  result.Normalize();
  return result;
}

Decimal Decimal::FromInt(int64_t value) {
  // Negate in unsigned arithmetic so that INT64_MIN does not overflow.
  uint64_t magnitude = value < 0 ? 0 - static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
  Decimal result = FromUint(magnitude);
  result.negative_ = value < 0;
  return result;
}

Decimal Decimal::FromUint(uint64_t value) {
  Decimal result;
  result.digits_ = std::to_string(value);
  result.Normalize();
  return result;
}

std::optional<Decimal> Decimal::FromDouble(double value) {
  uint64_t bits;
  static_assert(sizeof(bits) == sizeof(value));
  std::memcpy(&bits, &value, sizeof(bits));
  bool negative = (bits >> 63) != 0;
  int biased_exponent = static_cast<int>((bits >> 52) & 0x7ff);
  uint64_t fraction = bits & ((uint64_t{1} << 52) - 1);

  if (biased_exponent == 0x7ff) {
    if (fraction != 0) return std::nullopt;  // NaN
    return Infinity(negative);
  }
  if (biased_exponent == 0 && fraction == 0) return Decimal();  // both zeros

  // value = mantissa * 2^exponent2, with subnormals lacking the implicit leading bit.
  uint64_t mantissa = biased_exponent == 0 ? fraction : fraction | (uint64_t{1} << 52);
  int exponent2 = biased_exponent == 0 ? -1074 : biased_exponent - 1075;
  while ((mantissa & 1) == 0) {
    mantissa >>= 1;
    ++exponent2;
  }

  BigNatural digits(mantissa);
  int64_t exponent10 = 0;
  if (exponent2 > 0) {
    digits.MultiplyByPower(2, exponent2, 31);
  } else if (exponent2 < 0) {
    // m * 2^-k == m * 5^k * 10^-k, which keeps everything an integer.
    digits.MultiplyByPower(5, -exponent2, 13);
    exponent10 = exponent2;
  }

  Decimal result;
  result.negative_ = negative;
  result.digits_ = digits.ToString();
  result.exponent_ = exponent10;
  result.Normalize();
  return result;
}

Decimal Decimal::Infinity(bool negative) {
  Decimal result;
  result.infinite_ = true;
  result.negative_ = negative;
  return result;
}

bool Decimal::is_integer() const { return !infinite_ && exponent_ >= 0; }

void Decimal::Normalize() {
  size_t first = digits_.find_first_not_of('0');
  if (first == std::string::npos) {
    digits_.clear();
    exponent_ = 0;
    negative_ = false;
    return;
  }
  digits_.erase(0, first);
  size_t last = digits_.find_last_not_of('0');
  exponent_ += static_cast<int64_t>(digits_.size() - 1 - last);
  digits_.resize(last + 1);
}

std::string Decimal::ToString() const {
  if (infinite_) return negative_ ? "-Inf" : "+Inf";
  if (is_zero()) return "0";

  std::string out = negative_ ? "-" : "";
  const int64_t count = static_cast<int64_t>(digits_.size());
  // Digits before the decimal point; zero or negative when the value is below 1.
  const int64_t point = count + exponent_;
  if (exponent_ >= 0 && exponent_ <= kMaxPlainZeros) {
    out += digits_;
    out.append(static_cast<size_t>(exponent_), '0');
  } else if (exponent_ < 0 && point > 0) {
    out.append(digits_, 0, static_cast<size_t>(point));
    out += '.';
    out.append(digits_, static_cast<size_t>(point));
  } else if (exponent_ < 0 && -point <= kMaxPlainZeros) {
    out += "0.";
    out.append(static_cast<size_t>(-point), '0');
    out += digits_;
  } else {
    out += digits_[0];
    if (count > 1) {
      out += '.';
      out.append(digits_, 1);
    }
    int64_t scientific = point - 1;
    out += scientific < 0 ? "e-" : "e+";
    out += std::to_string(scientific < 0 ? -scientific : scientific);
  }
  return out;
}

std::optional<int64_t> Decimal::ToInt64() const {
  if (infinite_) return std::nullopt;
  if (is_zero()) return 0;
  if (exponent_ < 0) return std::nullopt;
  // int64 has at most 19 digits; checking first keeps the accumulation below from overflowing.
  if (static_cast<int64_t>(digits_.size()) + exponent_ > 19) return std::nullopt;
  uint64_t magnitude = 0;
  for (char c : digits_) magnitude = magnitude * 10 + static_cast<uint64_t>(c - '0');
  for (int64_t i = 0; i < exponent_; ++i) magnitude *= 10;
  constexpr uint64_t kMaxPositive = std::numeric_limits<int64_t>::max();
  if (negative_) {
    if (magnitude > kMaxPositive + 1) return std::nullopt;
    return static_cast<int64_t>(0 - magnitude);
  }
  if (magnitude > kMaxPositive) return std::nullopt;
  return static_cast<int64_t>(magnitude);
}

double Decimal::ToDouble() const {
  if (infinite_) {
    return negative_ ? -std::numeric_limits<double>::infinity()
                     : std::numeric_limits<double>::infinity();
  }
  if (is_zero()) return 0.0;
  // strtod rounds correctly; the text has no decimal point, so the locale cannot interfere.
  std::string text = (negative_ ? "-" : "") + digits_ + "e" + std::to_string(exponent_);
  return std::strtod(text.c_str(), nullptr);
}

std::strong_ordering operator<=>(const Decimal& a, const Decimal& b) {
  auto rank = [](const Decimal& d) {
    if (d.infinite_) return d.negative_ ? -2 : 2;
    if (d.is_zero()) return 0;
    return d.negative_ ? -1 : 1;
  };
  int rank_a = rank(a);
  int rank_b = rank(b);
  if (rank_a != rank_b) return rank_a <=> rank_b;
  if (rank_a != 1 && rank_a != -1) return std::strong_ordering::equal;

  // Same sign, both finite and non-zero: compare magnitudes by the position of the leading digit,
  // then digit by digit (normalised digit strings compare correctly as text).
  std::strong_ordering magnitude = std::strong_ordering::equal;
  int64_t lead_a = static_cast<int64_t>(a.digits_.size()) + a.exponent_;
  int64_t lead_b = static_cast<int64_t>(b.digits_.size()) + b.exponent_;
  if (lead_a != lead_b) {
    magnitude = lead_a <=> lead_b;
  } else {
    int compared = a.digits_.compare(b.digits_);
    magnitude = compared <=> 0;
  }
  if (rank_a < 0) return 0 <=> magnitude;  // NOLINT(modernize-use-nullptr): inverts an ordering
  return magnitude;
}

}  // namespace arnica::tf
