// Diagnostics: what the user sees when something is wrong, with the attribute it concerns.
//
// Convention: the summary is a short Title-Case phrase; the detail is full sentences that say
// what happened and what to do about it. Neither may ever contain a secret.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace arnica::tf {

// A path into a value: attribute names, map keys and list/tuple indexes. Sets have no step; a
// path into a set stops at the set.
class AttributePath {
 public:
  struct AttributeName {
    std::string name;
    friend bool operator==(const AttributeName&, const AttributeName&) = default;
  };
  struct ElementKeyString {
    std::string key;
    friend bool operator==(const ElementKeyString&, const ElementKeyString&) = default;
  };
  struct ElementKeyInt {
    int64_t index;
    friend bool operator==(const ElementKeyInt&, const ElementKeyInt&) = default;
  };
  using Step = std::variant<AttributeName, ElementKeyString, ElementKeyInt>;

  AttributePath() = default;
  explicit AttributePath(std::vector<Step> steps) : steps_(std::move(steps)) {}
  static AttributePath Root(std::string attribute) {
    return AttributePath().Attr(std::move(attribute));
  }

  AttributePath Attr(std::string name) const;
  AttributePath Key(std::string key) const;
  AttributePath Index(int64_t index) const;

  const std::vector<Step>& steps() const { return steps_; }
  bool empty() const { return steps_.empty(); }
  // HCL-like rendering for messages: `bitbucket.workspaces[2]`, `tags["env"]`.
  std::string ToString() const;

  friend bool operator==(const AttributePath&, const AttributePath&) = default;

 private:
  std::vector<Step> steps_;
};

enum class Severity { kError, kWarning };

struct Diagnostic {
  Severity severity = Severity::kError;
  std::string summary;
  std::string detail;
  std::optional<AttributePath> attribute;
};

class Diagnostics {
 public:
  void AddError(std::string summary, std::string detail,
                std::optional<AttributePath> attribute = std::nullopt);
  void AddWarning(std::string summary, std::string detail,
                  std::optional<AttributePath> attribute = std::nullopt);
  void Add(Diagnostic diagnostic) { items_.push_back(std::move(diagnostic)); }
  void Append(const Diagnostics& other);

  bool HasError() const;
  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }
  const std::vector<Diagnostic>& items() const { return items_; }
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }

 private:
  std::vector<Diagnostic> items_;
};

}  // namespace arnica::tf
