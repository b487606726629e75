#include "provider/http/client.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>

#include <algorithm>
#include <condition_variable>
#include <ctime>
#include <map>
#include <mutex>
#include <random>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "provider/http/url.h"
#include "provider/plugin/log_keys.h"

namespace arnica::http {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// Also the protocols curl may use, so that no other scheme can slip past ParseTarget.
constexpr char kAllowedProtocols[] = "http,https";

// --- RAII over curl's C handles ----------------------------------------------------------------

struct EasyDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using EasyHandle = std::unique_ptr<CURL, EasyDeleter>;
using HeaderSlist = std::unique_ptr<curl_slist, SlistDeleter>;

// curl_global_init is not thread-safe and must run before any other curl call; a function-local
// static makes it happen exactly once. It is never undone: other code in the process may still
// hold handles at exit.
void InitCurlOnce() {
  static const CURLcode result = curl_global_init(CURL_GLOBAL_DEFAULT);
  (void)result;
}

// --- URL checks, done before curl sees the URL ----------------------------------------------

struct Target {
  std::string scheme;
  std::string host;  // as the URL spells it: IPv6 in brackets
  std::string path;  // without the query, which may hold secrets
  std::string origin;
};

// Messages here never quote the URL: its query or user-info part may be a secret.
absl::StatusOr<Target> ParseTarget(const std::string& text) {
  url::Handle url(curl_url());
  if (!url) return absl::ResourceExhaustedError("out of memory parsing a URL");
  if (curl_url_set(url.get(), CURLUPART_URL, text.c_str(), 0) != CURLUE_OK) {
    return absl::InvalidArgumentError("the request URL is not a valid absolute URL");
  }
  Target target;
  target.scheme = absl::AsciiStrToLower(url::Part(url.get(), CURLUPART_SCHEME).value_or(""));
  target.host = absl::AsciiStrToLower(url::Part(url.get(), CURLUPART_HOST).value_or(""));
  target.path = url::Part(url.get(), CURLUPART_PATH).value_or("/");
  if (url::Part(url.get(), CURLUPART_USER) || url::Part(url.get(), CURLUPART_PASSWORD)) {
    return absl::InvalidArgumentError("credentials in a request URL are refused; use a header");
  }
  if (target.scheme != "https" && target.scheme != "http") {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported URL scheme \"", target.scheme, "\"; use https"));
  }
  if (target.host.empty()) return absl::InvalidArgumentError("the request URL has no host");
  if (target.scheme == "http" && !IsLoopbackHost(target.host)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "plain http is accepted only for loopback addresses; use https for ", target.host));
  }
  std::string port = url::Part(url.get(), CURLUPART_PORT).value_or("");
  target.origin = absl::StrCat(target.scheme, "://", target.host, port.empty() ? "" : ":", port);
  return target;
}

absl::Status CheckHeaders(const HeaderList& headers) {
  for (const auto& [name, value] : headers) {
    bool bad_name = name.empty() || name.find_first_of(":\r\n \t") != std::string::npos;
    // A CR or LF in a value would let it smuggle another header or end the header block.
    if (bad_name || value.find_first_of("\r\n") != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("header \"", name, "\" is malformed"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckMethod(const std::string& method) {
  bool valid = !method.empty() && std::all_of(method.begin(), method.end(),
                                              [](char c) { return c >= 'A' && c <= 'Z'; });
  if (!valid) return absl::InvalidArgumentError("the request method must be upper-case letters");
  return absl::OkStatus();
}

// --- Per-host concurrency, shared by the whole process ----------------------------------------

class HostGate {
 public:
  explicit HostGate(int limit) : limit_(std::max(1, limit)) {}

  // False when `stop` fired before a slot came free.
  bool Acquire(std::stop_token stop) {
    std::unique_lock lock(mutex_);
    if (!freed_.wait(lock, stop, [this] { return in_use_ < limit_; })) return false;
    ++in_use_;
    return true;
  }
  void Release() {
    {
      std::lock_guard lock(mutex_);
      --in_use_;
    }
    freed_.notify_one();
  }

 private:
  std::mutex mutex_;
  std::condition_variable_any freed_;
  int in_use_ = 0;
  const int limit_;
};

// Gates are never destroyed: a Client on another thread may be using one at exit.
HostGate& GateFor(const std::string& origin, int limit) {
  static std::mutex* mutex = new std::mutex;
  static auto* gates = new std::map<std::string, std::unique_ptr<HostGate>>;
  std::lock_guard lock(*mutex);
  auto& gate = (*gates)[origin];
  if (!gate) gate = std::make_unique<HostGate>(limit);
  return *gate;
}

class GateSlot {
 public:
  explicit GateSlot(HostGate& gate) : gate_(gate) {}
  ~GateSlot() { gate_.Release(); }
  GateSlot(const GateSlot&) = delete;
  GateSlot& operator=(const GateSlot&) = delete;

 private:
  HostGate& gate_;
};

// --- Retry policy --------------------------------------------------------------------------

bool IsIdempotent(const std::string& method) {
  return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" ||
         method == "OPTIONS";
}

bool IsRetryableStatus(long status) {
  return std::find(std::begin(RetryPolicy::kRetryableStatuses),
                   std::end(RetryPolicy::kRetryableStatuses),
                   status) != std::end(RetryPolicy::kRetryableStatuses);
}

// Failures where the server most likely did not act on the request, or a repeat is harmless
// because only idempotent methods are retried.
bool IsRetryableTransportError(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
      return true;
    default:
      return false;
  }
}

// Full jitter: uniform in [0, min(max, base * 2^(attempt-1))], so that clients that failed
// together do not come back together.
milliseconds BackoffDelay(const RetryPolicy& policy, int attempt) {
  int64_t ceiling = policy.base_delay.count();
  for (int i = 1; i < attempt && ceiling < policy.max_delay.count(); ++i) ceiling *= 2;
  ceiling = std::clamp<int64_t>(ceiling, 0, policy.max_delay.count());
  thread_local std::mt19937_64 random{std::random_device{}()};
  return milliseconds(std::uniform_int_distribution<int64_t>(0, ceiling)(random));
}

// The wait the server asked for, if it named one: Retry-After as seconds or an HTTP-date, or on
// a 429 Bitbucket's X-RateLimit-Reset (epoch seconds).
std::optional<milliseconds> ServerRequestedDelay(const Response& response) {
  std::time_t now = std::time(nullptr);
  if (auto retry_after = response.Header("retry-after")) {
    std::string text(absl::StripAsciiWhitespace(*retry_after));
    int64_t seconds = 0;
    if (absl::SimpleAtoi(text, &seconds) && seconds >= 0) return milliseconds(seconds * 1000);
    std::time_t when = curl_getdate(text.c_str(), nullptr);
    if (when != -1) return milliseconds(std::max<int64_t>(0, when - now) * 1000);
  }
  if (response.status == 429) {
    int64_t reset = 0;
    auto header = response.Header("x-ratelimit-reset");
    if (header && absl::SimpleAtoi(absl::StripAsciiWhitespace(*header), &reset)) {
      return milliseconds(std::max<int64_t>(0, reset - now) * 1000);
    }
  }
  return std::nullopt;
}

// False when `stop` fired during the wait.
bool SleepUnlessStopped(milliseconds delay, std::stop_token stop) {
  std::mutex mutex;
  std::condition_variable_any woken;
  std::unique_lock lock(mutex);
  woken.wait_for(lock, stop, delay, [] { return false; });
  return !stop.stop_requested();
}

// --- One transfer ------------------------------------------------------------------------------

struct Transfer {
  Response response;
  std::size_t max_body = 0;
  bool body_too_large = false;
  std::stop_token stop;
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t bytes = size * count;
  if (transfer->response.body.size() + bytes > transfer->max_body) {
    transfer->body_too_large = true;
    return 0;  // makes curl fail the transfer with CURLE_WRITE_ERROR
  }
  transfer->response.body.append(data, bytes);
  return bytes;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t bytes = size * count;
  std::string_view line(data, bytes);
  // A new status line (after a 1xx) starts a new header block.
  if (line.starts_with("HTTP/")) {
    transfer->response.headers.clear();
    return bytes;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return bytes;
  transfer->response.headers.emplace_back(
      absl::AsciiStrToLower(absl::StripAsciiWhitespace(std::string(line.substr(0, colon)))),
      std::string(absl::StripAsciiWhitespace(std::string(line.substr(colon + 1)))));
  return bytes;
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<Transfer*>(user)->stop.stop_requested() ? 1 : 0;
}

struct AttemptResult {
  CURLcode code = CURLE_OK;
  Transfer transfer;
};

absl::Status TransportError(CURLcode code, const Request& request, const Target& target,
                            int attempts) {
  std::string message =
      absl::StrCat(request.method, " ", target.origin, target.path, " failed after ", attempts,
                   attempts == 1 ? " attempt: " : " attempts: ", curl_easy_strerror(code));
  if (code == CURLE_OPERATION_TIMEDOUT) return absl::DeadlineExceededError(message);
  if (code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_CACERT_BADFILE) {
    absl::StrAppend(&message,
                    ". The server's certificate is not trusted: if it is signed by a private CA, "
                    "give that CA's PEM bundle (verification itself cannot be turned off)");
  }
  return absl::UnavailableError(message);
}

}  // namespace

std::optional<std::string> Response::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (absl::EqualsIgnoreCase(key, std::string(name))) return value;
  }
  return std::nullopt;
}

bool IsLoopbackHost(std::string_view host) {
  std::string name = absl::AsciiStrToLower(std::string(host));
  if (name == "localhost" || name == "localhost.") return true;
  if (name.size() > 2 && name.front() == '[' && name.back() == ']') {
    in6_addr address6{};
    std::string inner = name.substr(1, name.size() - 2);
    return inet_pton(AF_INET6, inner.c_str(), &address6) == 1 && IN6_IS_ADDR_LOOPBACK(&address6);
  }
  in_addr address4{};
  if (inet_pton(AF_INET, name.c_str(), &address4) != 1) return false;
  return (ntohl(address4.s_addr) >> 24) == 127;
}

struct Client::Impl {
  ClientOptions options;
  // Idle easy handles. curl keeps its connection cache in the handle (curl_easy_reset keeps it),
  // so handing handles back here is what lets later calls reuse a warm TLS connection.
  std::mutex pool_mutex;
  std::vector<EasyHandle> idle;

  EasyHandle TakeHandle() {
    std::lock_guard lock(pool_mutex);
    if (idle.empty()) return EasyHandle(curl_easy_init());
    EasyHandle handle = std::move(idle.back());
    idle.pop_back();
    return handle;
  }
  void ReturnHandle(EasyHandle handle) {
    curl_easy_reset(handle.get());
    std::lock_guard lock(pool_mutex);
    idle.push_back(std::move(handle));
  }

  void Configure(CURL* curl, const Request& request, curl_slist* headers, milliseconds timeout,
                 Transfer& transfer) {
    curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, kAllowedProtocols);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // signals and threads do not mix
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    if (options.ca_bundle) curl_easy_setopt(curl, CURLOPT_CAINFO, options.ca_bundle->c_str());
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options.connect_timeout.count()));
    curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE,
                     static_cast<curl_off_t>(options.max_response_bytes));
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, OnProgress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &transfer);
    if (request.method == "GET") {
      curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    } else if (request.method == "HEAD") {
      curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    } else {
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
      if (!request.body.empty() || request.method == "POST" || request.method == "PUT" ||
          request.method == "PATCH") {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                         static_cast<curl_off_t>(request.body.size()));
      }
    }
  }

  AttemptResult Attempt(const Request& request, curl_slist* headers, milliseconds timeout,
                        std::stop_token stop) {
    AttemptResult result;
    result.transfer.max_body = options.max_response_bytes;
    result.transfer.stop = stop;
    EasyHandle handle = TakeHandle();
    if (!handle) {
      result.code = CURLE_OUT_OF_MEMORY;
      return result;
    }
    Configure(handle.get(), request, headers, timeout, result.transfer);
    result.code = curl_easy_perform(handle.get());
    curl_easy_getinfo(handle.get(), CURLINFO_RESPONSE_CODE, &result.transfer.response.status);
    ReturnHandle(std::move(handle));
    return result;
  }

  void Report(const Request& request, const Target& target, const AttemptResult& result,
              int attempt, Clock::duration elapsed) {
    if (!options.on_attempt) return;
    nlohmann::json fields = {
        {plugin::log_keys::kHttpMethod, request.method},
        {plugin::log_keys::kHttpPath, target.path},
        {plugin::log_keys::kHttpHost, target.host},
        {plugin::log_keys::kHttpAttempt, attempt},
        {plugin::log_keys::kHttpDurationMs,
         std::chrono::duration_cast<milliseconds>(elapsed).count()},
    };
    if (result.code == CURLE_OK) {
      fields[plugin::log_keys::kHttpStatus] = result.transfer.response.status;
    } else {
      fields[plugin::log_keys::kError] = curl_easy_strerror(result.code);
    }
    options.on_attempt(fields);
  }
};

Client::Client(ClientOptions options) : impl_(std::make_unique<Impl>()) {
  InitCurlOnce();
  impl_->options = std::move(options);
}

Client::~Client() = default;

absl::StatusOr<Response> Client::Do(const Request& request, std::stop_token stop) {
  if (absl::Status status = CheckMethod(request.method); !status.ok()) return status;
  absl::StatusOr<Target> target = ParseTarget(request.url);
  if (!target.ok()) return target.status();
  if (absl::Status status = CheckHeaders(request.headers); !status.ok()) return status;
  if (absl::Status status = CheckHeaders(request.secret_headers); !status.ok()) return status;

  // A value-less "Name;" sends an empty header, while the trailing "Expect:" removes curl's own,
  // so that a body is never held back waiting for a 100 Continue the server may never send.
  std::vector<std::string> lines;
  for (const HeaderList* list : {&request.headers, &request.secret_headers}) {
    for (const auto& [name, value] : *list) {
      lines.push_back(value.empty() ? name + ";" : absl::StrCat(name, ": ", value));
    }
  }
  lines.push_back("Expect:");
  HeaderSlist slist;
  for (const std::string& line : lines) {
    curl_slist* grown = curl_slist_append(slist.get(), line.c_str());
    if (!grown) return absl::ResourceExhaustedError("out of memory building request headers");
    slist.release();
    slist.reset(grown);
  }

  const ClientOptions& options = impl_->options;
  const RetryPolicy& policy = options.retry;
  const int max_attempts = std::max(1, policy.max_attempts);
  const bool may_retry = request.repeatable || IsIdempotent(request.method);
  HostGate& gate = GateFor(target->origin, options.max_concurrency_per_host);
  auto cancelled = [&] {
    return absl::CancelledError(
        absl::StrCat(request.method, " ", target->origin, target->path, " was cancelled"));
  };

  const Clock::time_point deadline = Clock::now() + options.overall_timeout;
  auto remaining = [&] {
    return std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
  };
  for (int attempt = 1;; ++attempt) {
    if (stop.stop_requested() || !gate.Acquire(stop)) return cancelled();
    if (remaining() <= milliseconds::zero()) {
      return absl::DeadlineExceededError(absl::StrCat(
          request.method, " ", target->origin, target->path, " took longer than ",
          options.overall_timeout.count(), " ms in all (", attempt - 1, " attempts); giving up"));
    }
    Clock::time_point started = Clock::now();
    AttemptResult result;
    {
      GateSlot slot(gate);
      result = impl_->Attempt(
          request, slist.get(),
          std::max(milliseconds(1), std::min(options.request_timeout, remaining())), stop);
    }
    impl_->Report(request, *target, result, attempt, Clock::now() - started);

    // A 429 means the server did not act on the request, so even a POST may be sent again.
    bool rate_limited = result.code == CURLE_OK && result.transfer.response.status == 429;
    bool last = !(may_retry || rate_limited) || attempt >= max_attempts;
    std::optional<milliseconds> requested;
    if (result.code == CURLE_OK) requested = ServerRequestedDelay(result.transfer.response);
    milliseconds delay =
        requested ? std::min(*requested, policy.max_delay) : BackoffDelay(policy, attempt);
    // A wait that would outlast the overall timeout makes this attempt the last one.
    if (delay >= remaining()) last = true;

    if (result.code == CURLE_OK) {
      Response& response = result.transfer.response;
      if (last || !IsRetryableStatus(response.status)) return std::move(response);
    } else if (result.transfer.body_too_large || result.code == CURLE_FILESIZE_EXCEEDED) {
      return absl::ResourceExhaustedError(absl::StrCat(
          request.method, " ", target->origin, target->path, ": the response body is larger than ",
          options.max_response_bytes, " bytes"));
    } else if (result.code == CURLE_ABORTED_BY_CALLBACK) {
      return cancelled();
    } else if (last || !IsRetryableTransportError(result.code)) {
      return TransportError(result.code, request, *target, attempt);
    }

    if (!SleepUnlessStopped(delay, stop)) return cancelled();
  }
}

}  // namespace arnica::http
