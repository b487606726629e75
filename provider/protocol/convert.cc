#include "provider/protocol/convert.h"

#include "provider/tf/codec.h"

namespace arnica::protocol {
namespace {

using tfplugin6::Schema_NestedBlock;
using tfplugin6::Schema_Object;

// Descriptions are always Markdown: the registry and docs render them, and plain text is a
// subset of Markdown.
constexpr auto kMarkdown = tfplugin6::MARKDOWN;

Schema_NestedBlock::NestingMode BlockNesting(tf::Nesting nesting) {
  switch (nesting) {
    case tf::Nesting::kSingle:
      return Schema_NestedBlock::SINGLE;
    case tf::Nesting::kList:
      return Schema_NestedBlock::LIST;
    case tf::Nesting::kSet:
      return Schema_NestedBlock::SET;
    case tf::Nesting::kMap:
      return Schema_NestedBlock::MAP;
    case tf::Nesting::kGroup:
      return Schema_NestedBlock::GROUP;
  }
  return Schema_NestedBlock::INVALID;
}

Schema_Object::NestingMode ObjectNesting(tf::Nesting nesting) {
  switch (nesting) {
    case tf::Nesting::kSingle:
      return Schema_Object::SINGLE;
    case tf::Nesting::kList:
      return Schema_Object::LIST;
    case tf::Nesting::kSet:
      return Schema_Object::SET;
    case tf::Nesting::kMap:
      return Schema_Object::MAP;
    case tf::Nesting::kGroup:
      break;  // not a valid nesting for attributes; the schema check reports it
  }
  return Schema_Object::INVALID;
}

void ToWire(const tf::Attribute& attribute, tfplugin6::Schema::Attribute* wire) {
  wire->set_name(attribute.name);
  if (attribute.nested) {
    Schema_Object* object = wire->mutable_nested_type();
    object->set_nesting(ObjectNesting(attribute.nested->nesting));
    for (const tf::Attribute& inner : attribute.nested->attributes) {
      ToWire(inner, object->add_attributes());
    }
  } else {
    wire->set_type(attribute.type.ToJson().dump());
  }
  wire->set_description(attribute.description);
  wire->set_description_kind(kMarkdown);
  wire->set_required(attribute.required);
  wire->set_optional(attribute.optional);
  wire->set_computed(attribute.computed);
  wire->set_sensitive(attribute.sensitive);
  wire->set_write_only(attribute.write_only);
  wire->set_deprecated(attribute.deprecated);
  if (attribute.deprecated) wire->set_deprecation_message(attribute.deprecation_message);
}

void ToWire(const tf::Block& block, int64_t version, tfplugin6::Schema::Block* wire) {
  wire->set_version(version);
  for (const tf::Attribute& attribute : block.attributes) {
    ToWire(attribute, wire->add_attributes());
  }
  for (const tf::NestedBlock& nested : block.block_types) {
    Schema_NestedBlock* out = wire->add_block_types();
    out->set_type_name(nested.type_name);
    out->set_nesting(BlockNesting(nested.nesting));
    out->set_min_items(nested.min_items);
    out->set_max_items(nested.max_items);
    // The host dereferences every nested block, so one is always sent, even if empty.
    ToWire(nested.block ? *nested.block : tf::Block{}, version, out->mutable_block());
  }
  wire->set_description(block.description);
  wire->set_description_kind(kMarkdown);
  wire->set_deprecated(block.deprecated);
  if (block.deprecated) wire->set_deprecation_message(block.deprecation_message);
}

void ToWire(const tf::FunctionParameter& parameter, tfplugin6::Function::Parameter* wire) {
  wire->set_name(parameter.name);
  wire->set_type(parameter.type.ToJson().dump());
  wire->set_allow_null_value(parameter.allow_null);
  wire->set_allow_unknown_values(parameter.allow_unknown);
  wire->set_description(parameter.description);
  wire->set_description_kind(kMarkdown);
}

}  // namespace

absl::StatusOr<tf::Value> FromDynamic(const tfplugin6::DynamicValue& wire, const tf::Type& type) {
  if (!wire.msgpack().empty()) return tf::DecodeMsgpack(wire.msgpack(), type);
  if (!wire.json().empty()) return tf::DecodeJson(wire.json(), type);
  return tf::Value::Null(type);
}

void ToDynamic(const tf::Value& value, const tf::Type& type, tfplugin6::DynamicValue* wire) {
  wire->set_msgpack(tf::EncodeMsgpack(value, type));
}

tf::ClientCapabilities FromWire(const tfplugin6::ClientCapabilities& wire) {
  return tf::ClientCapabilities{
      .deferral_allowed = wire.deferral_allowed(),
      .write_only_attributes_allowed = wire.write_only_attributes_allowed(),
  };
}

void ToWire(const tf::AttributePath& path, tfplugin6::AttributePath* wire) {
  for (const tf::AttributePath::Step& step : path.steps()) {
    auto* out = wire->add_steps();
    if (const auto* name = std::get_if<tf::AttributePath::AttributeName>(&step)) {
      out->set_attribute_name(name->name);
    } else if (const auto* key = std::get_if<tf::AttributePath::ElementKeyString>(&step)) {
      out->set_element_key_string(key->key);
    } else {
      out->set_element_key_int(std::get<tf::AttributePath::ElementKeyInt>(step).index);
    }
  }
}

void ToWire(const tf::Diagnostic& diagnostic, tfplugin6::Diagnostic* wire) {
  wire->set_severity(diagnostic.severity == tf::Severity::kError ? tfplugin6::Diagnostic::ERROR
                                                                 : tfplugin6::Diagnostic::WARNING);
  wire->set_summary(diagnostic.summary);
  wire->set_detail(diagnostic.detail);
  if (diagnostic.attribute && !diagnostic.attribute->empty()) {
    ToWire(*diagnostic.attribute, wire->mutable_attribute());
  }
}

void ToWire(const tf::Diagnostics& diagnostics,
            google::protobuf::RepeatedPtrField<tfplugin6::Diagnostic>* wire) {
  for (const tf::Diagnostic& diagnostic : diagnostics) ToWire(diagnostic, wire->Add());
}

void ToWire(const tf::Schema& schema, tfplugin6::Schema* wire) {
  wire->set_version(schema.version);
  ToWire(schema.block, schema.version, wire->mutable_block());
}

void ToWire(const tf::IdentitySchema& schema, tfplugin6::ResourceIdentitySchema* wire) {
  wire->set_version(schema.version);
  for (const tf::IdentityAttribute& attribute : schema.attributes) {
    auto* out = wire->add_identity_attributes();
    out->set_name(attribute.name);
    out->set_type(attribute.type.ToJson().dump());
    out->set_required_for_import(attribute.required_for_import);
    out->set_optional_for_import(attribute.optional_for_import);
    out->set_description(attribute.description);
  }
}

void ToWire(const tf::FunctionSignature& signature, tfplugin6::Function* wire) {
  for (const tf::FunctionParameter& parameter : signature.parameters) {
    ToWire(parameter, wire->add_parameters());
  }
  if (signature.variadic) ToWire(*signature.variadic, wire->mutable_variadic_parameter());
  wire->mutable_return_()->set_type(signature.return_type.ToJson().dump());
  wire->set_summary(signature.summary);
  wire->set_description(signature.description);
  wire->set_description_kind(kMarkdown);
}

}  // namespace arnica::protocol
