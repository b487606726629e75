// The protocol layer's conversions: what the host reads from our schemas and diagnostics.
#include "provider/protocol/convert.h"

#include <gtest/gtest.h>

#include "provider/tf/codec.h"

namespace arnica::protocol {
namespace {

using tf::Attribute;
using tf::Type;

TEST(Convert, SchemaCarriesTypesFlagsAndMarkdown) {
  tf::Schema schema;
  schema.version = 2;
  tf::Block inner;
  inner.Add(Attribute::Optional("key", Type::String()));
  schema.block.Add(Attribute::Required("name", Type::String()).Describe("The *name*."))
      .Add(Attribute::Optional("token", Type::String()).Sensitive().WriteOnly())
      .Add(Attribute::Optional("old", Type::Bool()).Deprecated("Use `name`."))
      .AddBlock("rule", inner, tf::Nesting::kList, 0, 3);
  tfplugin6::Schema wire;
  ToWire(schema, &wire);
  EXPECT_EQ(wire.version(), 2);
  ASSERT_EQ(wire.block().attributes_size(), 3);
  const auto& name = wire.block().attributes(0);
  EXPECT_EQ(name.type(), "\"string\"");
  EXPECT_TRUE(name.required());
  EXPECT_EQ(name.description_kind(), tfplugin6::MARKDOWN);
  const auto& token = wire.block().attributes(1);
  EXPECT_TRUE(token.sensitive());
  EXPECT_TRUE(token.write_only());
  const auto& old = wire.block().attributes(2);
  EXPECT_TRUE(old.deprecated());
  EXPECT_EQ(old.deprecation_message(), "Use `name`.");
  ASSERT_EQ(wire.block().block_types_size(), 1);
  EXPECT_EQ(wire.block().block_types(0).nesting(), tfplugin6::Schema_NestedBlock::LIST);
  EXPECT_EQ(wire.block().block_types(0).max_items(), 3);
  EXPECT_EQ(wire.block().block_types(0).block().attributes(0).name(), "key");
}

TEST(Convert, EmptySchemaStillHasABlock) {
  // The host dereferences Schema.block unconditionally.
  tfplugin6::Schema wire;
  ToWire(tf::Schema{}, &wire);
  EXPECT_TRUE(wire.has_block());
}

TEST(Convert, NestedAttributesUseNestedType) {
  tf::Schema schema;
  Attribute members = Attribute::Optional("members", Type());
  members.nested = std::make_shared<tf::NestedAttributes>();
  members.nested->nesting = tf::Nesting::kSet;
  members.nested->attributes.push_back(Attribute::Required("uuid", Type::String()));
  schema.block.Add(members);
  tfplugin6::Schema wire;
  ToWire(schema, &wire);
  const auto& attribute = wire.block().attributes(0);
  EXPECT_TRUE(attribute.type().empty());
  EXPECT_EQ(attribute.nested_type().nesting(), tfplugin6::Schema_Object::SET);
  EXPECT_EQ(attribute.nested_type().attributes(0).name(), "uuid");
}

TEST(Convert, DiagnosticPathsUseTheHostsSteps) {
  tf::Diagnostics diagnostics;
  diagnostics.AddError("Bad", "Very bad.",
                       tf::AttributePath::Root("workspaces").Index(2).Attr("tags").Key("env"));
  diagnostics.AddWarning("Meh", "Slightly.");
  google::protobuf::RepeatedPtrField<tfplugin6::Diagnostic> wire;
  ToWire(diagnostics, &wire);
  ASSERT_EQ(wire.size(), 2);
  EXPECT_EQ(wire[0].severity(), tfplugin6::Diagnostic::ERROR);
  ASSERT_EQ(wire[0].attribute().steps_size(), 4);
  EXPECT_EQ(wire[0].attribute().steps(0).attribute_name(), "workspaces");
  EXPECT_EQ(wire[0].attribute().steps(1).element_key_int(), 2);
  EXPECT_EQ(wire[0].attribute().steps(3).element_key_string(), "env");
  EXPECT_EQ(wire[1].severity(), tfplugin6::Diagnostic::WARNING);
  EXPECT_FALSE(wire[1].has_attribute());
}

TEST(Convert, DynamicValuesAreMsgpackAndAcceptJsonOrNothing) {
  Type type = Type::Object({{"n", Type::Number()}});
  tf::Value value = tf::Value::Object(type, {{"n", tf::Value::Number(*tf::Decimal::Parse("0.1"))}});
  tfplugin6::DynamicValue wire;
  ToDynamic(value, type, &wire);
  EXPECT_FALSE(wire.msgpack().empty());
  EXPECT_TRUE(wire.json().empty());
  EXPECT_EQ(*FromDynamic(wire, type), value);

  tfplugin6::DynamicValue json;
  json.set_json(R"({"n": 0.1})");
  EXPECT_EQ(*FromDynamic(json, type), value);

  EXPECT_TRUE(FromDynamic(tfplugin6::DynamicValue(), type)->is_null());

  tfplugin6::DynamicValue garbage;
  garbage.set_msgpack("\xc1\xc1");
  EXPECT_FALSE(FromDynamic(garbage, type).ok());
}

TEST(Convert, FunctionSignature) {
  tf::FunctionSignature signature{
      .parameters = {{.name = "text", .type = Type::String(), .allow_null = true}},
      .variadic = tf::FunctionParameter{.name = "more", .type = Type::Number()},
      .return_type = Type::List(Type::String()),
      .summary = "s"};
  tfplugin6::Function wire;
  ToWire(signature, &wire);
  EXPECT_EQ(wire.parameters(0).name(), "text");
  EXPECT_TRUE(wire.parameters(0).allow_null_value());
  EXPECT_EQ(wire.variadic_parameter().type(), "\"number\"");
  EXPECT_EQ(wire.return_().type(), R"(["list","string"])");
}

}  // namespace
}  // namespace arnica::protocol
