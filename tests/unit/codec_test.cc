#include "provider/tf/codec.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>

namespace arnica::tf {
namespace {

// "d4 00 00" -> bytes. Spaces are ignored.
std::string Hex(const std::string& text) {
  std::string out;
  int high = -1;
  for (char c : text) {
    if (c == ' ') continue;
    int nibble = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
    if (high < 0) {
      high = nibble;
    } else {
      out += static_cast<char>(high << 4 | nibble);
      high = -1;
    }
  }
  return out;
}

std::string ToHex(const std::string& bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    if (!out.empty()) out += ' ';
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

// Hex of the ASCII text, for readable expectations.
std::string HexOf(const std::string& text) { return ToHex(text); }

Decimal D(const std::string& text) { return *Decimal::Parse(text); }

Value Decoded(const std::string& bytes, const Type& type) {
  absl::StatusOr<Value> value = DecodeMsgpack(bytes, type);
  EXPECT_TRUE(value.ok()) << value.status();
  return value.value_or(Value());
}

std::string DecodeError(const std::string& bytes, const Type& type) {
  absl::StatusOr<Value> value = DecodeMsgpack(bytes, type);
  EXPECT_FALSE(value.ok()) << value->ToDebugString();
  if (value.ok()) return "";
  EXPECT_EQ(value.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(value.status().message());
}

// ---- msgpack: unknowns ------------------------------------------------------------------------

TEST(MsgpackTest, UnrefinedUnknownIsFixext1) {
  EXPECT_EQ(ToHex(EncodeMsgpack(Value::Unknown(Type::String()), Type::String())), "d4 00 00");
  EXPECT_EQ(ToHex(EncodeMsgpack(Value::Unknown(Type::Dynamic()), Type::Dynamic())), "d4 00 00");
  Value value = Decoded(Hex("d4 00 00"), Type::String());
  EXPECT_TRUE(value.is_unknown());
  EXPECT_TRUE(value.refinements().empty());
  EXPECT_EQ(value.type(), Type::String());
}

TEST(MsgpackTest, AnyExtensionIsUnknown) {
  EXPECT_TRUE(Decoded(Hex("d4 07 00"), Type::Number()).is_unknown());
  EXPECT_TRUE(Decoded(Hex("c7 00 05"), Type::Bool()).is_unknown());
  // A one-byte payload is the plain unknown even under code 12.
  Value value = Decoded(Hex("d4 0c 01"), Type::String());
  EXPECT_TRUE(value.is_unknown());
  EXPECT_TRUE(value.refinements().empty());
  // Other codes never carry refinements.
  value = Decoded(Hex("d6 07 82 01 c2 02"), Type::String());
  EXPECT_TRUE(value.is_unknown());
  EXPECT_TRUE(value.refinements().empty());
  // Unknown is checked before anything type-specific.
  EXPECT_TRUE(Decoded(Hex("d4 00 00"), Type::Object({{"a", Type::String()}})).is_unknown());
}

TEST(MsgpackTest, RefinedUnknownStringRoundTripsByteExact) {
  const std::string bytes = Hex("c7 07 0c 82 01 c2 02 a2 61 62");
  Value value = Decoded(bytes, Type::String());
  ASSERT_TRUE(value.is_unknown());
  EXPECT_EQ(value.refinements().nullable, false);
  EXPECT_EQ(value.refinements().string_prefix, "ab");
  EXPECT_FALSE(value.refinements().number_lower.has_value());
  EXPECT_EQ(ToHex(EncodeMsgpack(value, Type::String())), ToHex(bytes));
}

TEST(MsgpackTest, RefinedUnknownNumberBounds) {
  // {1: false, 3: [0, true], 4: ["1e+400", false]}
  const std::string payload = "83 01 c2 03 92 00 c3 04 92 a6 " + HexOf("1e+400") + " c2";
  const std::string bytes = "c7 11 0c " + payload;
  Value value = Decoded(Hex(bytes), Type::Number());
  ASSERT_TRUE(value.is_unknown());
  ASSERT_TRUE(value.refinements().number_lower.has_value());
  EXPECT_EQ(value.refinements().number_lower->first, Decimal());
  EXPECT_TRUE(value.refinements().number_lower->second);
  ASSERT_TRUE(value.refinements().number_upper.has_value());
  EXPECT_EQ(value.refinements().number_upper->first, D("1e400"));
  EXPECT_FALSE(value.refinements().number_upper->second);
  EXPECT_EQ(ToHex(EncodeMsgpack(value, Type::Number())), bytes);
}

TEST(MsgpackTest, RefinedUnknownCollectionLength) {
  const std::string bytes = "c7 05 0c 82 05 01 06 03";
  Type type = Type::List(Type::String());
  Value value = Decoded(Hex(bytes), type);
  EXPECT_EQ(value.refinements().length_lower, 1);
  EXPECT_EQ(value.refinements().length_upper, 3);
  EXPECT_EQ(ToHex(EncodeMsgpack(value, type)), bytes);
}

TEST(MsgpackTest, RefinementsIgnoreUnknownKeysAndMismatchedKinds) {
  // {9: "x", 1: false, 2: "ab"} on a number: key 9 is unknown, the prefix does not apply.
  Value value = Decoded(Hex("c7 0a 0c 83 09 a1 78 01 c2 02 a2 61 62"), Type::Number());
  ASSERT_TRUE(value.is_unknown());
  EXPECT_EQ(value.refinements().nullable, false);
  EXPECT_FALSE(value.refinements().string_prefix.has_value());
  EXPECT_EQ(ToHex(EncodeMsgpack(value, Type::Number())), "c7 03 0c 81 01 c2");
}

TEST(MsgpackTest, RefinementsOnDynamicAreDropped) {
  Value value = Decoded(Hex("c7 03 0c 81 01 c2"), Type::Dynamic());
  EXPECT_TRUE(value.is_unknown());
  EXPECT_TRUE(value.refinements().empty());
  Refinements not_null;
  not_null.nullable = false;
  EXPECT_EQ(ToHex(EncodeMsgpack(Value::Unknown(Type::Dynamic(), not_null), Type::Dynamic())),
            "d4 00 00");
}

TEST(MsgpackTest, MalformedRefinementsAreRejected) {
  // Payload larger than 1024 bytes.
  std::string oversize = Hex("c8 04 01 0c 81 02 da 03 fc") + std::string(1020, 'a');
  EXPECT_NE(DecodeError(oversize, Type::String()).find("oversize"), std::string::npos);
  // Payload that is not a map.
  EXPECT_FALSE(DecodeMsgpack(Hex("d5 0c 91 c0"), Type::String()).ok());
  // Payload that is not even msgpack.
  EXPECT_FALSE(DecodeMsgpack(Hex("d5 0c 82 01"), Type::String()).ok());
  // Nullness that is not a bool.
  EXPECT_FALSE(DecodeMsgpack(Hex("c7 03 0c 81 01 05"), Type::String()).ok());
}

// ---- msgpack: primitives ----------------------------------------------------------------------

TEST(MsgpackTest, String) {
  EXPECT_EQ(ToHex(EncodeMsgpack(Value::String("hi"), Type::String())), "a2 68 69");
  EXPECT_EQ(Decoded(Hex("a2 68 69"), Type::String()), Value::String("hi"));
  // bin decodes as a string too.
  EXPECT_EQ(Decoded(Hex("c4 02 68 69"), Type::String()), Value::String("hi"));
  EXPECT_NE(DecodeError(Hex("2a"), Type::String()).find("string is required"), std::string::npos);
}

TEST(MsgpackTest, Bool) {
  EXPECT_EQ(ToHex(EncodeMsgpack(Value::Bool(true), Type::Bool())), "c3");
  EXPECT_EQ(Decoded(Hex("c2"), Type::Bool()), Value::Bool(false));
  EXPECT_FALSE(DecodeMsgpack(Hex("a1 31"), Type::Bool()).ok());
}

TEST(MsgpackTest, NullOfAnyType) {
  EXPECT_EQ(ToHex(EncodeMsgpack(Value::Null(Type::String()), Type::String())), "c0");
  Type list = Type::List(Type::Number());
  EXPECT_EQ(Decoded(Hex("c0"), list), Value::Null(list));
  EXPECT_EQ(Decoded(Hex("c0"), Type::Dynamic()), Value::Null(Type::Dynamic()));
}

TEST(MsgpackTest, NumberEncoding) {
  auto encode = [](const std::string& number) {
    return ToHex(EncodeMsgpack(Value::Number(D(number)), Type::Number()));
  };
  EXPECT_EQ(encode("42"), "2a");
  EXPECT_EQ(encode("-1"), "ff");
  EXPECT_EQ(encode("1000"), "cd 03 e8");
  EXPECT_EQ(encode("0.5"), "cb 3f e0 00 00 00 00 00 00");
  // 0.1 is not a double; sending one would change the number.
  EXPECT_EQ(encode("0.1"), "a3 30 2e 31");
  EXPECT_EQ(encode("1e400"), "a6 " + HexOf("1e+400"));
  // Beyond int64 but exactly a double: still text, since the host reads float64 back at 53 bits
  // and would turn 2^63 into 9223372036854776000 (regression: it was sent as float64).
  EXPECT_EQ(encode("9223372036854775808"), "b3 " + HexOf("9223372036854775808"));
  EXPECT_EQ(encode("18446744073709551616"), "b4 " + HexOf("18446744073709551616"));
  // Non-negative ints take the unsigned forms, as the host's encoder also writes them.
  EXPECT_EQ(encode("9223372036854775807"), "cf 7f ff ff ff ff ff ff ff");
  EXPECT_EQ(encode("-9223372036854775808"), "d3 80 00 00 00 00 00 00 00");
  EXPECT_EQ(encode("1e20"), "b5 " + HexOf("100000000000000000000"));
  EXPECT_EQ(encode("-2.5"), "cb c0 04 00 00 00 00 00 00");
  EXPECT_EQ(ToHex(EncodeMsgpack(Value::Number(Decimal::Infinity(false)), Type::Number())),
            "cb 7f f0 00 00 00 00 00 00");
  EXPECT_EQ(ToHex(EncodeMsgpack(Value::Number(Decimal::Infinity(true)), Type::Number())),
            "cb ff f0 00 00 00 00 00 00");
}

TEST(MsgpackTest, NumberDecoding) {
  EXPECT_EQ(Decoded(Hex("2a"), Type::Number()).AsNumber(), D("42"));
  EXPECT_EQ(Decoded(Hex("d0 80"), Type::Number()).AsNumber(), D("-128"));
  EXPECT_EQ(Decoded(Hex("cf ff ff ff ff ff ff ff ff"), Type::Number()).AsNumber(),
            D("18446744073709551615"));
  EXPECT_EQ(Decoded(Hex("d3 80 00 00 00 00 00 00 00"), Type::Number()).AsNumber(),
            D("-9223372036854775808"));
  EXPECT_EQ(Decoded(Hex("ca 3f 00 00 00"), Type::Number()).AsNumber(), D("0.5"));
  // A float64 0.1 is the double nearest 0.1, taken exactly.
  EXPECT_EQ(Decoded(Hex("cb 3f b9 99 99 99 99 99 9a"), Type::Number()).AsNumber(),
            *Decimal::FromDouble(0.1));
  EXPECT_EQ(Decoded(Hex("cb 7f f0 00 00 00 00 00 00"), Type::Number()).AsNumber(),
            Decimal::Infinity(false));
  EXPECT_EQ(Decoded(Hex("a4 31 32 2e 35"), Type::Number()).AsNumber(), D("12.5"));
  EXPECT_NE(DecodeError(Hex("a3 61 62 63"), Type::Number()).find("not a valid number"),
            std::string::npos);
  EXPECT_NE(DecodeError(Hex("cb 7f f8 00 00 00 00 00 00"), Type::Number()).find("NaN"),
            std::string::npos);
  EXPECT_FALSE(DecodeMsgpack(Hex("c3"), Type::Number()).ok());
}

TEST(MsgpackTest, NumbersSurviveRoundTrip) {
  for (const char* text : {"0", "0.1", "1e400", "-1.5e-400", "123456789012345678901234567890",
                           "0.5", "-7", "3.14159265358979323846264338327950288"}) {
    Value value = Value::Number(D(text));
    EXPECT_EQ(Decoded(EncodeMsgpack(value, Type::Number()), Type::Number()), value) << text;
  }
}

// ---- msgpack: structures ----------------------------------------------------------------------

TEST(MsgpackTest, ObjectWritesEveryAttributeSorted) {
  Type type = Type::Object({{"b", Type::String()}, {"a", Type::String()}});
  Value value = Value::Object(type, {{"a", Value::String("x")}});
  const std::string expected = "82 a1 61 a1 78 a1 62 c0";
  EXPECT_EQ(ToHex(EncodeMsgpack(value, type)), expected);
  EXPECT_EQ(Decoded(Hex(expected), type), value);
  // Key order on the wire does not matter when decoding.
  EXPECT_EQ(Decoded(Hex("82 a1 62 c0 a1 61 a1 78"), type), value);
}

TEST(MsgpackTest, ObjectWithMissingAttributeIsRejected) {
  Type type = Type::Object({{"a", Type::String()}, {"b", Type::String()}});
  std::string error = DecodeError(Hex("81 a1 61 a1 78"), type);
  EXPECT_NE(error.find("an object with 2 attributes is required (1 given)"), std::string::npos)
      << error;
  EXPECT_NE(error.find("\"b\""), std::string::npos) << error;
}

TEST(MsgpackTest, ObjectWithUnsupportedAttributeIsRejected) {
  Type type = Type::Object({{"a", Type::String()}});
  std::string error = DecodeError(Hex("82 a1 61 a1 78 a1 7a c0"), type);
  EXPECT_NE(error.find("unsupported attribute \"z\""), std::string::npos) << error;
  error = DecodeError(Hex("81 a1 7a c0"), type);
  EXPECT_NE(error.find("unsupported attribute \"z\""), std::string::npos) << error;
  EXPECT_FALSE(DecodeMsgpack(Hex("82 a1 61 c0 a1 61 c0"), type).ok());  // duplicate
}

TEST(MsgpackTest, EmptyMapIsOnlyAnEmptyObject) {
  EXPECT_FALSE(DecodeMsgpack(Hex("80"), Type::Object({{"a", Type::String()}})).ok());
  Value empty = Decoded(Hex("80"), Type::Object({}));
  EXPECT_TRUE(empty.is_known_non_null());
  EXPECT_TRUE(empty.Entries().empty());
  EXPECT_EQ(ToHex(EncodeMsgpack(empty, Type::Object({}))), "80");
}

TEST(MsgpackTest, ErrorsNameThePath) {
  Type type =
      Type::Object({{"tags", Type::Map(Type::String())}, {"list", Type::List(Type::Number())}});
  // {"list": [1, 2, "x"], "tags": {"a": 5}}
  std::string error = DecodeError(Hex("82 a4 6c 69 73 74 93 01 02 a1 78 a4 74 61 67 73 80"), type);
  EXPECT_EQ(error.rfind("at .list[2]: ", 0), 0u) << error;
  error = DecodeError(Hex("82 a4 6c 69 73 74 90 a4 74 61 67 73 81 a1 61 05"), type);
  EXPECT_EQ(error.rfind("at .tags[\"a\"]: ", 0), 0u) << error;
  EXPECT_NE(error.find("string is required"), std::string::npos) << error;
}

TEST(MsgpackTest, CollectionsAndTuples) {
  Type list = Type::List(Type::String());
  Value value = Value::List(Type::String(), {Value::String("a"), Value::Null(Type::String())});
  EXPECT_EQ(ToHex(EncodeMsgpack(value, list)), "92 a1 61 c0");
  EXPECT_EQ(Decoded(Hex("92 a1 61 c0"), list), value);

  Type set = Type::Set(Type::Number());
  Value decoded_set = Decoded(Hex("93 01 02 01"), set);
  EXPECT_EQ(decoded_set.Elements().size(), 2u);
  EXPECT_EQ(decoded_set,
            Value::Set(Type::Number(), {Value::Number(int64_t{2}), Value::Number(int64_t{1})}));

  Type map = Type::Map(Type::Bool());
  Value map_value = Value::Map(Type::Bool(), {{"x", Value::Bool(true)}});
  EXPECT_EQ(ToHex(EncodeMsgpack(map_value, map)), "81 a1 78 c3");
  EXPECT_EQ(Decoded(Hex("81 a1 78 c3"), map), map_value);

  Type tuple = Type::Tuple({Type::String(), Type::Number()});
  Value tuple_value = Value::Tuple(tuple, {Value::String("a"), Value::Number(int64_t{1})});
  EXPECT_EQ(ToHex(EncodeMsgpack(tuple_value, tuple)), "92 a1 61 01");
  EXPECT_EQ(Decoded(Hex("92 a1 61 01"), tuple), tuple_value);
  EXPECT_NE(DecodeError(Hex("91 a1 61"), tuple).find("tuple"), std::string::npos);
  EXPECT_FALSE(DecodeMsgpack(Hex("81 a1 61 01"), list).ok());
}

// ---- msgpack: dynamic ---------------------------------------------------------------------------

TEST(MsgpackTest, DynamicSlotCarriesTheType) {
  const std::string expected = "92 c4 08 " + HexOf("\"string\"") + " a2 68 69";
  EXPECT_EQ(ToHex(EncodeMsgpack(Value::String("hi"), Type::Dynamic())), expected);
  Value decoded = Decoded(Hex(expected), Type::Dynamic());
  EXPECT_EQ(decoded, Value::String("hi"));
  // The type may also arrive as str.
  EXPECT_EQ(Decoded(Hex("92 a8 " + HexOf("\"string\"") + " a2 68 69"), Type::Dynamic()),
            Value::String("hi"));
}

TEST(MsgpackTest, DynamicNullsAndUnknowns) {
  EXPECT_EQ(ToHex(EncodeMsgpack(Value::Null(Type::Dynamic()), Type::Dynamic())), "c0");
  // A typed null in a dynamic slot keeps its type.
  const std::string typed_null = "92 c4 08 " + HexOf("\"string\"") + " c0";
  EXPECT_EQ(ToHex(EncodeMsgpack(Value::Null(Type::String()), Type::Dynamic())), typed_null);
  EXPECT_EQ(Decoded(Hex(typed_null), Type::Dynamic()), Value::Null(Type::String()));
  const std::string typed_unknown = "92 c4 08 " + HexOf("\"string\"") + " d4 00 00";
  EXPECT_EQ(ToHex(EncodeMsgpack(Value::Unknown(Type::String()), Type::Dynamic())), typed_unknown);
  EXPECT_EQ(Decoded(Hex(typed_unknown), Type::Dynamic()), Value::Unknown(Type::String()));
  EXPECT_EQ(Decoded(Hex("d4 00 00"), Type::Dynamic()), Value::Unknown(Type::Dynamic()));
}

TEST(MsgpackTest, NestedDynamic) {
  Type type = Type::Object({{"any", Type::Dynamic()}, {"name", Type::String()}});
  Value list = Value::List(Type::Number(), {Value::Number(int64_t{1}), Value::Number(D("0.1"))});
  Value value = Value::Object(type, {{"any", list}, {"name", Value::String("n")}});
  std::string bytes = EncodeMsgpack(value, type);
  const std::string type_json = "[\"list\",\"number\"]";
  EXPECT_EQ(ToHex(bytes), "82 a3 " + HexOf("any") + " 92 c4 11 " + HexOf(type_json) +
                              " 92 01 a3 30 2e 31 a4 " + HexOf("name") + " a1 6e");
  EXPECT_EQ(Decoded(bytes, type), value);

  Type list_of_dynamic = Type::List(Type::Dynamic());
  Value mixed = Value::List(Type::Dynamic(), {Value::String("a"), Value::Bool(true)});
  EXPECT_EQ(Decoded(EncodeMsgpack(mixed, list_of_dynamic), list_of_dynamic), mixed);
}

TEST(MsgpackTest, DynamicWithBadTypeIsRejected) {
  EXPECT_NE(DecodeError(Hex("92 c4 06 " + HexOf("\"strn\"") + " a1 61"), Type::Dynamic())
                .find("invalid dynamic value type"),
            std::string::npos);
  EXPECT_FALSE(DecodeMsgpack(Hex("92 c4 01 7b a1 61"), Type::Dynamic()).ok());
  EXPECT_FALSE(DecodeMsgpack(Hex("a1 61"), Type::Dynamic()).ok());
  EXPECT_FALSE(
      DecodeMsgpack(Hex("93 c4 08 " + HexOf("\"string\"") + " a1 61 c0"), Type::Dynamic()).ok());
}

TEST(MsgpackTest, ComplexValueRoundTrips) {
  Type inner = Type::Object({{"id", Type::Number()}, {"label", Type::String()}});
  Type type = Type::Object({{"items", Type::List(inner)},
                            {"names", Type::Set(Type::String())},
                            {"meta", Type::Map(Type::Dynamic())},
                            {"pair", Type::Tuple({Type::Bool(), Type::Number()})},
                            {"pending", Type::String()},
                            {"gone", Type::Map(Type::String())}});
  Refinements refinements;
  refinements.nullable = false;
  refinements.string_prefix = "pre";
  Value value = Value::Object(
      type, {{"items", Value::List(inner, {Value::Object(inner, {{"id", Value::Number(int64_t{1})},
                                                                 {"label", Value::String("one")}}),
                                           Value::Unknown(inner)})},
             {"names", Value::Set(Type::String(), {Value::String("x"), Value::String("y")})},
             {"meta", Value::Map(Type::Dynamic(), {{"n", Value::Number(D("1e400"))},
                                                   {"z", Value::Null(Type::Dynamic())}})},
             {"pair", Value::Tuple(type.attributes().at("pair"),
                                   {Value::Bool(true), Value::Number(D("-0.25"))})},
             {"pending", Value::Unknown(Type::String(), refinements)}});
  std::string bytes = EncodeMsgpack(value, type);
  Value decoded = Decoded(bytes, type);
  EXPECT_EQ(decoded, value) << decoded.ToDebugString();
  EXPECT_EQ(EncodeMsgpack(decoded, type), bytes);
}

// ---- msgpack: hostile input ---------------------------------------------------------------------

TEST(MsgpackTest, TruncatedInputIsRejected) {
  Type type = Type::Object({{"a", Type::List(Type::String())}, {"b", Type::Number()}});
  Value value = Value::Object(
      type, {{"a", Value::List(Type::String(), {Value::String("hello"), Value::String("x")})},
             {"b", Value::Number(D("0.1"))}});
  std::string bytes = EncodeMsgpack(value, type);
  for (size_t length = 0; length < bytes.size(); ++length) {
    absl::StatusOr<Value> decoded = DecodeMsgpack(bytes.substr(0, length), type);
    EXPECT_FALSE(decoded.ok()) << length;
  }
  EXPECT_NE(DecodeError(Hex("dd ff ff ff ff"), Type::List(Type::String())).find("invalid msgpack"),
            std::string::npos);
  EXPECT_NE(DecodeError(Hex("a1 61 a1 62"), Type::String()).find("after the value"),
            std::string::npos);
}

TEST(MsgpackTest, DeepNestingIsRejected) {
  std::string bytes(10000, '\x91');
  bytes += '\xc0';
  EXPECT_FALSE(DecodeMsgpack(bytes, Type::List(Type::String())).ok());
  EXPECT_FALSE(DecodeMsgpack(bytes, Type::Dynamic()).ok());

  // Nesting that matches an equally deep type is still refused.
  Type deep = Type::String();
  for (int i = 0; i < 600; ++i) deep = Type::List(deep);
  std::string matching(600, '\x91');
  matching += '\xc0';
  EXPECT_FALSE(DecodeMsgpack(matching, deep).ok());
}

TEST(MsgpackTest, RandomBytesNeverCrash) {
  Type type = Type::Object({{"a", Type::List(Type::Dynamic())},
                            {"b", Type::Map(Type::Number())},
                            {"c", Type::Tuple({Type::String(), Type::Bool()})}});
  std::mt19937 random(7);
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string bytes(random() % 24, '\0');
    for (char& c : bytes) c = static_cast<char>(random());
    if (DecodeMsgpack(bytes, type).ok()) ++accepted;
    if (DecodeMsgpack(bytes, Type::Dynamic()).ok()) ++accepted;
  }
  EXPECT_LT(accepted, 20000);
}

// ---- JSON ---------------------------------------------------------------------------------------

TEST(JsonTest, NumbersStayExact) {
  Type type = Type::Object({{"n", Type::Number()}});
  absl::StatusOr<Value> value = DecodeJson(R"({"n": 0.1})", type);
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(value->GetAttr("n").AsNumber(), D("0.1"));
  EXPECT_EQ(EncodeJson(*value, type), R"({"n":0.1})");

  value = DecodeJson(R"({"n": 1e400})", type);
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(value->GetAttr("n").AsNumber(), D("1e400"));
  std::string encoded = EncodeJson(*value, type);
  EXPECT_EQ(encoded, R"({"n":1e+400})");
  EXPECT_EQ(*DecodeJson(encoded, type), *value);

  value = DecodeJson(R"({"n": -123456789012345678901234567890.5})", type);
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(value->GetAttr("n").AsNumber().ToString(), "-123456789012345678901234567890.5");
  EXPECT_EQ(DecodeJson(R"({"n": 9223372036854775807})", type)->GetAttr("n").AsNumber().ToInt64(),
            INT64_MAX);
}

TEST(JsonTest, MissingAttributesBecomeNull) {
  Type type = Type::Object({{"a", Type::String()}, {"b", Type::List(Type::Number())}});
  absl::StatusOr<Value> value = DecodeJson(R"({"a": "x"})", type);
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(value->GetAttr("a").AsString(), "x");
  EXPECT_TRUE(value->GetAttr("b").is_null());
  EXPECT_EQ(value->GetAttr("b").type(), Type::List(Type::Number()));
  EXPECT_EQ(EncodeJson(*value, type), R"({"a":"x","b":null})");
}

TEST(JsonTest, UnknownAttributes) {
  Type type = Type::Object({{"a", Type::String()}});
  absl::StatusOr<Value> value = DecodeJson(R"({"a": "x", "old": 1})", type);
  ASSERT_FALSE(value.ok());
  EXPECT_NE(value.status().message().find("unsupported attribute \"old\""), std::string::npos)
      << value.status();
  value = DecodeJson(R"({"a": "x", "old": {"deep": [1]}})", type,
                     /*ignore_unknown_attributes=*/true);
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(value->GetAttr("a").AsString(), "x");
}

TEST(JsonTest, Dynamic) {
  Type type = Type::Object({{"d", Type::Dynamic()}});
  absl::StatusOr<Value> value = DecodeJson(R"({"d": {"value": "hi", "type": "string"}})", type);
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(value->GetAttr("d"), Value::String("hi"));
  EXPECT_EQ(EncodeJson(*value, type), R"({"d":{"value":"hi","type":"string"}})");

  value = DecodeJson(R"({"d": {"type": ["list","number"], "value": [1, 0.1]}})", type);
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(value->GetAttr("d"),
            Value::List(Type::Number(), {Value::Number(int64_t{1}), Value::Number(D("0.1"))}));
  EXPECT_EQ(EncodeJson(*value, type), R"({"d":{"value":[1,0.1],"type":["list","number"]}})");

  value = DecodeJson(R"({"d": null})", type);
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(value->GetAttr("d"), Value::Null(Type::Dynamic()));
  EXPECT_EQ(EncodeJson(*value, type), R"({"d":null})");

  EXPECT_FALSE(DecodeJson(R"({"d": "hi"})", type).ok());
  EXPECT_FALSE(DecodeJson(R"({"d": {"value": "hi"}})", type).ok());
  EXPECT_FALSE(DecodeJson(R"({"d": {"value": "hi", "type": "strng"}})", type).ok());
}

TEST(JsonTest, CollectionsAndEscapes) {
  Type type = Type::Object({{"l", Type::List(Type::String())},
                            {"s", Type::Set(Type::Number())},
                            {"m", Type::Map(Type::Bool())},
                            {"t", Type::Tuple({Type::String(), Type::Number()})}});
  const std::string text =
      R"({"l":["a\"b","\u00e9\ud83d\ude00"],"m":{"k":true},"s":[1,2,1],"t":["x",5]})";
  absl::StatusOr<Value> value = DecodeJson(text, type);
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(value->GetAttr("l").Elements()[0].AsString(), "a\"b");
  EXPECT_EQ(value->GetAttr("l").Elements()[1].AsString(), "\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(value->GetAttr("s").Elements().size(), 2u);
  EXPECT_TRUE(value->GetAttr("m").Entries().at("k").AsBool());
  std::string encoded = EncodeJson(*value, type);
  EXPECT_EQ(*DecodeJson(encoded, type), *value);
  EXPECT_FALSE(DecodeJson(R"({"t":["x"]})", type).ok());
}

TEST(JsonTest, PrimitiveConversionsLikeCty) {
  EXPECT_EQ(*DecodeJson("5", Type::String()), Value::String("5"));
  EXPECT_EQ(*DecodeJson("true", Type::String()), Value::String("true"));
  EXPECT_EQ(*DecodeJson(R"("12.5")", Type::Number()), Value::Number(D("12.5")));
  EXPECT_EQ(*DecodeJson(R"("false")", Type::Bool()), Value::Bool(false));
  EXPECT_FALSE(DecodeJson(R"("yes")", Type::Bool()).ok());
  EXPECT_FALSE(DecodeJson(R"("abc")", Type::Number()).ok());
  EXPECT_FALSE(DecodeJson("[1]", Type::String()).ok());
}

TEST(JsonTest, InfinityUsesTheStringForm) {
  Value value = Value::Number(Decimal::Infinity(true));
  std::string encoded = EncodeJson(value, Type::Number());
  EXPECT_EQ(encoded, R"("-Inf")");
  EXPECT_EQ(*DecodeJson(encoded, Type::Number()), value);
}

TEST(JsonTest, InvalidUtf8IsReplaced) {
  absl::StatusOr<Value> value = DecodeJson("\"a\xff b\xc3\xa9\"", Type::String());
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(value->AsString(), "a\xef\xbf\xbd b\xc3\xa9");
  // Attribute names arrive the same way; the type must still encode.
  Type type = Type::Object({{"a\xef\xbf\xbd", Type::String()}});
  Value object = Value::Object(type, {{"a\xef\xbf\xbd", Value::String("x")}});
  const std::string text = R"({"value": {"a\ufffd": "x"}, "type": ["object", {"a)"
                           "\xff"
                           R"(": "string"}]})";
  value = DecodeJson(text, Type::Dynamic());
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(*value, object);
  EXPECT_EQ(*DecodeMsgpack(EncodeMsgpack(*value, Type::Dynamic()), Type::Dynamic()), object);
}

TEST(JsonTest, ErrorsNameThePath) {
  Type type =
      Type::Object({{"tags", Type::Map(Type::String())}, {"list", Type::List(Type::Number())}});
  absl::StatusOr<Value> value = DecodeJson(R"({"tags": {"a": [1]}})", type);
  ASSERT_FALSE(value.ok());
  EXPECT_EQ(value.status().message().rfind("at .tags[\"a\"]: ", 0), 0u) << value.status();
  value = DecodeJson(R"({"list": [1, 2, "x"]})", type);
  ASSERT_FALSE(value.ok());
  EXPECT_EQ(value.status().message().rfind("at .list[2]: ", 0), 0u) << value.status();
}

TEST(JsonTest, MalformedInputIsRejected) {
  Type type = Type::Object({{"a", Type::List(Type::String())}, {"n", Type::Number()}});
  const std::string text = R"({"a": ["x", "y\n"], "n": 1.5e3})";
  ASSERT_TRUE(DecodeJson(text, type).ok());
  for (size_t length = 0; length < text.size(); ++length) {
    EXPECT_FALSE(DecodeJson(text.substr(0, length), type).ok()) << text.substr(0, length);
  }
  for (const char* bad :
       {"", "{", "{\"a\":}", "{\"a\" []}", "[1,]", "01", "1.", "-", "+1", "\"\\x\"", "\"\\ud83\"",
        "tru", "nul", "{} {}", "\"a\nb\"", "{\"a\":1,\"a\":2}"}) {
    EXPECT_FALSE(DecodeJson(bad, Type::Dynamic()).ok() &&
                 DecodeJson(bad, Type::Map(Type::Number())).ok())
        << bad;
  }
  EXPECT_FALSE(DecodeJson("{\"a\":1,\"a\":2}", Type::Map(Type::Number())).ok());
}

TEST(JsonTest, DeepNestingIsRejected) {
  std::string deep(10000, '[');
  EXPECT_FALSE(DecodeJson(deep, Type::Dynamic()).ok());
  deep += std::string(10000, ']');
  EXPECT_FALSE(DecodeJson(deep, Type::List(Type::String())).ok());
  std::string type_json;
  for (int i = 0; i < 5000; ++i) type_json += "[\"list\",";
  type_json += "\"string\"" + std::string(5000, ']');
  EXPECT_FALSE(DecodeJson(R"({"value": [], "type": )" + type_json + "}", Type::Dynamic()).ok());
}

}  // namespace
}  // namespace arnica::tf
