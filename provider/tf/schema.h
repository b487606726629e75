// The schema model: what a provider, resource or data source declares to the host, plus the
// planning behaviour of each attribute that the framework applies for it.
//
// Builders keep declarations readable:
//   Block().Add(Attribute::Required("workspace", Type::String()).Describe("Slug or UUID.")
//                   .RequiresReplace())
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "provider/tf/type.h"

namespace arnica::tf {

enum class Nesting { kSingle, kList, kSet, kMap, kGroup };

struct Block;
struct NestedAttributes;

struct Attribute {
  std::string name;
  Type type;  // ignored when `nested` is set
  std::shared_ptr<NestedAttributes> nested;
  std::string description;  // Markdown
  bool required = false;
  bool optional = false;
  bool computed = false;
  bool sensitive = false;
  bool write_only = false;
  bool deprecated = false;
  std::string deprecation_message;

  // Planning behaviour (never sent to the host).
  // A change of this attribute replaces the object.
  bool requires_replace = false;
  // A computed value that, once known, stays as it is on update (ids, creation facts) instead
  // of becoming unknown whenever anything else changes.
  bool use_state_for_unknown = false;

  static Attribute Required(std::string name, Type type);
  static Attribute Optional(std::string name, Type type);
  static Attribute Computed(std::string name, Type type);
  static Attribute OptionalComputed(std::string name, Type type);

  Attribute& Describe(std::string text);
  Attribute& Sensitive();
  Attribute& WriteOnly();
  Attribute& Deprecated(std::string message);
  Attribute& RequiresReplace();
  Attribute& UseStateForUnknown();

  // The value type this attribute has in the implied object type.
  Type ValueType() const;
};

struct NestedAttributes {
  std::vector<Attribute> attributes;
  Nesting nesting = Nesting::kSingle;  // kGroup is not valid here
};

struct NestedBlock {
  std::string type_name;
  std::shared_ptr<Block> block;
  Nesting nesting = Nesting::kList;
  int64_t min_items = 0;
  int64_t max_items = 0;
};

struct Block {
  std::vector<Attribute> attributes;
  std::vector<NestedBlock> block_types;
  std::string description;  // Markdown
  bool deprecated = false;
  std::string deprecation_message;

  Block& Add(Attribute attribute);
  Block& AddBlock(std::string type_name, Block block, Nesting nesting, int64_t min_items = 0,
                  int64_t max_items = 0);
  Block& Describe(std::string text);

  const Attribute* FindAttribute(const std::string& name) const;
  const NestedBlock* FindBlock(const std::string& type_name) const;
  // The object type of values that conform to this block.
  Type ImpliedType() const;
};

struct Schema {
  int64_t version = 0;
  Block block;
};

// The identity schema of a managed resource: flat, primitive attributes only.
struct IdentityAttribute {
  std::string name;
  Type type;
  bool required_for_import = false;
  bool optional_for_import = false;
  std::string description;
};

struct IdentitySchema {
  int64_t version = 0;
  std::vector<IdentityAttribute> attributes;

  Type ImpliedType() const;
};

}  // namespace arnica::tf
