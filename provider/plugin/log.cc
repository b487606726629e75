#include "provider/plugin/log.h"

#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

namespace arnica::plugin {
namespace {

constexpr char kModule[] = "provider.terraform-provider-arnica";

std::atomic<LogLevel> g_level{LogLevel::kInfo};

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace:
      return "trace";
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
    case LogLevel::kOff:
      break;
  }
  return "off";
}

void WriteAll(int fd, const std::string& text) {
  size_t written = 0;
  while (written < text.size()) {
    ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n <= 0) return;  // stderr gone: nothing sensible left to do
    written += static_cast<size_t>(n);
  }
}

}  // namespace

LogLevel Log::ParseLevel(std::string_view text) {
  std::string upper;
  for (char c : text) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper == "TRACE" || upper == "JSON") return LogLevel::kTrace;
  if (upper == "DEBUG") return LogLevel::kDebug;
  if (upper == "INFO") return LogLevel::kInfo;
  if (upper == "WARN") return LogLevel::kWarn;
  if (upper == "ERROR") return LogLevel::kError;
  if (upper == "OFF") return LogLevel::kOff;
  return LogLevel::kInfo;
}

void Log::Init() {
  const char* provider = std::getenv("TF_LOG_PROVIDER");
  const char* global = std::getenv("TF_LOG");
  if (provider != nullptr && *provider != '\0') {
    SetLevel(ParseLevel(provider));
  } else if (global != nullptr && *global != '\0') {
    SetLevel(ParseLevel(global));
  }
}

void Log::SetLevel(LogLevel level) { g_level.store(level, std::memory_order_relaxed); }

LogLevel Log::level() { return g_level.load(std::memory_order_relaxed); }

bool Log::Enabled(LogLevel level) {
  LogLevel threshold = Log::level();
  return threshold != LogLevel::kOff && level >= threshold;
}

std::string Log::Timestamp() {
  auto now = std::chrono::system_clock::now();
  auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(micros / 1000000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<long long>(micros % 1000000));
  return buffer;
}

void Log::Write(LogLevel level, std::string_view message, const nlohmann::json& fields) {
  nlohmann::json entry = fields.is_object() ? fields : nlohmann::json::object();
  entry["@level"] = LevelName(level);
  entry["@message"] = std::string(message);
  entry["@timestamp"] = Timestamp();
  entry["@module"] = kModule;
  WriteAll(STDERR_FILENO,
           entry.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

}  // namespace arnica::plugin
