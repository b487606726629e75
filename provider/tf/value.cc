#include "provider/tf/value.h"

#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <stdexcept>
#include <unordered_map>

namespace arnica::tf {

bool Refinements::empty() const {
  return !nullable && !string_prefix && !number_lower && !number_upper && !length_lower &&
         !length_upper;
}

struct Value::Rep {
  enum class State : uint8_t { kKnown, kNull, kUnknown };

  Type type;
  State state = State::kNull;
  Refinements refinements;
  std::string string_value;
  Decimal number_value;
  bool bool_value = false;
  std::vector<Value> elements;           // list, set, tuple
  std::map<std::string, Value> entries;  // map, object
};

namespace {

// Misuse of the accessors is a bug in the caller. Failing loudly beats reading the wrong member;
// throwing (rather than aborting) lets the protocol layer turn the bug into an error diagnostic
// for the one request that hit it, instead of a crashed plugin. `what` is fixed text: it never
// quotes a value, which might be secret.
void Require(bool condition, const char* what) {
  if (!condition) throw std::logic_error(std::string("arnica::tf::Value: ") + what);
}

// Whether a value of type `actual` may sit in a slot of type `slot`: `dynamic` accepts anything
// and the rest must match in shape. Used in debug assertions only.
[[maybe_unused]] bool Conforms(const Type& actual, const Type& slot) {
  if (slot.is_dynamic()) return true;
  if (actual.kind() != slot.kind()) return false;
  switch (slot.kind()) {
    case TypeKind::kList:
    case TypeKind::kSet:
    case TypeKind::kMap:
      return Conforms(actual.element(), slot.element());
    case TypeKind::kObject: {
      if (actual.attributes().size() != slot.attributes().size()) return false;
      for (const auto& [name, type] : slot.attributes()) {
        auto found = actual.attributes().find(name);
        if (found == actual.attributes().end() || !Conforms(found->second, type)) return false;
      }
      return true;
    }
    case TypeKind::kTuple: {
      if (actual.elements().size() != slot.elements().size()) return false;
      for (size_t i = 0; i < slot.elements().size(); ++i) {
        if (!Conforms(actual.elements()[i], slot.elements()[i])) return false;
      }
      return true;
    }
    default:
      return true;
  }
}

void AppendQuoted(const std::string& text, std::string& out) {
  out += '"';
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buffer[8];
          std::snprintf(buffer, sizeof(buffer), "\\u%04x", static_cast<unsigned char>(c));
          out += buffer;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

// A hash consistent with operator==, so that sets of thousands of elements are deduplicated and
// compared in linear rather than quadratic time. Set elements combine order-independently.
size_t HashValue(const Value& value) {
  size_t hash = static_cast<size_t>(value.type().kind()) * 31;
  if (value.is_unknown()) return hash ^ 0x9e3779b9;
  if (value.is_null()) return hash ^ 0x7f4a7c15;
  auto combine = [&hash](size_t part) { hash = hash * 1099511628211u ^ part; };
  switch (value.type().kind()) {
    case TypeKind::kString:
      combine(std::hash<std::string>()(value.AsString()));
      break;
    case TypeKind::kNumber:
      // Decimals are normalised, so equal numbers print alike.
      combine(std::hash<std::string>()(value.AsNumber().ToString()));
      break;
    case TypeKind::kBool:
      combine(value.AsBool() ? 1 : 2);
      break;
    case TypeKind::kSet: {
      size_t sum = 0;
      for (const Value& item : value.Elements()) sum += HashValue(item);
      combine(sum);
      break;
    }
    case TypeKind::kList:
    case TypeKind::kTuple:
      for (const Value& item : value.Elements()) combine(HashValue(item));
      break;
    case TypeKind::kMap:
    case TypeKind::kObject:
      for (const auto& [key, item] : value.Entries()) {
        combine(std::hash<std::string>()(key));
        combine(HashValue(item));
      }
      break;
    case TypeKind::kDynamic:
      break;
  }
  return hash;
}

// Positions in a vector of values, grouped by hash, for equality lookups.
class HashIndex {
 public:
  explicit HashIndex(size_t expected) { buckets_.reserve(expected); }

  // Returns true when a value equal to `value` is already indexed; otherwise records `index` as
  // the position of `value` in `storage`.
  bool FindOrAdd(const Value& value, const std::vector<Value>& storage, size_t index) {
    std::vector<size_t>& bucket = buckets_[HashValue(value)];
    for (size_t other : bucket) {
      if (storage[other] == value) return true;
    }
    bucket.push_back(index);
    return false;
  }

  bool Contains(const Value& value, const std::vector<Value>& storage) const {
    auto found = buckets_.find(HashValue(value));
    if (found == buckets_.end()) return false;
    for (size_t other : found->second) {
      if (storage[other] == value) return true;
    }
    return false;
  }

 private:
  std::unordered_map<size_t, std::vector<size_t>> buckets_;
};

// Object attribute names print bare when they look like identifiers, as HCL would show them.
bool IsIdentifier(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return !(name[0] >= '0' && name[0] <= '9');
}

}  // namespace

// Default-constructed values are common (std::map::operator[]), so they share one Rep.
Value::Value() {
  static const Value* const kNullDynamic = new Value(Null(Type::Dynamic()));
  rep_ = kNullDynamic->rep_;
}

Value Value::Null(Type type) {
  auto rep = std::make_shared<Rep>();
  rep->type = std::move(type);
  rep->state = Rep::State::kNull;
  return Value(std::move(rep));
}

Value Value::Unknown(Type type, Refinements refinements) {
  auto rep = std::make_shared<Rep>();
  rep->type = std::move(type);
  rep->state = Rep::State::kUnknown;
  rep->refinements = std::move(refinements);
  return Value(std::move(rep));
}

Value Value::String(std::string value) {
  auto rep = std::make_shared<Rep>();
  rep->type = Type::String();
  rep->state = Rep::State::kKnown;
  rep->string_value = std::move(value);
  return Value(std::move(rep));
}

Value Value::Number(Decimal value) {
  auto rep = std::make_shared<Rep>();
  rep->type = Type::Number();
  rep->state = Rep::State::kKnown;
  rep->number_value = std::move(value);
  return Value(std::move(rep));
}

Value Value::Bool(bool value) {
  auto rep = std::make_shared<Rep>();
  rep->type = Type::Bool();
  rep->state = Rep::State::kKnown;
  rep->bool_value = value;
  return Value(std::move(rep));
}

Value Value::List(Type element, std::vector<Value> elements) {
  for ([[maybe_unused]] const Value& item : elements) {
    assert(Conforms(item.type(), element) && "list element does not match the element type");
  }
  auto rep = std::make_shared<Rep>();
  rep->type = Type::List(std::move(element));
  rep->state = Rep::State::kKnown;
  rep->elements = std::move(elements);
  return Value(std::move(rep));
}

Value Value::Set(Type element, std::vector<Value> elements) {
  auto rep = std::make_shared<Rep>();
  HashIndex index(elements.size());
  for (Value& item : elements) {
    assert(Conforms(item.type(), element) && "set element does not match the element type");
    // The index records the position the element is about to take.
    if (index.FindOrAdd(item, rep->elements, rep->elements.size())) continue;
    rep->elements.push_back(std::move(item));
  }
  rep->type = Type::Set(std::move(element));
  rep->state = Rep::State::kKnown;
  return Value(std::move(rep));
}

Value Value::Map(Type element, std::map<std::string, Value> entries) {
  for ([[maybe_unused]] const auto& [key, item] : entries) {
    assert(Conforms(item.type(), element) && "map entry does not match the element type");
  }
  auto rep = std::make_shared<Rep>();
  rep->type = Type::Map(std::move(element));
  rep->state = Rep::State::kKnown;
  rep->entries = std::move(entries);
  return Value(std::move(rep));
}

Value Value::Object(Type type, std::map<std::string, Value> attributes) {
  Require(type.kind() == TypeKind::kObject, "Object() needs an object type");
  for (const auto& [name, item] : attributes) {
    auto found = type.attributes().find(name);
    Require(found != type.attributes().end(), "Object() got an attribute the type lacks");
    assert(Conforms(item.type(), found->second) && "attribute does not match its type");
  }
  for (const auto& [name, attribute_type] : type.attributes()) {
    if (!attributes.contains(name)) attributes.emplace(name, Null(attribute_type));
  }
  auto rep = std::make_shared<Rep>();
  rep->type = std::move(type);
  rep->state = Rep::State::kKnown;
  rep->entries = std::move(attributes);
  return Value(std::move(rep));
}

Value Value::Tuple(Type type, std::vector<Value> elements) {
  Require(type.kind() == TypeKind::kTuple, "Tuple() needs a tuple type");
  Require(type.elements().size() == elements.size(), "Tuple() got the wrong number of elements");
  for ([[maybe_unused]] size_t i = 0; i < elements.size(); ++i) {
    assert(Conforms(elements[i].type(), type.elements()[i]) && "tuple element type mismatch");
  }
  auto rep = std::make_shared<Rep>();
  rep->type = std::move(type);
  rep->state = Rep::State::kKnown;
  rep->elements = std::move(elements);
  return Value(std::move(rep));
}

const Type& Value::type() const { return rep_->type; }
bool Value::is_null() const { return rep_->state == Rep::State::kNull; }
bool Value::is_unknown() const { return rep_->state == Rep::State::kUnknown; }

bool Value::IsWhollyKnown() const {
  if (is_unknown()) return false;
  if (is_null()) return true;
  for (const Value& item : rep_->elements) {
    if (!item.IsWhollyKnown()) return false;
  }
  for (const auto& [key, item] : rep_->entries) {
    if (!item.IsWhollyKnown()) return false;
  }
  return true;
}

const Refinements& Value::refinements() const { return rep_->refinements; }

const std::string& Value::AsString() const {
  Require(is_known_non_null() && type().kind() == TypeKind::kString, "AsString() on a non-string");
  return rep_->string_value;
}

const Decimal& Value::AsNumber() const {
  Require(is_known_non_null() && type().kind() == TypeKind::kNumber, "AsNumber() on a non-number");
  return rep_->number_value;
}

bool Value::AsBool() const {
  Require(is_known_non_null() && type().kind() == TypeKind::kBool, "AsBool() on a non-bool");
  return rep_->bool_value;
}

const std::vector<Value>& Value::Elements() const {
  TypeKind kind = type().kind();
  Require(is_known_non_null() &&
              (kind == TypeKind::kList || kind == TypeKind::kSet || kind == TypeKind::kTuple),
          "Elements() on a value that is not a known list, set or tuple");
  return rep_->elements;
}

const std::map<std::string, Value>& Value::Entries() const {
  TypeKind kind = type().kind();
  Require(is_known_non_null() && (kind == TypeKind::kMap || kind == TypeKind::kObject),
          "Entries() on a value that is not a known map or object");
  return rep_->entries;
}

Value Value::GetAttr(const std::string& name) const {
  Require(type().kind() == TypeKind::kObject, "GetAttr() on a non-object");
  auto attribute = type().attributes().find(name);
  Require(attribute != type().attributes().end(), "GetAttr() of an attribute the type lacks");
  if (is_null()) return Null(attribute->second);
  if (is_unknown()) return Unknown(attribute->second);
  return rep_->entries.at(name);
}

Value Value::WithAttr(const std::string& name, Value value) const {
  Require(is_known_non_null() && type().kind() == TypeKind::kObject,
          "WithAttr() on a value that is not a known object");
  auto attribute = type().attributes().find(name);
  Require(attribute != type().attributes().end(), "WithAttr() of an attribute the type lacks");
  assert(Conforms(value.type(), attribute->second) && "attribute does not match its type");
  auto rep = std::make_shared<Rep>(*rep_);
  rep->entries[name] = std::move(value);
  return Value(std::move(rep));
}

bool operator==(const Value& a, const Value& b) {
  if (a.rep_ == b.rep_) return true;
  if (a.rep_->state != b.rep_->state || !(a.type() == b.type())) return false;
  if (a.is_unknown()) return a.rep_->refinements == b.rep_->refinements;
  if (a.is_null()) return true;
  switch (a.type().kind()) {
    case TypeKind::kString:
      return a.rep_->string_value == b.rep_->string_value;
    case TypeKind::kNumber:
      return a.rep_->number_value == b.rep_->number_value;
    case TypeKind::kBool:
      return a.rep_->bool_value == b.rep_->bool_value;
    case TypeKind::kSet: {
      // Elements are distinct, so equal sizes plus inclusion one way means equal sets.
      const auto& left = a.rep_->elements;
      const auto& right = b.rep_->elements;
      if (left.size() != right.size()) return false;
      HashIndex index(right.size());
      for (size_t i = 0; i < right.size(); ++i) index.FindOrAdd(right[i], right, i);
      for (const Value& item : left) {
        if (!index.Contains(item, right)) return false;
      }
      return true;
    }
    case TypeKind::kList:
    case TypeKind::kTuple:
      return a.rep_->elements == b.rep_->elements;
    case TypeKind::kMap:
    case TypeKind::kObject:
      return a.rep_->entries == b.rep_->entries;
    case TypeKind::kDynamic:
      return true;  // a known value always has a concrete type; unreachable
  }
  return false;
}

std::string Value::ToDebugString() const {
  if (is_unknown()) return "(unknown)";
  if (is_null()) return "null";
  std::string out;
  switch (type().kind()) {
    case TypeKind::kString:
      AppendQuoted(rep_->string_value, out);
      return out;
    case TypeKind::kNumber:
      return rep_->number_value.ToString();
    case TypeKind::kBool:
      return rep_->bool_value ? "true" : "false";
    case TypeKind::kList:
    case TypeKind::kSet:
    case TypeKind::kTuple: {
      out += '[';
      for (size_t i = 0; i < rep_->elements.size(); ++i) {
        if (i > 0) out += ", ";
        out += rep_->elements[i].ToDebugString();
      }
      out += ']';
      return out;
    }
    case TypeKind::kMap:
    case TypeKind::kObject: {
      bool object = type().kind() == TypeKind::kObject;
      out += '{';
      bool first = true;
      for (const auto& [key, item] : rep_->entries) {
        if (!first) out += ", ";
        first = false;
        if (object && IsIdentifier(key)) {
          out += key;
        } else {
          AppendQuoted(key, out);
        }
        out += " = ";
        out += item.ToDebugString();
      }
      out += '}';
      return out;
    }
    case TypeKind::kDynamic:
      break;
  }
  return "null";
}

}  // namespace arnica::tf
