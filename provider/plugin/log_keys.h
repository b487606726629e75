// Keys of structured log fields, defined once. They follow terraform-plugin-go's names where
// one exists, so that log filters written for Go providers keep working.
#pragma once

namespace arnica::plugin::log_keys {

inline constexpr char kRpc[] = "tf_rpc";
inline constexpr char kRequestId[] = "tf_req_id";
inline constexpr char kResourceType[] = "tf_resource_type";
inline constexpr char kDataSourceType[] = "tf_data_source_type";
inline constexpr char kFunctionName[] = "tf_function_name";
inline constexpr char kDurationMs[] = "tf_req_duration_ms";
inline constexpr char kDiagnosticErrors[] = "diagnostic_error_count";
inline constexpr char kDiagnosticWarnings[] = "diagnostic_warning_count";
inline constexpr char kVersion[] = "version";
inline constexpr char kCommit[] = "commit";
inline constexpr char kHttpMethod[] = "http_method";
inline constexpr char kHttpPath[] = "http_path";
inline constexpr char kHttpStatus[] = "http_status";
inline constexpr char kHttpHost[] = "http_host";
inline constexpr char kHttpAttempt[] = "http_attempt";
inline constexpr char kHttpDurationMs[] = "http_duration_ms";
inline constexpr char kError[] = "error";

}  // namespace arnica::plugin::log_keys
