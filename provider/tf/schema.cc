#include "provider/tf/schema.h"

#include <map>

namespace arnica::tf {
namespace {

Attribute MakeAttribute(std::string name, Type type) {
  Attribute attribute;
  attribute.name = std::move(name);
  attribute.type = std::move(type);
  return attribute;
}

Type WrapNesting(Type object, Nesting nesting) {
  switch (nesting) {
    case Nesting::kSingle:
    case Nesting::kGroup:
      return object;
    case Nesting::kList:
      return Type::List(std::move(object));
    case Nesting::kSet:
      return Type::Set(std::move(object));
    case Nesting::kMap:
      return Type::Map(std::move(object));
  }
  return object;
}

}  // namespace

Attribute Attribute::Required(std::string name, Type type) {
  Attribute attribute = MakeAttribute(std::move(name), std::move(type));
  attribute.required = true;
  return attribute;
}

Attribute Attribute::Optional(std::string name, Type type) {
  Attribute attribute = MakeAttribute(std::move(name), std::move(type));
  attribute.optional = true;
  return attribute;
}

Attribute Attribute::Computed(std::string name, Type type) {
  Attribute attribute = MakeAttribute(std::move(name), std::move(type));
  attribute.computed = true;
  return attribute;
}

Attribute Attribute::OptionalComputed(std::string name, Type type) {
  Attribute attribute = MakeAttribute(std::move(name), std::move(type));
  attribute.optional = true;
  attribute.computed = true;
  return attribute;
}

Attribute& Attribute::Describe(std::string text) {
  description = std::move(text);
  return *this;
}

Attribute& Attribute::Sensitive() {
  sensitive = true;
  return *this;
}

Attribute& Attribute::WriteOnly() {
  write_only = true;
  return *this;
}

Attribute& Attribute::Deprecated(std::string message) {
  deprecated = true;
  deprecation_message = std::move(message);
  return *this;
}

Attribute& Attribute::RequiresReplace() {
  requires_replace = true;
  return *this;
}

Attribute& Attribute::UseStateForUnknown() {
  use_state_for_unknown = true;
  return *this;
}

Type Attribute::ValueType() const {
  if (!nested) return type;
  std::map<std::string, Type> attributes;
  for (const Attribute& inner : nested->attributes) attributes[inner.name] = inner.ValueType();
  return WrapNesting(Type::Object(std::move(attributes)), nested->nesting);
}

Block& Block::Add(Attribute attribute) {
  attributes.push_back(std::move(attribute));
  return *this;
}

Block& Block::AddBlock(std::string type_name, Block block, Nesting nesting, int64_t min_items,
                       int64_t max_items) {
  block_types.push_back({std::move(type_name), std::make_shared<Block>(std::move(block)), nesting,
                         min_items, max_items});
  return *this;
}

Block& Block::Describe(std::string text) {
  description = std::move(text);
  return *this;
}

const Attribute* Block::FindAttribute(const std::string& name) const {
  for (const Attribute& attribute : attributes) {
    if (attribute.name == name) return &attribute;
  }
  return nullptr;
}

const NestedBlock* Block::FindBlock(const std::string& type_name) const {
  for (const NestedBlock& nested : block_types) {
    if (nested.type_name == type_name) return &nested;
  }
  return nullptr;
}

Type Block::ImpliedType() const {
  std::map<std::string, Type> object;
  for (const Attribute& attribute : attributes) object[attribute.name] = attribute.ValueType();
  for (const NestedBlock& nested : block_types) {
    object[nested.type_name] = WrapNesting(nested.block->ImpliedType(), nested.nesting);
  }
  return Type::Object(std::move(object));
}

Type IdentitySchema::ImpliedType() const {
  std::map<std::string, Type> object;
  for (const IdentityAttribute& attribute : attributes) object[attribute.name] = attribute.type;
  return Type::Object(std::move(object));
}

}  // namespace arnica::tf
