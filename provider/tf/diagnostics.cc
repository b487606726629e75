#include "provider/tf/diagnostics.h"

#include <algorithm>

#include "nlohmann/json.hpp"

namespace arnica::tf {

AttributePath AttributePath::Attr(std::string name) const {
  AttributePath path = *this;
  path.steps_.emplace_back(AttributeName{std::move(name)});
  return path;
}

AttributePath AttributePath::Key(std::string key) const {
  AttributePath path = *this;
  path.steps_.emplace_back(ElementKeyString{std::move(key)});
  return path;
}

AttributePath AttributePath::Index(int64_t index) const {
  AttributePath path = *this;
  path.steps_.emplace_back(ElementKeyInt{index});
  return path;
}

std::string AttributePath::ToString() const {
  std::string out;
  for (const Step& step : steps_) {
    if (const auto* attribute = std::get_if<AttributeName>(&step)) {
      if (!out.empty()) out += '.';
      out += attribute->name;
    } else if (const auto* key = std::get_if<ElementKeyString>(&step)) {
      out += '[' + nlohmann::json(key->key).dump() + ']';
    } else {
      out += '[' + std::to_string(std::get<ElementKeyInt>(step).index) + ']';
    }
  }
  return out;
}

void Diagnostics::AddError(std::string summary, std::string detail,
                           std::optional<AttributePath> attribute) {
  items_.push_back({Severity::kError, std::move(summary), std::move(detail), std::move(attribute)});
}

void Diagnostics::AddWarning(std::string summary, std::string detail,
                             std::optional<AttributePath> attribute) {
  items_.push_back(
      {Severity::kWarning, std::move(summary), std::move(detail), std::move(attribute)});
}

void Diagnostics::Append(const Diagnostics& other) {
  items_.insert(items_.end(), other.items_.begin(), other.items_.end());
}

bool Diagnostics::HasError() const {
  return std::any_of(items_.begin(), items_.end(),
                     [](const Diagnostic& d) { return d.severity == Severity::kError; });
}

}  // namespace arnica::tf
