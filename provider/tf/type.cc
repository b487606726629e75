#include "provider/tf/type.h"

#include <cassert>
#include <optional>
#include <utility>

#include "absl/status/status.h"

namespace arnica::tf {

struct Type::Rep {
  TypeKind kind = TypeKind::kDynamic;
  // Engaged for list, set and map only. std::optional avoids building a default (dynamic) Type
  // inside every Rep, which would recurse while the dynamic singleton is being created.
  std::optional<Type> element;
  std::map<std::string, Type> attributes;
  std::set<std::string> optional;
  std::vector<Type> elements;
  bool has_dynamic = false;
};

namespace {

// Type constraints nest rarely more than a few levels; this only guards the stack against
// hostile input.
constexpr int kMaxTypeDepth = 512;

const char* PrimitiveName(TypeKind kind) {
  switch (kind) {
    case TypeKind::kString:
      return "string";
    case TypeKind::kNumber:
      return "number";
    case TypeKind::kBool:
      return "bool";
    case TypeKind::kDynamic:
      return "dynamic";
    default:
      return nullptr;
  }
}

const char* CollectionName(TypeKind kind) {
  switch (kind) {
    case TypeKind::kList:
      return "list";
    case TypeKind::kSet:
      return "set";
    case TypeKind::kMap:
      return "map";
    default:
      return nullptr;
  }
}

absl::Status Invalid(const std::string& message) {
  return absl::InvalidArgumentError("invalid type constraint: " + message);
}

absl::StatusOr<Type> TypeFromJson(const nlohmann::json& json, int depth) {
  if (depth > kMaxTypeDepth) return Invalid("nested too deeply");
  if (json.is_string()) {
    const std::string& name = json.get_ref<const std::string&>();
    if (name == "string") return Type::String();
    if (name == "number") return Type::Number();
    if (name == "bool") return Type::Bool();
    if (name == "dynamic") return Type::Dynamic();
    return Invalid("unknown type \"" + name + "\"");
  }
  if (!json.is_array() || json.empty() || !json[0].is_string()) {
    return Invalid("expected a type name or an array starting with a type kind, got " +
                   std::string(json.type_name()));
  }
  const std::string& kind = json[0].get_ref<const std::string&>();
  if (kind == "list" || kind == "set" || kind == "map") {
    if (json.size() != 2) return Invalid(kind + " needs exactly one element type");
    absl::StatusOr<Type> element = TypeFromJson(json[1], depth + 1);
    if (!element.ok()) return element.status();
    if (kind == "list") return Type::List(*std::move(element));
    if (kind == "set") return Type::Set(*std::move(element));
    return Type::Map(*std::move(element));
  }
  if (kind == "object") {
    if (json.size() != 2 && json.size() != 3) {
      return Invalid("object needs an attribute map and optionally a list of optional attributes");
    }
    if (!json[1].is_object()) return Invalid("object attributes must be a JSON object");
    std::map<std::string, Type> attributes;
    for (const auto& [name, attribute_json] : json[1].items()) {
      absl::StatusOr<Type> attribute = TypeFromJson(attribute_json, depth + 1);
      if (!attribute.ok()) return attribute.status();
      attributes.emplace(name, *std::move(attribute));
    }
    std::set<std::string> optional;
    if (json.size() == 3) {
      if (!json[2].is_array()) return Invalid("optional object attributes must be an array");
      for (const nlohmann::json& name : json[2]) {
        if (!name.is_string()) return Invalid("optional attribute names must be strings");
        const std::string& text = name.get_ref<const std::string&>();
        if (!attributes.contains(text)) {
          return Invalid("optional attribute \"" + text + "\" is not an attribute of the object");
        }
        optional.insert(text);
      }
    }
    return Type::Object(std::move(attributes), std::move(optional));
  }
  if (kind == "tuple") {
    if (json.size() != 2 || !json[1].is_array()) {
      return Invalid("tuple needs an array of element types");
    }
    std::vector<Type> elements;
    for (const nlohmann::json& element_json : json[1]) {
      absl::StatusOr<Type> element = TypeFromJson(element_json, depth + 1);
      if (!element.ok()) return element.status();
      elements.push_back(*std::move(element));
    }
    return Type::Tuple(std::move(elements));
  }
  return Invalid("unknown type kind \"" + kind + "\"");
}

}  // namespace

Type::Type() : Type(Dynamic()) {}

Type Type::String() { return Primitive(TypeKind::kString); }
Type Type::Number() { return Primitive(TypeKind::kNumber); }
Type Type::Bool() { return Primitive(TypeKind::kBool); }
Type Type::Dynamic() { return Primitive(TypeKind::kDynamic); }

// Primitives and dynamic share one Rep each, so copying or default-constructing them never
// allocates.
Type Type::Primitive(TypeKind kind) {
  static const auto* const kTypes = [] {
    auto* types = new std::map<TypeKind, Type>();
    for (TypeKind k : {TypeKind::kString, TypeKind::kNumber, TypeKind::kBool, TypeKind::kDynamic}) {
      auto rep = std::make_shared<Rep>();
      rep->kind = k;
      rep->has_dynamic = k == TypeKind::kDynamic;
      types->emplace(k, Type(std::move(rep)));
    }
    return types;
  }();
  return kTypes->at(kind);
}

Type Type::List(Type element) {
  auto rep = std::make_shared<Rep>();
  rep->kind = TypeKind::kList;
  rep->has_dynamic = element.HasDynamic();
  rep->element = std::move(element);
  return Type(std::move(rep));
}

Type Type::Set(Type element) {
  auto rep = std::make_shared<Rep>();
  rep->kind = TypeKind::kSet;
  rep->has_dynamic = element.HasDynamic();
  rep->element = std::move(element);
  return Type(std::move(rep));
}

Type Type::Map(Type element) {
  auto rep = std::make_shared<Rep>();
  rep->kind = TypeKind::kMap;
  rep->has_dynamic = element.HasDynamic();
  rep->element = std::move(element);
  return Type(std::move(rep));
}

Type Type::Object(std::map<std::string, Type> attributes, std::set<std::string> optional) {
  auto rep = std::make_shared<Rep>();
  rep->kind = TypeKind::kObject;
  for (const auto& [name, type] : attributes) rep->has_dynamic |= type.HasDynamic();
  for ([[maybe_unused]] const std::string& name : optional) {
    assert(attributes.contains(name) && "optional attribute missing from the object type");
  }
  rep->attributes = std::move(attributes);
  rep->optional = std::move(optional);
  return Type(std::move(rep));
}

Type Type::Tuple(std::vector<Type> elements) {
  auto rep = std::make_shared<Rep>();
  rep->kind = TypeKind::kTuple;
  for (const Type& type : elements) rep->has_dynamic |= type.HasDynamic();
  rep->elements = std::move(elements);
  return Type(std::move(rep));
}

TypeKind Type::kind() const { return rep_->kind; }

bool Type::is_primitive() const {
  TypeKind k = kind();
  return k == TypeKind::kString || k == TypeKind::kNumber || k == TypeKind::kBool;
}

bool Type::is_collection() const {
  TypeKind k = kind();
  return k == TypeKind::kList || k == TypeKind::kSet || k == TypeKind::kMap;
}

const Type& Type::element() const {
  if (rep_->element.has_value()) return *rep_->element;
  // Not a collection: hand out something valid rather than a dangling reference.
  static const Type* const kDynamic = new Type(Dynamic());
  return *kDynamic;
}

const std::map<std::string, Type>& Type::attributes() const { return rep_->attributes; }
const std::set<std::string>& Type::optional_attributes() const { return rep_->optional; }
const std::vector<Type>& Type::elements() const { return rep_->elements; }

bool Type::HasDynamic() const { return rep_->has_dynamic; }

nlohmann::json Type::ToJson() const {
  if (const char* name = PrimitiveName(kind())) return name;
  if (const char* name = CollectionName(kind())) {
    return nlohmann::json::array({name, element().ToJson()});
  }
  if (kind() == TypeKind::kObject) {
    nlohmann::json attributes = nlohmann::json::object();
    for (const auto& [name, type] : rep_->attributes) attributes[name] = type.ToJson();
    nlohmann::json out = nlohmann::json::array({"object", std::move(attributes)});
    if (!rep_->optional.empty()) {
      // std::set iterates in sorted order, which is the order cty writes.
      nlohmann::json optional = nlohmann::json::array();
      for (const std::string& name : rep_->optional) optional.push_back(name);
      out.push_back(std::move(optional));
    }
    return out;
  }
  nlohmann::json elements = nlohmann::json::array();
  for (const Type& type : rep_->elements) elements.push_back(type.ToJson());
  return nlohmann::json::array({"tuple", std::move(elements)});
}

absl::StatusOr<Type> Type::FromJson(const nlohmann::json& json) { return TypeFromJson(json, 0); }

std::string Type::FriendlyName() const {
  if (const char* name = PrimitiveName(kind())) return name;
  if (const char* name = CollectionName(kind())) {
    return std::string(name) + " of " + element().FriendlyName();
  }
  return kind() == TypeKind::kObject ? "object" : "tuple";
}

bool operator==(const Type& a, const Type& b) {
  if (a.rep_ == b.rep_) return true;
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case TypeKind::kList:
    case TypeKind::kSet:
    case TypeKind::kMap:
      return a.element() == b.element();
    case TypeKind::kObject:
      return a.rep_->attributes == b.rep_->attributes && a.rep_->optional == b.rep_->optional;
    case TypeKind::kTuple:
      return a.rep_->elements == b.rep_->elements;
    default:
      return true;  // primitives and dynamic have no structure
  }
}

}  // namespace arnica::tf
