// Local emulators of Bitbucket Cloud, the Atlassian Admin API and Arnica, for tests and for
// users' own tests. Each service listens on its own free port on 127.0.0.1 (plain HTTP, or
// HTTPS with a throwaway CA when asked); all three share one World, so that a membership added
// through the Atlassian Admin API shows in Bitbucket's group listing and Arnica's validation of
// a credential calls the Bitbucket emulator over HTTP, as the real product would.
//
// Every server also answers the admin routes under /_emulator/ (docs/emulators.md): the state
// (dump, replace, reset to the seed, operations that simulate drift), faults to inject, and the
// request log. A service never logs or returns a credential's secret.
//
// Thread safety: all public members of Emulators are thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "tests/emulators/world.h"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace arnica::emulators {

enum class Service { kBitbucket, kAtlassianAdmin, kArnica };
inline constexpr Service kAllServices[] = {Service::kBitbucket, Service::kAtlassianAdmin,
                                           Service::kArnica};
const char* ServiceName(Service service);  // "bitbucket", "atlassian_admin", "arnica"

// One request as the log keeps it: never a header, never a body.
struct LoggedRequest {
  long seq = 0;
  std::string service;
  std::string method;
  std::string path;        // decoded, without the query
  std::string query;       // raw query string (no service here takes a secret in the query)
  int status = 0;          // 0 when the connection was reset
  std::string credential;  // the seed id of the credential that authenticated, if any
  std::string fault;       // the injected fault's action, if one fired
};

// A fault fires on matching requests before (status, reset, delay) or after (truncate, non_json)
// the service handles them. The first matching fault that still has firings left wins.
struct Fault {
  std::string service;  // "" any, else a ServiceName()
  std::string method;   // "" any
  std::string path;     // "" any; exact, or a prefix when it ends in '*'
  int page = 0;         // 0 any; else only that page (`page` query parameter, 1 when absent)
  // status: answer `status` (default 503) with `body` (default: the service's error body).
  // reset: close the connection with a TCP reset, nothing answered.
  // truncate: send the real response's headers and half its body, then close.
  // non_json: replace the real body with an HTML page (status `status` if given).
  // delay: wait delay_ms, then answer normally.
  std::string action = "status";
  std::optional<int> status;
  std::optional<int> retry_after;   // seconds; sent as Retry-After (status action)
  bool rate_limit_headers = false;  // X-RateLimit-Limit/-Resource/-NearLimit (status action)
  std::string body;
  int delay_ms = 0;
  int skip = 0;   // matching requests let through before the first firing
  int times = 1;  // firings; -1 for every matching request
};

absl::StatusOr<Fault> FaultFromJson(const nlohmann::json& json);
nlohmann::json ToJson(const Fault& fault);
nlohmann::json ToJson(const LoggedRequest& entry);

class Emulators;

// What a route handler sees. The world lock is held while the handler runs; a handler that
// must call another emulator over HTTP releases it first (lock.unlock()) and re-takes it.
struct Call {
  const httplib::Request& request;
  httplib::Response& response;
  World& world;
  std::unique_lock<std::mutex>& lock;
  const Emulators& emulators;
  const std::string& base_url;        // scheme://127.0.0.1:port of the server answering
  std::vector<std::string> captures;  // the route pattern's groups, decoded
  std::string credential;             // set by the service's authentication step, for the log

  void Json(int status, const nlohmann::json& body);
  void Text(int status, const std::string& body, const std::string& content_type = "text/plain");
  void Header(const std::string& name, const std::string& value);
  std::optional<std::string> Query(const std::string& name) const;
  std::optional<std::string> RequestHeader(const std::string& name) const;
};

using Handler = std::function<void(Call&)>;

// One service's routes, tried in order of registration. A path that matches a route's pattern
// under another method answers 405; a path that matches nothing calls `not_found`.
class Router {
 public:
  // `pattern` is an ECMAScript regex matched against the whole decoded path.
  void Add(const std::string& method, const std::string& pattern, Handler handler);

  // The service's error body for a status and a message (used for 404/405 and for faults).
  std::function<void(Call&, int status, const std::string& message)> error =
      [](Call& call, int status, const std::string& message) {
        call.Json(status, {{"type", "error"}, {"error", {{"message", message}}}});
      };

  struct Route {
    std::string method;
    std::regex pattern;
    Handler handler;
  };
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

// Route tables, one file each.
void AddBitbucketRoutes(Router& router);
void AddAtlassianAdminRoutes(Router& router);
void AddArnicaRoutes(Router& router);

class Emulators {
 public:
  struct Options {
    nlohmann::json seed = nlohmann::json::object();
    // Serve HTTPS with a fresh self-signed CA certificate (for 127.0.0.1 and localhost); its PEM
    // is ca_file(). Written into tls_dir, or into a fresh temporary directory when empty.
    bool tls = false;
    std::string tls_dir;
  };

  static absl::StatusOr<std::unique_ptr<Emulators>> Start(Options options);
  ~Emulators();  // stops every server; delays in progress end at once
  Emulators(const Emulators&) = delete;
  Emulators& operator=(const Emulators&) = delete;

  std::string url(Service service) const;  // "http://127.0.0.1:PORT", no trailing slash
  const std::string& ca_file() const { return ca_file_; }

  nlohmann::json State() const;
  absl::Status Replace(const nlohmann::json& seed);
  absl::Status Reset();  // back to the seed Start() was given
  absl::Status Apply(const nlohmann::json& op);

  void AddFault(Fault fault);
  void ClearFaults();
  std::vector<Fault> Faults() const;

  std::vector<LoggedRequest> Requests() const;
  void ClearRequests();
  // Requests matching service/method/path (path as in Fault), counted.
  int Count(Service service, const std::string& method, const std::string& path) const;

  // Runs `f(World&)` under the world lock, for in-process tests.
  template <class F>
  auto WithWorld(F f) {
    std::lock_guard lock(world_mutex_);
    return f(world_);
  }

 private:
  struct Server;
  Emulators() = default;
  void Dispatch(Server& server, const httplib::Request& request, httplib::Response& response);
  bool AdminRoute(Server& server, Call& call);
  std::optional<Fault> TakeFault(Service service, const httplib::Request& request);
  void Record(LoggedRequest entry);
  void Sleep(int milliseconds);

  nlohmann::json seed_;
  mutable std::mutex world_mutex_;
  World world_;

  mutable std::mutex faults_mutex_;
  std::vector<Fault> faults_;  // guarded by faults_mutex_

  mutable std::mutex log_mutex_;
  std::vector<LoggedRequest> log_;  // guarded by log_mutex_
  long next_seq_ = 1;

  std::mutex sleep_mutex_;
  std::condition_variable sleep_cv_;
  std::atomic<bool> stopping_{false};

  std::string ca_file_;
  std::string owned_tls_dir_;  // a temporary directory Start made, removed on destruction
  std::vector<std::unique_ptr<Server>> servers_;
};

}  // namespace arnica::emulators
