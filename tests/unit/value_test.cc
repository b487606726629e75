#include "provider/tf/value.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace arnica::tf {
namespace {

Type PersonType() {
  return Type::Object(
      {{"name", Type::String()}, {"age", Type::Number()}, {"tags", Type::Set(Type::String())}});
}

TEST(ValueTest, DefaultIsNullDynamic) {
  Value value;
  EXPECT_TRUE(value.is_null());
  EXPECT_FALSE(value.is_unknown());
  EXPECT_TRUE(value.type().is_dynamic());
  EXPECT_EQ(value, Value::Null(Type::Dynamic()));
}

TEST(ValueTest, Primitives) {
  Value s = Value::String("abc");
  EXPECT_EQ(s.type(), Type::String());
  EXPECT_EQ(s.AsString(), "abc");
  EXPECT_TRUE(s.is_known_non_null());

  Value n = Value::Number(int64_t{42});
  EXPECT_EQ(n.type(), Type::Number());
  EXPECT_EQ(n.AsNumber().ToInt64(), 42);

  Value b = Value::Bool(true);
  EXPECT_EQ(b.type(), Type::Bool());
  EXPECT_TRUE(b.AsBool());
}

TEST(ValueTest, NullAndUnknownOfAnyType) {
  for (const Type& type :
       {Type::String(), Type::Dynamic(), Type::List(Type::Number()), PersonType()}) {
    Value null = Value::Null(type);
    EXPECT_TRUE(null.is_null());
    EXPECT_FALSE(null.is_known_non_null());
    EXPECT_TRUE(null.IsWhollyKnown());
    EXPECT_EQ(null.type(), type);

    Value unknown = Value::Unknown(type);
    EXPECT_TRUE(unknown.is_unknown());
    EXPECT_FALSE(unknown.is_null());
    EXPECT_FALSE(unknown.IsWhollyKnown());
    EXPECT_TRUE(unknown.refinements().empty());
    EXPECT_NE(null, unknown);
  }
  EXPECT_NE(Value::Null(Type::String()), Value::Null(Type::Number()));
}

TEST(ValueTest, RefinementsTakePartInEquality) {
  Refinements not_null;
  not_null.nullable = false;
  EXPECT_FALSE(not_null.empty());
  EXPECT_TRUE(Refinements().empty());
  Value refined = Value::Unknown(Type::String(), not_null);
  EXPECT_EQ(refined.refinements().nullable, false);
  EXPECT_NE(refined, Value::Unknown(Type::String()));
  EXPECT_EQ(refined, Value::Unknown(Type::String(), not_null));
  EXPECT_EQ(Value::Unknown(Type::String()), Value::Unknown(Type::String()));
  // Known values never carry refinements.
  EXPECT_TRUE(Value::String("x").refinements().empty());
}

TEST(ValueTest, SetDropsDuplicatesKeepingFirst) {
  Value set = Value::Set(Type::String(), {Value::String("b"), Value::String("a"),
                                          Value::String("b"), Value::Null(Type::String())});
  ASSERT_EQ(set.Elements().size(), 3u);
  EXPECT_EQ(set.Elements()[0].AsString(), "b");
  EXPECT_EQ(set.Elements()[1].AsString(), "a");
  EXPECT_TRUE(set.Elements()[2].is_null());
}

TEST(ValueTest, SetEqualityIgnoresOrderButListEqualityDoesNot) {
  Value a = Value::String("a");
  Value b = Value::String("b");
  EXPECT_EQ(Value::Set(Type::String(), {a, b}), Value::Set(Type::String(), {b, a}));
  EXPECT_NE(Value::Set(Type::String(), {a, b}), Value::Set(Type::String(), {a}));
  EXPECT_NE(Value::Set(Type::String(), {a}), Value::Set(Type::String(), {b}));
  EXPECT_EQ(Value::List(Type::String(), {a, b}), Value::List(Type::String(), {a, b}));
  EXPECT_NE(Value::List(Type::String(), {a, b}), Value::List(Type::String(), {b, a}));
  EXPECT_NE(Value::List(Type::String(), {a}), Value::Set(Type::String(), {a}));
}

TEST(ValueTest, LargeSetsDeduplicateAndCompare) {
  std::vector<Value> forward;
  std::vector<Value> backward;
  for (int i = 0; i < 20000; ++i) {
    forward.push_back(Value::Number(int64_t{i % 10000}));
    backward.push_back(Value::Number(int64_t{9999 - i % 10000}));
  }
  Value a = Value::Set(Type::Number(), forward);
  Value b = Value::Set(Type::Number(), backward);
  EXPECT_EQ(a.Elements().size(), 10000u);
  EXPECT_EQ(a.Elements().front().AsNumber().ToInt64(), 0);
  EXPECT_EQ(a, b);
  backward.back() = Value::Number(int64_t{-1});
  backward.erase(backward.begin(), backward.begin() + 10000);
  EXPECT_NE(a, Value::Set(Type::Number(), backward));
}

TEST(ValueTest, NestedSetsCompareOrderIndependently) {
  Type inner = Type::Set(Type::String());
  Value x = Value::Set(Type::String(), {Value::String("a"), Value::String("b")});
  Value y = Value::Set(Type::String(), {Value::String("b"), Value::String("a")});
  Value z = Value::Set(Type::String(), {Value::String("c")});
  EXPECT_EQ(Value::Set(inner, {x, z}), Value::Set(inner, {z, y}));
  EXPECT_EQ(Value::Set(inner, {x, y}).Elements().size(), 1u);
}

TEST(ValueTest, NumbersCompareByValue) {
  EXPECT_EQ(Value::Number(*Decimal::Parse("1.50")), Value::Number(*Decimal::Parse("1.5")));
  EXPECT_EQ(Value::Number(int64_t{100}), Value::Number(*Decimal::Parse("1e2")));
  EXPECT_NE(Value::Number(int64_t{1}), Value::String("1"));
}

TEST(ValueTest, ObjectFillsMissingAttributesWithNull) {
  Value person = Value::Object(PersonType(), {{"name", Value::String("Ada")}});
  EXPECT_EQ(person.Entries().size(), 3u);
  EXPECT_EQ(person.GetAttr("name").AsString(), "Ada");
  EXPECT_TRUE(person.GetAttr("age").is_null());
  EXPECT_EQ(person.GetAttr("age").type(), Type::Number());
  EXPECT_EQ(person.GetAttr("tags").type(), Type::Set(Type::String()));
  EXPECT_EQ(person, Value::Object(PersonType(), {{"name", Value::String("Ada")},
                                                 {"age", Value::Null(Type::Number())}}));
}

TEST(ValueTest, GetAttrOfNullOrUnknownObject) {
  Value null = Value::Null(PersonType()).GetAttr("age");
  EXPECT_TRUE(null.is_null());
  EXPECT_EQ(null.type(), Type::Number());
  Value unknown = Value::Unknown(PersonType()).GetAttr("tags");
  EXPECT_TRUE(unknown.is_unknown());
  EXPECT_EQ(unknown.type(), Type::Set(Type::String()));
}

TEST(ValueTest, WithAttrCopies) {
  Value before = Value::Object(PersonType(), {{"name", Value::String("Ada")}});
  Value after = before.WithAttr("age", Value::Number(int64_t{36}));
  EXPECT_TRUE(before.GetAttr("age").is_null());
  EXPECT_EQ(after.GetAttr("age").AsNumber().ToInt64(), 36);
  EXPECT_EQ(after.GetAttr("name").AsString(), "Ada");
  EXPECT_NE(before, after);
}

TEST(ValueTest, IsWhollyKnownLooksInside) {
  Value list = Value::List(Type::String(), {Value::String("a"), Value::Unknown(Type::String())});
  EXPECT_FALSE(list.IsWhollyKnown());
  Value object = Value::Object(Type::Object({{"l", list.type()}}), {{"l", list}});
  EXPECT_FALSE(object.IsWhollyKnown());
  Value known = Value::Map(Type::String(), {{"k", Value::String("v")}});
  EXPECT_TRUE(known.IsWhollyKnown());
}

TEST(ValueTest, TupleAndMap) {
  Type tuple_type = Type::Tuple({Type::String(), Type::Bool()});
  Value tuple = Value::Tuple(tuple_type, {Value::String("x"), Value::Bool(false)});
  EXPECT_EQ(tuple.type(), tuple_type);
  EXPECT_EQ(tuple.Elements().size(), 2u);
  Value map = Value::Map(Type::Number(), {{"one", Value::Number(int64_t{1})}});
  EXPECT_EQ(map.type(), Type::Map(Type::Number()));
  EXPECT_EQ(map.Entries().at("one").AsNumber().ToInt64(), 1);
}

TEST(ValueTest, DebugString) {
  EXPECT_EQ(Value::String("a\"b\n").ToDebugString(), "\"a\\\"b\\n\"");
  EXPECT_EQ(Value::Number(*Decimal::Parse("12.50")).ToDebugString(), "12.5");
  EXPECT_EQ(Value::Bool(false).ToDebugString(), "false");
  EXPECT_EQ(Value::Null(Type::String()).ToDebugString(), "null");
  EXPECT_EQ(Value::Unknown(Type::String()).ToDebugString(), "(unknown)");
  EXPECT_EQ(Value::List(Type::String(), {Value::String("a"), Value::String("b")}).ToDebugString(),
            "[\"a\", \"b\"]");
  EXPECT_EQ(Value::Map(Type::Bool(), {{"k v", Value::Bool(true)}}).ToDebugString(),
            "{\"k v\" = true}");
  Type type = Type::Object({{"a", Type::Number()}, {"b", Type::String()}});
  EXPECT_EQ(Value::Object(type, {{"a", Value::Number(int64_t{1})}}).ToDebugString(),
            "{a = 1, b = null}");
  EXPECT_EQ(Value::List(Type::String(), {}).ToDebugString(), "[]");
}

// Misuse throws, so that one buggy request becomes a diagnostic instead of a crashed plugin.
TEST(ValueMisuseTest, ObjectWithExtraAttributeThrows) {
  EXPECT_THROW(Value::Object(PersonType(), {{"nope", Value::String("x")}}), std::logic_error);
}

TEST(ValueMisuseTest, WrongAccessorThrows) {
  EXPECT_THROW(Value::Number(int64_t{1}).AsString(), std::logic_error);
  EXPECT_THROW(Value::Null(Type::String()).AsString(), std::logic_error);
  EXPECT_THROW(Value::String("x").GetAttr("a"), std::logic_error);
}

}  // namespace
}  // namespace arnica::tf
