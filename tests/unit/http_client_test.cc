// The HTTP client against a local cpp-httplib server on 127.0.0.1: what reaches the server
// (calls, connections, timing between retries) is the evidence, not the client's own account.
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <ctime>
#include <mutex>
#include <set>
#include <thread>

#include "provider/http/client.h"
#include "provider/plugin/log.h"
#include "tests/unit/http_test_support.h"

namespace arnica::http {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr char kSecretCanary[] = "canary-http-7781";
constexpr char kQueryCanary[] = "canary-q-991";

ClientOptions FastRetries(int max_attempts = 5) { return test_support::FastRetries(max_attempts); }

// A port on 127.0.0.1 with nothing listening: bound once by us, then released.
int UnusedLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

class HttpClientTest : public testing::Test {
 protected:
  void SetUp() override {
    server_.set_keep_alive_max_count(100);
    server_.Get("/hello", [this](const httplib::Request& request, httplib::Response& response) {
      std::lock_guard lock(mutex_);
      client_ports_.insert(request.remote_port);
      authorization_ = request.get_header_value("Authorization");
      response.set_header("X-Mixed-Case", "Kept As Sent");
      response.set_content("hello body", "text/plain");
    });
    auto flaky = [this](const httplib::Request&, httplib::Response& response) {
      response.status = ++calls_ <= 2 ? 503 : 200;
    };
    server_.Get("/flaky", flaky);
    server_.Post("/flaky", flaky);
    server_.Get("/limited", [this](const httplib::Request&, httplib::Response& response) {
      std::lock_guard lock(mutex_);
      call_times_.push_back(Clock::now());
      if (call_times_.size() == 1) {
        response.status = 429;
        for (const auto& [name, value] : limit_headers_) response.set_header(name, value);
      }
    });
    server_.Post("/limited", [this](const httplib::Request&, httplib::Response& response) {
      std::lock_guard lock(mutex_);
      call_times_.push_back(Clock::now());
      if (call_times_.size() == 1) response.status = 429;
    });
    server_.Get("/always429", [this](const httplib::Request&, httplib::Response& response) {
      ++calls_;
      response.status = 429;
      response.set_header("Retry-After", "0");
    });
    server_.Get("/slow", [this](const httplib::Request&, httplib::Response& response) {
      // Sleeps 5 s unless the fixture is shutting down, so TearDown never waits for it.
      for (int i = 0; i < 50 && !stopping_; ++i) std::this_thread::sleep_for(milliseconds(100));
    });
    server_.Get("/busy", [this](const httplib::Request&, httplib::Response& response) {
      int now = ++in_flight_;
      int seen = max_in_flight_;
      while (now > seen && !max_in_flight_.compare_exchange_weak(seen, now)) {
      }
      std::this_thread::sleep_for(milliseconds(100));
      --in_flight_;
    });
    server_.Put("/echo", [](const httplib::Request& request, httplib::Response& response) {
      response.set_content(request.body, "text/plain");
    });
    server_.Get("/big", [](const httplib::Request&, httplib::Response& response) {
      response.set_content(std::string(2048, 'x'), "text/plain");
    });
    server_.Get("/big-chunked", [](const httplib::Request&, httplib::Response& response) {
      response.set_chunked_content_provider("text/plain",
                                            [](size_t offset, httplib::DataSink& sink) {
                                              if (offset >= 4096) {
                                                sink.done();
                                                return true;
                                              }
                                              std::string chunk(512, 'y');
                                              return sink.write(chunk.data(), chunk.size());
                                            });
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // httplib's stop() does nothing until the listen loop is running; a test that ends
    // quickly would otherwise leave the loop running forever and hang in join().
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }

  void TearDown() override {
    stopping_ = true;
    server_.stop();
    thread_.join();
  }

  std::string Url(const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> calls_{0};
  std::atomic<int> in_flight_{0};
  std::atomic<int> max_in_flight_{0};
  std::mutex mutex_;
  std::set<int> client_ports_;
  std::string authorization_;
  std::vector<Clock::time_point> call_times_;
  void ExpectRetryWaitedFor(HeaderList headers);

  // What the first 429 from /limited says about when to come back.
  std::vector<std::pair<std::string, std::string>> limit_headers_ = {{"Retry-After", "1"}};
};

// Seconds since the epoch, `ahead` seconds from now, the way servers put them in headers.
std::string EpochSecondsFromNow(int ahead) { return std::to_string(std::time(nullptr) + ahead); }

std::string HttpDateFromNow(int ahead) {
  std::time_t when = std::time(nullptr) + ahead;
  std::tm parts{};
  gmtime_r(&when, &parts);
  char text[64];
  std::strftime(text, sizeof(text), "%a, %d %b %Y %H:%M:%S GMT", &parts);
  return text;
}

TEST_F(HttpClientTest, GetReturnsStatusBodyAndLowerCasedHeaders) {
  Client client(FastRetries());
  absl::StatusOr<Response> response = client.Do({.method = "GET", .url = Url("/hello")});
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "hello body");
  EXPECT_EQ(response->Header("X-MIXED-CASE"), "Kept As Sent");
  auto stored = std::find_if(response->headers.begin(), response->headers.end(),
                             [](const auto& header) { return header.first == "x-mixed-case"; });
  EXPECT_NE(stored, response->headers.end());
}

TEST_F(HttpClientTest, ReusesOneConnectionAcrossSequentialCalls) {
  Client client(FastRetries());
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<Response> response = client.Do({.method = "GET", .url = Url("/hello")});
    ASSERT_TRUE(response.ok()) << response.status();
  }
  std::lock_guard lock(mutex_);
  EXPECT_EQ(client_ports_.size(), 1u);
}

TEST_F(HttpClientTest, SendsSecretHeaders) {
  Client client(FastRetries());
  Request request{.method = "GET", .url = Url("/hello")};
  request.secret_headers.emplace_back("Authorization", "Bearer s3");
  ASSERT_TRUE(client.Do(request).ok());
  std::lock_guard lock(mutex_);
  EXPECT_EQ(authorization_, "Bearer s3");
}

// The body goes out whole on a non-GET method. (Empty header values are not tested here:
// cpp-httplib 0.11 drops them when parsing, although curl sends them.)
TEST_F(HttpClientTest, SendsTheBody) {
  Client client(FastRetries());
  absl::StatusOr<Response> response =
      client.Do({.method = "PUT", .url = Url("/echo"), .body = std::string(3000, 'b')});
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->body, std::string(3000, 'b'));
}

TEST_F(HttpClientTest, RetriesIdempotent503UntilSuccess) {
  Client client(FastRetries());
  absl::StatusOr<Response> response = client.Do({.method = "GET", .url = Url("/flaky")});
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(calls_, 3);
}

TEST_F(HttpClientTest, DoesNotRetryPost) {
  Client client(FastRetries());
  absl::StatusOr<Response> response =
      client.Do({.method = "POST", .url = Url("/flaky"), .body = "{}"});
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 503);
  EXPECT_EQ(calls_, 1);
}

// A 429 says the server did not act on the request, so a POST is sent again.
TEST_F(HttpClientTest, RetriesPostOn429) {
  Client client(FastRetries());
  absl::StatusOr<Response> response =
      client.Do({.method = "POST", .url = Url("/limited"), .body = "{}"});
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  std::lock_guard lock(mutex_);
  EXPECT_EQ(call_times_.size(), 2u);
}

TEST_F(HttpClientTest, RetriesRepeatablePost) {
  Client client(FastRetries());
  absl::StatusOr<Response> response =
      client.Do({.method = "POST", .url = Url("/flaky"), .body = "{}", .repeatable = true});
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(calls_, 3);
}

// The server asks for a wait of about a second or two; the retry must not come sooner.
void HttpClientTest::ExpectRetryWaitedFor(HeaderList headers) {
  limit_headers_ = std::move(headers);
  Client client(FastRetries());
  absl::StatusOr<Response> response = client.Do({.method = "GET", .url = Url("/limited")});
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  std::lock_guard lock(mutex_);
  ASSERT_EQ(call_times_.size(), 2u);
  EXPECT_GE(call_times_[1] - call_times_[0], milliseconds(900));
}

TEST_F(HttpClientTest, HonoursRetryAfterSeconds) { ExpectRetryWaitedFor({{"Retry-After", "1"}}); }

// Whole seconds in the headers: two seconds ahead waits between one and two seconds.
TEST_F(HttpClientTest, HonoursRetryAfterAsAnHttpDate) {
  ExpectRetryWaitedFor({{"Retry-After", HttpDateFromNow(2)}});
}

TEST_F(HttpClientTest, HonoursRateLimitResetOn429) {
  ExpectRetryWaitedFor({{"X-RateLimit-Reset", EpochSecondsFromNow(2)}});
}

TEST_F(HttpClientTest, CapsAServerRequestedWaitAtMaxDelay) {
  limit_headers_ = {{"Retry-After", "3600"}};
  ClientOptions options = FastRetries();
  options.retry.max_delay = milliseconds(50);
  Client client(options);
  Clock::time_point started = Clock::now();
  absl::StatusOr<Response> response = client.Do({.method = "GET", .url = Url("/limited")});
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  EXPECT_LT(Clock::now() - started, milliseconds(2000));
}

TEST_F(HttpClientTest, ReturnsTheLast429WhenAttemptsRunOut) {
  Client client(FastRetries(3));
  absl::StatusOr<Response> response = client.Do({.method = "GET", .url = Url("/always429")});
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 429);
  EXPECT_EQ(calls_, 3);
}

TEST_F(HttpClientTest, CancelsATransferInFlight) {
  Client client(FastRetries());
  std::stop_source stop;
  std::jthread canceller([&] {
    std::this_thread::sleep_for(milliseconds(200));
    stop.request_stop();
  });
  Clock::time_point started = Clock::now();
  absl::StatusOr<Response> response =
      client.Do({.method = "GET", .url = Url("/slow")}, stop.get_token());
  EXPECT_LT(Clock::now() - started, milliseconds(2000));
  EXPECT_TRUE(absl::IsCancelled(response.status())) << response.status();
}

TEST_F(HttpClientTest, BoundsConcurrencyPerHost) {
  ClientOptions options = FastRetries();
  options.max_concurrency_per_host = 2;
  Client client(options);
  std::vector<std::jthread> callers;
  std::atomic<int> ok{0};
  for (int i = 0; i < 6; ++i) {
    callers.emplace_back([&] {
      if (client.Do({.method = "GET", .url = Url("/busy")}).ok()) ++ok;
    });
  }
  callers.clear();  // joins
  EXPECT_EQ(ok, 6);
  EXPECT_GE(max_in_flight_, 1);
  EXPECT_LE(max_in_flight_, 2);
}

TEST_F(HttpClientTest, RefusesABodyOverTheCap) {
  ClientOptions options = FastRetries();
  options.max_response_bytes = 1024;
  Client client(options);
  for (const char* path : {"/big", "/big-chunked"}) {
    absl::StatusOr<Response> response = client.Do({.method = "GET", .url = Url(path)});
    EXPECT_TRUE(absl::IsResourceExhausted(response.status())) << path << response.status();
  }
}

TEST(HttpClient, ConnectionRefusedIsUnavailableAfterEveryAttempt) {
  int attempts = 0;
  ClientOptions options = FastRetries(3);
  options.on_attempt = [&](const nlohmann::json&) { ++attempts; };
  Client client(options);
  std::string url =
      "http://127.0.0.1:" + std::to_string(UnusedLoopbackPort()) + "/x?token=" + kQueryCanary;
  absl::StatusOr<Response> response = client.Do({.method = "GET", .url = url});
  ASSERT_TRUE(absl::IsUnavailable(response.status())) << response.status();
  std::string message(response.status().message());
  EXPECT_NE(message.find("127.0.0.1"), std::string::npos) << message;
  EXPECT_NE(message.find("/x"), std::string::npos) << message;
  EXPECT_EQ(message.find(kQueryCanary), std::string::npos) << message;
  EXPECT_EQ(attempts, 3);
}

TEST(HttpClient, RefusesPlainHttpToANonLoopbackHostWithoutConnecting) {
  int attempts = 0;
  ClientOptions options;
  options.on_attempt = [&](const nlohmann::json&) { ++attempts; };
  Client client(options);
  for (const char* url : {"http://example.invalid/x", "http://127.0.0.1.example.invalid/x",
                          "ftp://127.0.0.1/x", "not a url"}) {
    absl::StatusOr<Response> response = client.Do({.method = "GET", .url = url});
    EXPECT_TRUE(absl::IsInvalidArgument(response.status())) << url << response.status();
  }
  EXPECT_EQ(attempts, 0);
}

TEST(HttpClient, RefusesHeadersThatCouldSmuggleOthers) {
  Client client(ClientOptions{});
  Request request{.method = "GET", .url = "http://127.0.0.1:1/x"};
  request.secret_headers.emplace_back("Authorization", "Bearer a\r\nX-Evil: 1");
  absl::StatusOr<Response> response = client.Do(request);
  ASSERT_TRUE(absl::IsInvalidArgument(response.status())) << response.status();
  EXPECT_EQ(std::string(response.status().message()).find("Bearer"), std::string::npos);
}

TEST(HttpLoopback, RecognisesOnlyLoopbackAddresses) {
  for (const char* host : {"127.0.0.1", "127.9.8.7", "localhost", "LOCALHOST", "[::1]"}) {
    EXPECT_TRUE(IsLoopbackHost(host)) << host;
  }
  for (const char* host : {"128.0.0.1", "0.0.0.0", "10.0.0.1", "[::2]", "[::]", "example.com",
                           "localhost.example.com", "127.0.0.1.example.com", ""}) {
    EXPECT_FALSE(IsLoopbackHost(host)) << host;
  }
}

TEST_F(HttpClientTest, SecretsNeverReachTheLog) {
  plugin::LogLevel saved = plugin::Log::level();
  plugin::Log::SetLevel(plugin::LogLevel::kTrace);
  ClientOptions options = FastRetries(2);
  options.on_attempt = [](const nlohmann::json& fields) {
    plugin::Log::Trace("HTTP request", fields);
  };
  Client client(options);
  auto request_to = [&](const std::string& url) {
    Request request{.method = "GET", .url = url + "?token=" + kQueryCanary};
    request.secret_headers.emplace_back("Authorization", std::string("Bearer ") + kSecretCanary);
    return client.Do(request);
  };

  testing::internal::CaptureStderr();
  absl::StatusOr<Response> success = request_to(Url("/hello"));
  absl::StatusOr<Response> retried = request_to(Url("/flaky"));
  absl::StatusOr<Response> failed =
      request_to("http://127.0.0.1:" + std::to_string(UnusedLoopbackPort()) + "/refused");
  std::string log = testing::internal::GetCapturedStderr();
  plugin::Log::SetLevel(saved);

  ASSERT_TRUE(success.ok());
  ASSERT_TRUE(retried.ok());
  EXPECT_EQ(retried->status, 503);  // two attempts, both 503: a retry was logged
  ASSERT_FALSE(failed.ok());
  for (const std::string& text : {log, std::string(failed.status().message())}) {
    EXPECT_EQ(text.find(kSecretCanary), std::string::npos) << text;
    EXPECT_EQ(text.find(kQueryCanary), std::string::npos) << text;
  }
  EXPECT_NE(log.find("/hello"), std::string::npos) << log;
  EXPECT_NE(log.find("/flaky"), std::string::npos) << log;
  EXPECT_NE(log.find("/refused"), std::string::npos) << log;
  EXPECT_NE(log.find("\"http_status\":503"), std::string::npos) << log;
}

}  // namespace
}  // namespace arnica::http
