// The planning rules shared by every managed resource (declared in server.h).
#include <map>

#include "provider/tf/server.h"

namespace arnica::tf::planning {
namespace {

// Applies `transform` to each object element of a nested block or nested attribute value,
// pairing it with the element at the same position in `config` and `prior` (lists and single
// objects) or the same key (maps). Set elements cannot be paired by position; they are passed
// with null partners.
template <typename Transform>
Value MapNested(Nesting nesting, const Type& type, const Value& value, const Value& config,
                const Value& prior, Transform transform) {
  if (!value.is_known_non_null()) return value;
  auto partner = [](const Value& collection, size_t index, const Type& element) {
    if (!collection.is_known_non_null() || index >= collection.Elements().size()) {
      return Value::Null(element);
    }
    return collection.Elements()[index];
  };
  switch (nesting) {
    case Nesting::kSingle:
    case Nesting::kGroup:
      return transform(value, config, prior);
    case Nesting::kList:
    case Nesting::kSet: {
      const Type& element = type.element();
      bool positional = nesting == Nesting::kList;
      std::vector<Value> out;
      for (size_t i = 0; i < value.Elements().size(); ++i) {
        Value c = positional ? partner(config, i, element) : Value::Null(element);
        Value p = positional ? partner(prior, i, element) : Value::Null(element);
        out.push_back(transform(value.Elements()[i], c, p));
      }
      return positional ? Value::List(element, std::move(out))
                        : Value::Set(element, std::move(out));
    }
    case Nesting::kMap: {
      const Type& element = type.element();
      std::map<std::string, Value> out;
      for (const auto& [key, item] : value.Entries()) {
        auto lookup = [&](const Value& m) {
          if (!m.is_known_non_null()) return Value::Null(element);
          auto found = m.Entries().find(key);
          return found == m.Entries().end() ? Value::Null(element) : found->second;
        };
        out[key] = transform(item, lookup(config), lookup(prior));
      }
      return Value::Map(element, std::move(out));
    }
  }
  return value;
}

Block BlockOf(const NestedAttributes& nested) {
  Block block;
  block.attributes = nested.attributes;
  return block;
}

Value AttrOrNull(const Value& object, const std::string& name, const Type& type) {
  if (!object.is_known_non_null()) return Value::Null(type);
  return object.GetAttr(name);
}

}  // namespace

Value NullWriteOnly(const Block& block, const Value& value) {
  if (!value.is_known_non_null()) return value;
  Value out = value;
  for (const Attribute& attribute : block.attributes) {
    Type type = attribute.ValueType();
    if (attribute.write_only) {
      out = out.WithAttr(attribute.name, Value::Null(type));
    } else if (attribute.nested) {
      Block inner = BlockOf(*attribute.nested);
      auto recurse = [&](const Value& v, const Value&, const Value&) {
        return NullWriteOnly(inner, v);
      };
      Value nested = out.GetAttr(attribute.name);
      out = out.WithAttr(attribute.name, MapNested(attribute.nested->nesting, type, nested, nested,
                                                   nested, recurse));
    }
  }
  for (const NestedBlock& nested : block.block_types) {
    Value inner = out.GetAttr(nested.type_name);
    auto recurse = [&](const Value& v, const Value&, const Value&) {
      return NullWriteOnly(*nested.block, v);
    };
    out = out.WithAttr(nested.type_name,
                       MapNested(nested.nesting, inner.type(), inner, inner, inner, recurse));
  }
  return out;
}

Value MarkComputedUnknown(const Block& block, const Value& planned, const Value& config,
                          const Value& prior) {
  if (!planned.is_known_non_null()) return planned;
  Value out = planned;
  for (const Attribute& attribute : block.attributes) {
    Type type = attribute.ValueType();
    Value in_config = AttrOrNull(config, attribute.name, type);
    Value in_prior = AttrOrNull(prior, attribute.name, type);
    if (attribute.computed && in_config.is_null() && !attribute.write_only) {
      bool keep = attribute.use_state_for_unknown && in_prior.is_known_non_null();
      out = out.WithAttr(attribute.name, keep ? in_prior : Value::Unknown(type));
    } else if (attribute.nested) {
      Block inner = BlockOf(*attribute.nested);
      auto recurse = [&](const Value& v, const Value& c, const Value& p) {
        return MarkComputedUnknown(inner, v, c, p);
      };
      out = out.WithAttr(attribute.name,
                         MapNested(attribute.nested->nesting, type, out.GetAttr(attribute.name),
                                   in_config, in_prior, recurse));
    }
  }
  for (const NestedBlock& nested : block.block_types) {
    Value value = out.GetAttr(nested.type_name);
    auto recurse = [&](const Value& v, const Value& c, const Value& p) {
      return MarkComputedUnknown(*nested.block, v, c, p);
    };
    out = out.WithAttr(nested.type_name,
                       MapNested(nested.nesting, value.type(), value,
                                 AttrOrNull(config, nested.type_name, value.type()),
                                 AttrOrNull(prior, nested.type_name, value.type()), recurse));
  }
  return out;
}

std::vector<AttributePath> ReplacePaths(const Block& block, const Value& prior,
                                        const Value& planned) {
  std::vector<AttributePath> paths;
  if (!prior.is_known_non_null() || !planned.is_known_non_null()) return paths;
  for (const Attribute& attribute : block.attributes) {
    if (!attribute.requires_replace) continue;
    Value before = prior.GetAttr(attribute.name);
    Value after = planned.GetAttr(attribute.name);
    if (after.is_unknown() || !(before == after)) {
      paths.push_back(AttributePath::Root(attribute.name));
    }
  }
  return paths;
}

namespace {

void CheckValue(const Value& value, bool allow_unknown, const AttributePath& path,
                const std::string& what, Diagnostics& diagnostics) {
  if (allow_unknown || value.IsWhollyKnown()) return;
  diagnostics.AddError(
      "Provider Returned An Incomplete Value",
      "The provider tried to return " + what + " with a value that is not yet known at " +
          (path.empty() ? std::string("the top level") : path.ToString()) +
          ". This is a bug in the provider; please report it with the configuration you used.",
      path);
}

}  // namespace

// Infinities are numbers to the host's type system, but its state file (JSON) cannot hold them:
// accepting one fails the apply after the object was created. Reported at validation instead.
void CheckFinite(const Value& value, const AttributePath& path, Diagnostics& diagnostics) {
  if (!value.is_known_non_null()) return;
  switch (value.type().kind()) {
    case TypeKind::kNumber:
      if (value.AsNumber().is_infinite()) {
        diagnostics.AddError("Number Out Of Range",
                             "This number is infinite, and an infinite number cannot be stored "
                             "in state. Use a finite number.",
                             path);
      }
      return;
    case TypeKind::kList:
    case TypeKind::kTuple:
      for (size_t i = 0; i < value.Elements().size(); ++i) {
        CheckFinite(value.Elements()[i], path.Index(static_cast<int64_t>(i)), diagnostics);
      }
      return;
    case TypeKind::kSet:
      for (const Value& element : value.Elements()) CheckFinite(element, path, diagnostics);
      return;
    case TypeKind::kMap:
      for (const auto& [key, entry] : value.Entries()) {
        CheckFinite(entry, path.Key(key), diagnostics);
      }
      return;
    case TypeKind::kObject:
      for (const auto& [name, entry] : value.Entries()) {
        CheckFinite(entry, path.Attr(name), diagnostics);
      }
      return;
    default:
      return;
  }
}

void CheckResult(const Block& block, const Value& value, bool allow_unknown,
                 const std::string& what, Diagnostics& diagnostics) {
  CheckFinite(value, AttributePath(), diagnostics);
  if (!value.is_known_non_null()) {
    CheckValue(value, allow_unknown, AttributePath(), what, diagnostics);
    return;
  }
  for (const Attribute& attribute : block.attributes) {
    AttributePath path = AttributePath::Root(attribute.name);
    Value attr = value.GetAttr(attribute.name);
    if (attribute.write_only && !attr.is_null()) {
      diagnostics.AddError("Provider Returned A Write-Only Value",
                           "The provider tried to keep the write-only attribute " +
                               path.ToString() + " in " + what +
                               ". This is a bug in the provider; the value was not stored.",
                           path);
    }
    CheckValue(attr, allow_unknown, path, what, diagnostics);
  }
  for (const NestedBlock& nested : block.block_types) {
    CheckValue(value.GetAttr(nested.type_name), allow_unknown,
               AttributePath::Root(nested.type_name), what, diagnostics);
  }
}

}  // namespace arnica::tf::planning
