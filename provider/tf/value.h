// Values of the host's type system, including null and unknown (with refinements).
//
// A Value is immutable and cheap to copy. It always carries its own type; a value that fills a
// `dynamic` slot carries the concrete type it turned out to have, except null and unknown, which
// may be typed `dynamic` themselves. Set elements are kept in the order they arrived; equality of
// sets ignores that order.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "provider/tf/decimal.h"
#include "provider/tf/type.h"

namespace arnica::tf {

// What the host already knows about an unknown value (protocol ext 12). Every field is optional;
// a default-constructed Refinements means "unrefined".
struct Refinements {
  std::optional<bool> nullable;  // false: definitely not null
  std::optional<std::string> string_prefix;
  std::optional<std::pair<Decimal, bool>> number_lower;  // bound, inclusive
  std::optional<std::pair<Decimal, bool>> number_upper;
  std::optional<int64_t> length_lower;  // collections, inclusive
  std::optional<int64_t> length_upper;

  bool empty() const;
  friend bool operator==(const Refinements&, const Refinements&) = default;
};

class Value {
 public:
  // A null `dynamic`.
  Value();

  static Value Null(Type type);
  static Value Unknown(Type type, Refinements refinements = {});
  static Value String(std::string value);
  static Value Number(Decimal value);
  static Value Number(int64_t value) { return Number(Decimal::FromInt(value)); }
  static Value Bool(bool value);
  static Value List(Type element, std::vector<Value> elements);
  // Duplicates (by equality) are dropped, keeping the first.
  static Value Set(Type element, std::vector<Value> elements);
  static Value Map(Type element, std::map<std::string, Value> entries);
  // `type` must be an object type; attributes missing from `attributes` become null.
  static Value Object(Type type, std::map<std::string, Value> attributes);
  static Value Tuple(Type type, std::vector<Value> elements);

  const Type& type() const;
  bool is_null() const;
  bool is_unknown() const;
  // Neither null nor unknown.
  bool is_known_non_null() const { return !is_null() && !is_unknown(); }
  // No unknown anywhere inside.
  bool IsWhollyKnown() const;
  const Refinements& refinements() const;  // empty unless unknown

  // Accessors; calling one on the wrong kind, on null or on unknown is a programming error.
  const std::string& AsString() const;
  const Decimal& AsNumber() const;
  bool AsBool() const;
  // Elements of a list, set or tuple.
  const std::vector<Value>& Elements() const;
  // Entries of a map, or attributes of an object.
  const std::map<std::string, Value>& Entries() const;

  // Attribute access on objects: returns a null of the attribute type when this object is null,
  // an unknown when this object is unknown. An attribute that the type lacks is a programming
  // error.
  Value GetAttr(const std::string& name) const;
  // A copy of this object with one attribute replaced.
  Value WithAttr(const std::string& name, Value value) const;

  // Structural equality: same type, same nullness and knownness, same refinements, equal
  // contents. Two unknowns of the same type and refinements are equal.
  friend bool operator==(const Value& a, const Value& b);

  // A short rendering for logs and diagnostics: "\"abc\"", "12", "(unknown)", "null",
  // ["a", "b"], {a = 1}. Callers must not render sensitive values.
  std::string ToDebugString() const;

 private:
  struct Rep;
  explicit Value(std::shared_ptr<const Rep> rep) : rep_(std::move(rep)) {}
  std::shared_ptr<const Rep> rep_;
};

}  // namespace arnica::tf
