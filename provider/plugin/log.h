// Structured logging in the host's format: one JSON object a line on stderr, with `@level`,
// `@message`, `@timestamp` (microseconds, UTC) and `@module`, which go-plugin parses and
// re-logs at the same level. stdout is reserved for the handshake line.
//
// The level comes from TF_LOG_PROVIDER, else TF_LOG (TRACE, DEBUG, INFO, WARN, ERROR, OFF; JSON
// means TRACE). Unset means INFO for warnings and errors to still reach the host's log.
// Thread-safe: each entry is written with a single write(2).
#pragma once

#include <string_view>

#include "nlohmann/json.hpp"

namespace arnica::plugin {

enum class LogLevel { kTrace = 0, kDebug, kInfo, kWarn, kError, kOff };

class Log {
 public:
  // Reads the level from the environment; call once at start-up.
  static void Init();
  static void SetLevel(LogLevel level);
  static LogLevel level();
  static bool Enabled(LogLevel level);

  // `fields` must never contain a secret; keys are defined in log_keys.h.
  static void Write(LogLevel level, std::string_view message,
                    const nlohmann::json& fields = nlohmann::json::object());

  static void Trace(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) {
    if (Enabled(LogLevel::kTrace)) Write(LogLevel::kTrace, m, f);
  }
  static void Debug(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) {
    if (Enabled(LogLevel::kDebug)) Write(LogLevel::kDebug, m, f);
  }
  static void Info(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) {
    if (Enabled(LogLevel::kInfo)) Write(LogLevel::kInfo, m, f);
  }
  static void Warn(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) {
    if (Enabled(LogLevel::kWarn)) Write(LogLevel::kWarn, m, f);
  }
  static void Error(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) {
    if (Enabled(LogLevel::kError)) Write(LogLevel::kError, m, f);
  }

  // "2026-12-04T15:30:00.123456Z"
  static std::string Timestamp();
  static LogLevel ParseLevel(std::string_view text);
};

}  // namespace arnica::plugin
