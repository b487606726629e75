// Small readers shared by the service clients. Internal to provider/clients.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace arnica::clients::internal {

// The string at `key`, or "" when it is absent or not a string.
inline std::string StringField(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return {};
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// A 2xx answer whose body is not what the API documents: nothing is assumed from it.
inline absl::Status Malformed(std::string_view service, std::string_view what) {
  return absl::FailedPreconditionError(
      absl::StrCat(std::string(service), "'s answer to ", std::string(what),
                   " is not the JSON expected; nothing was changed. Run again, and report it if "
                   "it persists."));
}

inline bool Success(long status) { return status >= 200 && status <= 299; }

}  // namespace arnica::clients::internal
