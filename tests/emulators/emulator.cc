#include "tests/emulators/emulator.h"

#include <dirent.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "provider/plugin/certificate.h"

namespace arnica::emulators {
namespace {

using nlohmann::json;

const char kAdminPrefix[] = "/_emulator/";
constexpr std::size_t kMaxBodyBytes = std::size_t{64} << 20;
constexpr std::size_t kThreadsPerServer = 64;

bool PathMatches(const std::string& pattern, const std::string& path) {
  if (pattern.empty()) return true;
  if (pattern.back() == '*') return absl::StartsWith(path, pattern.substr(0, pattern.size() - 1));
  return pattern == path;
}

// The query string as the request log keeps it: values of the parameters below as sent, every
// other value replaced, since a careless client may put a secret in a query.
std::string LoggedQuery(const httplib::Request& request) {
  static const std::set<std::string> kShown = {
      "page",  "pagelen", "administrator", "sort",       "q",          "cursor",
      "limit", "offset",  "searchTerm",    "accountIds", "grant_type", "group"};
  std::string out;
  for (const auto& [name, value] : request.params) {
    if (!out.empty()) out += '&';
    out += name + "=" + (kShown.count(name) ? value : std::string("(redacted)"));
  }
  return out;
}

int PageOf(const httplib::Request& request) {
  if (!request.has_param("page")) return 1;
  return std::atoi(request.get_param_value("page").c_str());
}

// The descriptor of the accepted connection that `request` arrived on: the socket whose local
// port is the server's and whose peer port is the request's. cpp-httplib does not hand its
// sockets to handlers, so they are found the way lsof would.
int ConnectionSocket(int server_port, int peer_port) {
  DIR* fds = opendir("/proc/self/fd");
  if (fds == nullptr) return -1;
  int found = -1;
  while (dirent* entry = readdir(fds)) {
    int fd = std::atoi(entry->d_name);
    if (fd <= 2) continue;
    sockaddr_storage local{}, peer{};
    socklen_t local_size = sizeof(local), peer_size = sizeof(peer);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_size) != 0) continue;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_size) != 0) continue;
    if (local.ss_family != AF_INET || peer.ss_family != AF_INET) continue;
    if (ntohs(reinterpret_cast<sockaddr_in*>(&local)->sin_port) == server_port &&
        ntohs(reinterpret_cast<sockaddr_in*>(&peer)->sin_port) == peer_port) {
      found = fd;
      break;
    }
  }
  closedir(fds);
  return found;
}

// Ends the connection with a TCP reset while leaving cpp-httplib a valid descriptor number to
// write into and close: the connection's descriptor is swapped for an unconnected socket, and
// closing the last reference to the real one with a zero linger sends the RST.
void ResetConnection(int fd) {
  linger abort_on_close{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof(abort_on_close));
  int real = dup(fd);
  int dead = socket(AF_INET, SOCK_STREAM, 0);
  if (real < 0 || dead < 0) {
    if (real >= 0) close(real);
    if (dead >= 0) close(dead);
    shutdown(fd, SHUT_RDWR);
    return;
  }
  dup2(dead, fd);
  close(dead);
  close(real);
}

std::string ReasonPhrase(int status) {
  switch (status) {
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return absl::StrCat("Error ", status);
  }
}

}  // namespace

const char* ServiceName(Service service) {
  switch (service) {
    case Service::kBitbucket:
      return "bitbucket";
    case Service::kAtlassianAdmin:
      return "atlassian_admin";
    case Service::kArnica:
      return "arnica";
  }
  return "?";
}

absl::StatusOr<Fault> FaultFromJson(const json& j) {
  if (!j.is_object()) return absl::InvalidArgumentError("a fault is a JSON object");
  static const char* kKeys[] = {"service", "method",   "path",        "page",
                                "action",  "status",   "retry_after", "rate_limit_headers",
                                "body",    "delay_ms", "skip",        "times"};
  for (const auto& [key, value] : j.items()) {
    if (std::find(std::begin(kKeys), std::end(kKeys), key) == std::end(kKeys)) {
      return absl::InvalidArgumentError("fault: unknown key \"" + key + "\"");
    }
  }
  Fault fault;
  // Integers are read as int64 and range-checked, so that nothing is silently cut to 32 bits.
  auto integer = [&j](const char* key, int64_t fallback, int64_t low, int64_t high) {
    auto it = j.find(key);
    if (it == j.end()) return fallback;
    if (!it->is_number_integer() || it->get<int64_t>() < low || it->get<int64_t>() > high ||
        (it->is_number_unsigned() && it->get<uint64_t>() > uint64_t(high))) {
      throw std::invalid_argument(
          absl::StrCat("fault: \"", key, "\" must be an integer from ", low, " to ", high));
    }
    return it->get<int64_t>();
  };
  auto text = [&j](const char* key) {
    auto it = j.find(key);
    if (it == j.end()) return std::string();
    if (!it->is_string()) {
      throw std::invalid_argument(absl::StrCat("fault: \"", key, "\" must be a string"));
    }
    return it->get<std::string>();
  };
  try {
    fault.service = text("service");
    fault.method = absl::AsciiStrToUpper(text("method"));
    fault.path = text("path");
    fault.page = static_cast<int>(integer("page", 0, 0, 1000000));
    fault.action = j.contains("action") ? text("action") : "status";
    // 1xx, 204 and 304 carry no body, and the fault would send one.
    if (j.contains("status")) fault.status = static_cast<int>(integer("status", 0, 200, 599));
    if (fault.status == 204 || fault.status == 304) {
      throw std::invalid_argument("fault: \"status\" cannot be 204 or 304 (they have no body)");
    }
    if (j.contains("retry_after")) {
      fault.retry_after = static_cast<int>(integer("retry_after", 0, 0, 86400));
    }
    if (j.contains("rate_limit_headers") && !j["rate_limit_headers"].is_boolean()) {
      throw std::invalid_argument("fault: \"rate_limit_headers\" must be true or false");
    }
    fault.rate_limit_headers = j.value("rate_limit_headers", false);
    fault.body = text("body");
    fault.delay_ms = static_cast<int>(integer("delay_ms", 0, 0, 600000));
    fault.skip = static_cast<int>(integer("skip", 0, 0, 1000000));
    fault.times = static_cast<int>(integer("times", 1, -1, 1000000));
  } catch (const std::invalid_argument& error) {
    return absl::InvalidArgumentError(error.what());
  }
  if (!fault.path.empty() && fault.path.front() != '/') {
    return absl::InvalidArgumentError("fault: \"path\" starts with '/' (or is left out)");
  }
  static const char* kActions[] = {"status", "reset", "truncate", "non_json", "delay"};
  if (std::find(std::begin(kActions), std::end(kActions), fault.action) == std::end(kActions)) {
    return absl::InvalidArgumentError("fault: unknown action \"" + fault.action + "\"");
  }
  if (!fault.service.empty() && fault.service != "bitbucket" &&
      fault.service != "atlassian_admin" && fault.service != "arnica") {
    return absl::InvalidArgumentError("fault: unknown service \"" + fault.service + "\"");
  }
  return fault;
}

json ToJson(const Fault& f) {
  json out = {{"service", f.service}, {"method", f.method},
              {"path", f.path},       {"page", f.page},
              {"action", f.action},   {"rate_limit_headers", f.rate_limit_headers},
              {"body", f.body},       {"delay_ms", f.delay_ms},
              {"skip", f.skip},       {"times", f.times}};
  if (f.status) out["status"] = *f.status;
  if (f.retry_after) out["retry_after"] = *f.retry_after;
  return out;
}

json ToJson(const LoggedRequest& e) {
  return {
      {"seq", e.seq},     {"service", e.service}, {"method", e.method},         {"path", e.path},
      {"query", e.query}, {"status", e.status},   {"credential", e.credential}, {"fault", e.fault}};
}

// --- Call and Router ---------------------------------------------------------------------------

void Call::Json(int status, const nlohmann::json& body) {
  response.status = status;
  // Paths and queries echoed back may hold any bytes; invalid UTF-8 becomes U+FFFD.
  response.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                       "application/json");
}

void Call::Text(int status, const std::string& body, const std::string& content_type) {
  response.status = status;
  response.set_content(body, content_type.c_str());
}

void Call::Header(const std::string& name, const std::string& value) {
  response.set_header(name.c_str(), value);
}

std::optional<std::string> Call::Query(const std::string& name) const {
  if (!request.has_param(name.c_str())) return std::nullopt;
  return request.get_param_value(name.c_str());
}

std::optional<std::string> Call::RequestHeader(const std::string& name) const {
  if (!request.has_header(name.c_str())) return std::nullopt;
  return request.get_header_value(name.c_str());
}

void Router::Add(const std::string& method, const std::string& pattern, Handler handler) {
  routes_.push_back({method, std::regex(pattern), std::move(handler)});
}

// --- Emulators ---------------------------------------------------------------------------------

struct Emulators::Server {
  Service service;
  std::unique_ptr<httplib::Server> http;
  Router router;
  int port = 0;
  std::string base_url;
  std::thread thread;
};

absl::StatusOr<std::unique_ptr<Emulators>> Emulators::Start(Options options) {
  std::unique_ptr<Emulators> emulators(new Emulators());
  auto world = WorldFromJson(options.seed);
  if (!world.ok()) return world.status();
  emulators->seed_ = options.seed;
  emulators->world_ = *std::move(world);

  std::string cert_file, key_file;
  if (options.tls) {
    std::string dir = options.tls_dir;
    if (dir.empty()) {
      const char* tmp = std::getenv("TMPDIR");
      std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/arnica-emulators-XXXXXX";
      if (mkdtemp(pattern.data()) == nullptr) {
        return absl::InternalError("could not create a directory for the TLS files");
      }
      dir = pattern;
    }
    auto certificate = plugin::GenerateServerCertificate("DNS:localhost,IP:127.0.0.1");
    if (!certificate.ok()) return certificate.status();
    cert_file = dir + "/ca.pem";
    key_file = dir + "/key.pem";
    std::ofstream(cert_file) << certificate->certificate_pem;
    {
      std::ofstream key(key_file);
      chmod(key_file.c_str(), 0600);  // before the key is written into it
      key << certificate->private_key_pem;
    }
    if (options.tls_dir.empty()) emulators->owned_tls_dir_ = dir;
    emulators->ca_file_ = cert_file;
  }

  for (Service service : kAllServices) {
    auto server = std::make_unique<Server>();
    server->service = service;
    if (options.tls) {
      server->http = std::make_unique<httplib::SSLServer>(cert_file.c_str(), key_file.c_str());
    } else {
      server->http = std::make_unique<httplib::Server>();
    }
    if (!server->http->is_valid()) return absl::InternalError("could not set up the TLS server");
    // Whole states travel through PUT /_emulator/state; delayed requests must not starve the
    // admin routes of threads.
    server->http->set_payload_max_length(kMaxBodyBytes);
    server->http->new_task_queue = [] { return new httplib::ThreadPool(kThreadsPerServer); };
    server->http->set_exception_handler(
        [](const httplib::Request&, httplib::Response& response, std::exception_ptr) {
          response.status = 500;
          response.set_content(R"({"error":"the emulator failed on this request"})",
                               "application/json");
        });
    switch (service) {
      case Service::kBitbucket:
        AddBitbucketRoutes(server->router);
        break;
      case Service::kAtlassianAdmin:
        AddAtlassianAdminRoutes(server->router);
        break;
      case Service::kArnica:
        AddArnicaRoutes(server->router);
        break;
    }
    Server* raw = server.get();
    Emulators* self = emulators.get();
    auto dispatch = [self, raw](const httplib::Request& req, httplib::Response& res) {
      self->Dispatch(*raw, req, res);
    };
    raw->http->Get(".*", dispatch);
    raw->http->Post(".*", dispatch);
    raw->http->Put(".*", dispatch);
    raw->http->Patch(".*", dispatch);
    raw->http->Delete(".*", dispatch);
    raw->port = raw->http->bind_to_any_port("127.0.0.1");
    if (raw->port <= 0) return absl::UnavailableError("could not listen on 127.0.0.1");
    raw->base_url =
        absl::StrCat(options.tls ? "https" : "http", "://127.0.0.1:", std::to_string(raw->port));
    raw->thread = std::thread([raw] { raw->http->listen_after_bind(); });
    emulators->servers_.push_back(std::move(server));
  }
  for (auto& server : emulators->servers_) {
    while (!server->http->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return emulators;
}

Emulators::~Emulators() {
  {
    std::lock_guard lock(sleep_mutex_);
    stopping_ = true;
  }
  sleep_cv_.notify_all();
  for (auto& server : servers_) server->http->stop();
  for (auto& server : servers_) {
    if (server->thread.joinable()) server->thread.join();
  }
  if (!owned_tls_dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(owned_tls_dir_, ignored);
  }
}

std::string Emulators::url(Service service) const {
  for (const auto& server : servers_) {
    if (server->service == service) return server->base_url;
  }
  return "";
}

json Emulators::State() const {
  std::lock_guard lock(world_mutex_);
  return ToJson(world_);
}

absl::Status Emulators::Replace(const json& seed) {
  auto world = WorldFromJson(seed);
  if (!world.ok()) return world.status();
  std::lock_guard lock(world_mutex_);
  world_ = *std::move(world);
  return absl::OkStatus();
}

absl::Status Emulators::Reset() { return Replace(seed_); }

absl::Status Emulators::Apply(const json& op) {
  std::lock_guard lock(world_mutex_);
  if (op.is_array()) {
    World changed = world_;
    for (const auto& one : op) {
      if (absl::Status status = ApplyOp(changed, one); !status.ok()) return status;
    }
    world_ = std::move(changed);
    return absl::OkStatus();
  }
  return ApplyOp(world_, op);
}

void Emulators::AddFault(Fault fault) {
  std::lock_guard lock(faults_mutex_);
  faults_.push_back(std::move(fault));
}

void Emulators::ClearFaults() {
  std::lock_guard lock(faults_mutex_);
  faults_.clear();
}

std::vector<Fault> Emulators::Faults() const {
  std::lock_guard lock(faults_mutex_);
  return faults_;
}

std::vector<LoggedRequest> Emulators::Requests() const {
  std::lock_guard lock(log_mutex_);
  return log_;
}

void Emulators::ClearRequests() {
  std::lock_guard lock(log_mutex_);
  log_.clear();
}

int Emulators::Count(Service service, const std::string& method, const std::string& path) const {
  std::lock_guard lock(log_mutex_);
  int count = 0;
  for (const auto& entry : log_) {
    if (entry.service == ServiceName(service) && (method.empty() || entry.method == method) &&
        PathMatches(path, entry.path)) {
      ++count;
    }
  }
  return count;
}

void Emulators::Record(LoggedRequest entry) {
  std::lock_guard lock(log_mutex_);
  entry.seq = next_seq_++;
  log_.push_back(std::move(entry));
}

void Emulators::Sleep(int milliseconds) {
  std::unique_lock lock(sleep_mutex_);
  sleep_cv_.wait_for(lock, std::chrono::milliseconds(milliseconds),
                     [this] { return stopping_.load(); });
}

std::optional<Fault> Emulators::TakeFault(Service service, const httplib::Request& request) {
  if (absl::StartsWith(request.path, kAdminPrefix)) return std::nullopt;
  std::lock_guard lock(faults_mutex_);
  for (auto& fault : faults_) {
    if (fault.times == 0) continue;
    if (!fault.service.empty() && fault.service != ServiceName(service)) continue;
    if (!fault.method.empty() && fault.method != request.method) continue;
    if (!PathMatches(fault.path, request.path)) continue;
    if (fault.page != 0 && fault.page != PageOf(request)) continue;
    if (fault.skip > 0) {
      --fault.skip;
      continue;
    }
    if (fault.times > 0) --fault.times;
    return fault;
  }
  return std::nullopt;
}

void Emulators::Dispatch(Server& server, const httplib::Request& request,
                         httplib::Response& response) {
  std::optional<Fault> fault = TakeFault(server.service, request);
  if (fault && fault->action == "delay") Sleep(fault->delay_ms);

  std::unique_lock lock(world_mutex_);
  Call call{request, response, world_, lock, *this, server.base_url, {}, {}};
  LoggedRequest entry{.service = ServiceName(server.service),
                      .method = request.method,
                      .path = request.path,
                      .query = LoggedQuery(request),
                      .fault = fault ? fault->action : ""};

  if (fault && fault->action == "reset") {
    lock.unlock();
    // Logged first, so that a client that has seen the reset finds it in the log.
    entry.status = 0;
    Record(std::move(entry));
    int fd = ConnectionSocket(server.port, request.remote_port);
    if (fd >= 0) ResetConnection(fd);
    return;
  }
  if (fault && fault->action == "status") {
    int status = fault->status.value_or(503);
    if (fault->body.empty()) {
      server.router.error(
          call, status,
          status == 429 ? "Rate limit for this resource has been exceeded" : ReasonPhrase(status));
    } else {
      call.Text(status, fault->body,
                fault->body.front() == '{' ? "application/json" : "text/plain");
    }
    if (fault->retry_after) call.Header("Retry-After", std::to_string(*fault->retry_after));
    if (fault->rate_limit_headers) {
      call.Header("X-RateLimit-Limit", "1000");
      call.Header("X-RateLimit-Resource", "api");
      call.Header("X-RateLimit-NearLimit", "true");
    }
  } else if (absl::StartsWith(request.path, kAdminPrefix)) {
    if (!AdminRoute(server, call)) {
      static const std::set<std::string> kAdminPaths = {
          "/_emulator/health", "/_emulator/urls",   "/_emulator/state",   "/_emulator/reset",
          "/_emulator/ops",    "/_emulator/faults", "/_emulator/requests"};
      bool known = kAdminPaths.count(request.path) > 0;
      call.Json(known ? 405 : 404, {{"error", known ? "method not allowed on this admin route"
                                                    : "no such admin route"}});
    }
  } else {
    bool path_known = false;
    bool handled = false;
    for (const auto& route : server.router.routes()) {
      std::smatch match;
      if (!std::regex_match(request.path, match, route.pattern)) continue;
      path_known = true;
      if (route.method != request.method) continue;
      for (std::size_t i = 1; i < match.size(); ++i) call.captures.push_back(match[i].str());
      route.handler(call);
      handled = true;
      break;
    }
    if (!handled && !lock.owns_lock()) lock.lock();
    if (!handled && path_known) server.router.error(call, 405, "Method Not Allowed");
    if (!handled && !path_known) server.router.error(call, 404, "Resource not found");
  }
  entry.credential = call.credential;
  entry.status = response.status;
  if (lock.owns_lock()) lock.unlock();

  if (fault && fault->action == "non_json") {
    if (fault->status) response.status = *fault->status;
    entry.status = response.status;
    // The kind of page a proxy in front of the service sends, titled after the service.
    static constexpr std::pair<Service, const char*> kTitles[] = {
        {Service::kBitbucket, "Bitbucket"},
        {Service::kAtlassianAdmin, "Atlassian"},
        {Service::kArnica, "Arnica"}};
    const char* title = "Error";
    for (const auto& [service, name] : kTitles) {
      if (service == server.service) title = name;
    }
    response.set_content(absl::StrCat("<html><head><title>", title,
                                      "</title></head><body><h1>Something went wrong</h1>"
                                      "<p>We're having trouble right now.</p></body></html>"),
                         "text/html");
  } else if (fault && fault->action == "truncate") {
    auto body = std::make_shared<std::string>(response.body);
    std::string content_type = response.get_header_value("Content-Type");
    response.body.clear();
    response.set_content_provider(body->size(), content_type.c_str(),
                                  [body](size_t offset, size_t, httplib::DataSink& sink) {
                                    if (offset == 0) sink.write(body->data(), body->size() / 2);
                                    return offset == 0 && !body->empty() ? true : false;
                                  });
  }
  Record(std::move(entry));
}

bool Emulators::AdminRoute(Server& server, Call& call) {
  const std::string route = call.request.method + " " + call.request.path;
  auto parse_body = [&]() -> std::optional<json> {
    json body = json::parse(call.request.body, nullptr, false);
    if (body.is_discarded()) {
      call.Json(400, {{"error", "the body is not JSON"}});
      return std::nullopt;
    }
    return body;
  };
  auto answer = [&](const absl::Status& status) {
    if (status.ok()) {
      call.Json(200, {{"ok", true}});
    } else {
      call.Json(400, {{"error", std::string(status.message())}});
    }
  };
  // The world lock is held here; the state routes below use world_ directly for that reason.
  if (route == "GET /_emulator/health") {
    call.Json(200, {{"ok", true}, {"service", ServiceName(server.service)}});
  } else if (route == "GET /_emulator/urls") {
    json urls = json::object();
    for (Service service : kAllServices) urls[ServiceName(service)] = url(service);
    if (!ca_file_.empty()) urls["ca_file"] = ca_file_;
    call.Json(200, urls);
  } else if (route == "GET /_emulator/state") {
    call.Json(200, ToJson(world_));
  } else if (route == "PUT /_emulator/state") {
    auto body = parse_body();
    if (!body) return true;
    auto world = WorldFromJson(*body);
    if (world.ok()) world_ = *std::move(world);
    answer(world.status());
  } else if (route == "POST /_emulator/reset") {
    auto world = WorldFromJson(seed_);
    if (world.ok()) world_ = *std::move(world);
    answer(world.status());
  } else if (route == "POST /_emulator/ops") {
    auto body = parse_body();
    if (!body) return true;
    World changed = world_;
    absl::Status status;
    for (const auto& op : body->is_array() ? *body : json::array({*body})) {
      status = ApplyOp(changed, op);
      if (!status.ok()) break;
    }
    if (status.ok()) world_ = std::move(changed);
    answer(status);
  } else if (route == "GET /_emulator/faults") {
    json out = json::array();
    for (const auto& fault : Faults()) {
      if (fault.times != 0) out.push_back(ToJson(fault));
    }
    call.Json(200, out);
  } else if (route == "POST /_emulator/faults") {
    auto body = parse_body();
    if (!body) return true;
    std::vector<Fault> parsed;
    for (const auto& one : body->is_array() ? *body : json::array({*body})) {
      auto fault = FaultFromJson(one);
      if (!fault.ok()) {
        answer(fault.status());
        return true;
      }
      parsed.push_back(*fault);
    }
    for (auto& fault : parsed) AddFault(std::move(fault));
    answer(absl::OkStatus());
  } else if (route == "DELETE /_emulator/faults") {
    ClearFaults();
    answer(absl::OkStatus());
  } else if (route == "GET /_emulator/requests") {
    json out = json::array();
    for (const auto& entry : Requests()) out.push_back(ToJson(entry));
    call.Json(200, out);
  } else if (route == "DELETE /_emulator/requests") {
    ClearRequests();
    answer(absl::OkStatus());
  } else {
    return false;
  }
  return true;
}

}  // namespace arnica::emulators
