#include "provider/tf/type.h"

#include <gtest/gtest.h>

#include <string>

namespace arnica::tf {
namespace {

using nlohmann::json;

TEST(TypeTest, DefaultIsDynamic) {
  Type type;
  EXPECT_TRUE(type.is_dynamic());
  EXPECT_EQ(type, Type::Dynamic());
  EXPECT_TRUE(type.HasDynamic());
}

TEST(TypeTest, KindsAndPredicates) {
  EXPECT_EQ(Type::String().kind(), TypeKind::kString);
  EXPECT_TRUE(Type::Number().is_primitive());
  EXPECT_TRUE(Type::Bool().is_primitive());
  EXPECT_FALSE(Type::Dynamic().is_primitive());
  EXPECT_TRUE(Type::List(Type::String()).is_collection());
  EXPECT_TRUE(Type::Set(Type::String()).is_collection());
  EXPECT_TRUE(Type::Map(Type::String()).is_collection());
  EXPECT_FALSE(Type::Object({}).is_collection());
  EXPECT_FALSE(Type::Tuple({}).is_collection());
  EXPECT_EQ(Type::Map(Type::Bool()).element(), Type::Bool());
  EXPECT_EQ(Type::Tuple({Type::String(), Type::Number()}).elements().size(), 2u);
  EXPECT_TRUE(Type::String().attributes().empty());
  // Asking a non-collection for its element yields something valid, not garbage.
  EXPECT_TRUE(Type::String().element().is_dynamic());
}

TEST(TypeTest, HasDynamic) {
  EXPECT_FALSE(Type::List(Type::String()).HasDynamic());
  EXPECT_TRUE(Type::List(Type::Dynamic()).HasDynamic());
  EXPECT_TRUE(Type::Object({{"a", Type::Map(Type::Dynamic())}}).HasDynamic());
  EXPECT_FALSE(Type::Object({{"a", Type::Map(Type::Number())}}).HasDynamic());
  EXPECT_TRUE(Type::Tuple({Type::String(), Type::Dynamic()}).HasDynamic());
}

TEST(TypeTest, JsonRoundTrip) {
  for (const char* text : {
           R"("string")",
           R"("number")",
           R"("bool")",
           R"("dynamic")",
           R"(["list","number"])",
           R"(["set",["map","bool"]])",
           R"(["map","dynamic"])",
           R"(["object",{}])",
           R"(["object",{"a":"string","b":["list","number"]}])",
           R"(["object",{"a":"string","b":"number"},["b"]])",
           R"(["tuple",["string",["set","number"]]])",
           R"(["tuple",[]])",
       }) {
    json original = json::parse(text);
    absl::StatusOr<Type> type = Type::FromJson(original);
    ASSERT_TRUE(type.ok()) << text << ": " << type.status();
    EXPECT_EQ(type->ToJson(), original) << text;
    EXPECT_EQ(type->ToJson().dump(), text);
  }
}

TEST(TypeTest, OptionalAttributesAreEmittedSortedAndOnlyWhenPresent) {
  Type with =
      Type::Object({{"c", Type::String()}, {"a", Type::Number()}, {"b", Type::Bool()}}, {"c", "a"});
  EXPECT_EQ(with.ToJson().dump(), R"(["object",{"a":"number","b":"bool","c":"string"},["a","c"]])");
  Type without = Type::Object({{"a", Type::Number()}});
  EXPECT_EQ(without.ToJson().size(), 2u);
}

TEST(TypeTest, FromJsonRejectsBadInput) {
  for (const char* text : {
           R"("strin")",
           R"(5)",
           R"(null)",
           R"([])",
           R"([5])",
           R"(["list"])",
           R"(["list","string","x"])",
           R"(["list","nope"])",
           R"(["object",["a"]])",
           R"(["object",{"a":"nope"}])",
           R"(["object",{"a":"string"},["b"]])",
           R"(["object",{"a":"string"},"a"])",
           R"(["object",{"a":"string"},[1]])",
           R"(["tuple","string"])",
           R"(["tuple",["string"],1])",
           R"(["bogus","string"])",
           R"({"list":"string"})",
       }) {
    absl::StatusOr<Type> type = Type::FromJson(json::parse(text));
    ASSERT_FALSE(type.ok()) << text;
    EXPECT_EQ(type.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_NE(type.status().message().find("invalid type constraint"), std::string::npos)
        << type.status();
  }
}

TEST(TypeTest, FromJsonErrorNamesTheProblem) {
  absl::StatusOr<Type> type = Type::FromJson(json::parse(R"(["list","strnig"])"));
  ASSERT_FALSE(type.ok());
  EXPECT_NE(type.status().message().find("\"strnig\""), std::string::npos) << type.status();
}

TEST(TypeTest, FromJsonRejectsDeepNestingWithoutCrashing) {
  json deep = "string";
  for (int i = 0; i < 5000; ++i) deep = json::array({"list", std::move(deep)});
  absl::StatusOr<Type> type = Type::FromJson(deep);
  EXPECT_FALSE(type.ok());
}

TEST(TypeTest, StructuralEquality) {
  EXPECT_EQ(Type::List(Type::String()), Type::List(Type::String()));
  EXPECT_NE(Type::List(Type::String()), Type::Set(Type::String()));
  EXPECT_NE(Type::List(Type::String()), Type::List(Type::Number()));
  EXPECT_NE(Type::String(), Type::Dynamic());
  EXPECT_EQ(Type::Object({{"a", Type::String()}}), Type::Object({{"a", Type::String()}}));
  EXPECT_NE(Type::Object({{"a", Type::String()}}), Type::Object({{"b", Type::String()}}));
  EXPECT_NE(Type::Object({{"a", Type::String()}}), Type::Object({{"a", Type::String()}}, {"a"}));
  EXPECT_EQ(Type::Object({{"a", Type::String()}}, {"a"}),
            Type::Object({{"a", Type::String()}}, {"a"}));
  EXPECT_NE(Type::Tuple({Type::String(), Type::Number()}),
            Type::Tuple({Type::Number(), Type::String()}));
  EXPECT_NE(Type::Tuple({Type::String()}), Type::List(Type::String()));
  EXPECT_NE(Type::Object({}), Type::Tuple({}));
}

TEST(TypeTest, FriendlyName) {
  EXPECT_EQ(Type::String().FriendlyName(), "string");
  EXPECT_EQ(Type::Dynamic().FriendlyName(), "dynamic");
  EXPECT_EQ(Type::List(Type::String()).FriendlyName(), "list of string");
  EXPECT_EQ(Type::Map(Type::Set(Type::Number())).FriendlyName(), "map of set of number");
  EXPECT_EQ(Type::Object({{"a", Type::Bool()}}).FriendlyName(), "object");
  EXPECT_EQ(Type::Tuple({Type::Bool()}).FriendlyName(), "tuple");
}

TEST(TypeTest, CopiesShareStructure) {
  Type original = Type::Object({{"a", Type::List(Type::String())}});
  Type copy = original;
  EXPECT_EQ(&copy.attributes(), &original.attributes());
}

}  // namespace
}  // namespace arnica::tf
