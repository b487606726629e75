// The host's type system: primitives, collections, structural types and `dynamic`.
//
// Types are immutable values that are cheap to copy (they share their structure). Their JSON
// form is the type constraint the protocol carries in schema attributes, function signatures
// and dynamic values: "string", ["list","number"], ["object",{"a":"bool"},["a"]], "dynamic".
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace arnica::tf {

enum class TypeKind { kString, kNumber, kBool, kList, kSet, kMap, kObject, kTuple, kDynamic };

class Type {
 public:
  // `dynamic`, so that a default-constructed Type is valid.
  Type();

  static Type String();
  static Type Number();
  static Type Bool();
  static Type Dynamic();
  static Type List(Type element);
  static Type Set(Type element);
  static Type Map(Type element);
  // `optional` names attributes that may be omitted in function arguments; it never affects
  // value encoding.
  static Type Object(std::map<std::string, Type> attributes, std::set<std::string> optional = {});
  static Type Tuple(std::vector<Type> elements);

  TypeKind kind() const;
  bool is_primitive() const;
  bool is_collection() const;  // list, set, map
  bool is_dynamic() const { return kind() == TypeKind::kDynamic; }

  // The element type of a list, set or map. Undefined for other kinds.
  const Type& element() const;
  // The attributes of an object. Empty for other kinds.
  const std::map<std::string, Type>& attributes() const;
  const std::set<std::string>& optional_attributes() const;
  // The element types of a tuple. Empty for other kinds.
  const std::vector<Type>& elements() const;

  // True when the type contains `dynamic` anywhere.
  bool HasDynamic() const;

  nlohmann::json ToJson() const;
  static absl::StatusOr<Type> FromJson(const nlohmann::json& json);
  // "list of string", "object", ... for diagnostics.
  std::string FriendlyName() const;

  friend bool operator==(const Type& a, const Type& b);

 private:
  struct Rep;
  // The shared instance of a primitive or dynamic type.
  static Type Primitive(TypeKind kind);
  explicit Type(std::shared_ptr<const Rep> rep) : rep_(std::move(rep)) {}
  std::shared_ptr<const Rep> rep_;
};

}  // namespace arnica::tf
