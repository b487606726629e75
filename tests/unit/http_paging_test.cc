// Pagination and Bitbucket error parsing, against cpp-httplib servers on 127.0.0.1: the
// requests each server saw are the evidence that links were (or were not) followed.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <cctype>
#include <string>
#include <thread>

#include "provider/clients/bitbucket.h"
#include "provider/http/bitbucket_errors.h"
#include "provider/http/client.h"
#include "provider/http/paging.h"
#include "tests/unit/http_test_support.h"

namespace arnica::http {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

ClientOptions FastRetries() { return test_support::FastRetries(3, milliseconds(50)); }

// For a URL inside a query parameter: everything but unreserved characters percent-encoded.
std::string Encode(const std::string& text) { return clients::EncodeSegment(text); }

int IntParam(const httplib::Request& request, const char* name, int fallback) {
  return request.has_param(name) ? std::stoi(request.get_param_value(name)) : fallback;
}

// A server on an ephemeral loopback port that counts the requests it answers.
class CountingServer {
 public:
  CountingServer() {
    server_.set_pre_routing_handler([this](const httplib::Request&, httplib::Response&) {
      ++requests;
      return httplib::Server::HandlerResponse::Unhandled;
    });
  }
  void Start() {
    port = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // httplib's stop() does nothing until the listen loop is running; a test that ends
    // quickly would otherwise leave the loop running forever and hang in join().
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~CountingServer() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port) + path;
  }
  httplib::Server& server() { return server_; }

  std::atomic<int> requests{0};
  int port = 0;

 private:
  httplib::Server server_;
  std::thread thread_;
};

class HttpPagingTest : public testing::Test {
 protected:
  void SetUp() override {
    // /items?n=N&pagelen=M&page=P: items 0..N-1, `next` while more remain. `fail_page` makes that
    // page answer `fail_status` (or a non-JSON 200 when fail_status is 200); `next_to` replaces
    // the next link of page 1 with the given URL. /loop?page=P links page 1 and 2 to each other.
    main_.server().Get("/items", [this](const httplib::Request& request,
                                        httplib::Response& response) {
      int n = IntParam(request, "n", 0);
      int pagelen = IntParam(request, "pagelen", 10);
      int page = IntParam(request, "page", 1);
      int fail_page = IntParam(request, "fail_page", 0);
      int fail_status = IntParam(request, "fail_status", 200);
      if (page == fail_page) {
        response.status = fail_status;
        if (fail_status == 403) {
          response.set_content(
              R"({"type":"error","error":{"message":"Your credentials lack one or more required )"
              R"(privilege scopes.","detail":{"granted":["read:user:bitbucket"],)"
              R"("required":["read:workspace:bitbucket"]}}})",
              "application/json");
        } else {
          response.set_content("<html><body>Oops</body></html>", "text/html");
        }
        return;
      }
      json body = {{"pagelen", pagelen}, {"page", page}, {"size", n}, {"values", json::array()}};
      for (int i = (page - 1) * pagelen; i < n && i < page * pagelen; ++i) {
        body["values"].push_back({{"id", i}});
      }
      std::string query = "?n=" + std::to_string(n) + "&pagelen=" + std::to_string(pagelen) +
                          "&fail_page=" + std::to_string(fail_page) +
                          "&fail_status=" + std::to_string(fail_status);
      if (page == 1 && request.has_param("next_to")) {
        body["next"] = request.get_param_value("next_to");
      } else if (page * pagelen < n) {
        body["next"] = main_.Url("/items" + query + "&page=" + std::to_string(page + 1));
      }
      response.set_content(body.dump(), "application/json");
    });
    main_.server().Get(
        "/loop", [this](const httplib::Request& request, httplib::Response& response) {
          int page = IntParam(request, "page", 1);
          json body = {{"values", {{{"page", page}}}},
                       {"next", main_.Url("/loop?page=" + std::to_string(page == 1 ? 2 : 1))}};
          response.set_content(body.dump(), "application/json");
        });
    main_.server().Get("/no-values", [](const httplib::Request&, httplib::Response& response) {
      response.set_content(R"({"pagelen":10,"page":1,"size":3})", "application/json");
    });
    main_.server().Get("/groups", [](const httplib::Request&, httplib::Response& response) {
      response.set_content(R"([{"slug":"devs"},{"slug":"ops"}])", "application/json");
    });
    main_.server().Get("/not-array", [](const httplib::Request&, httplib::Response& response) {
      response.set_content(R"({"values":[{"slug":"devs"}]})", "application/json");
    });
    main_.server().Get("/none", [](const httplib::Request&, httplib::Response& response) {
      response.status = 405;
      response.set_content("None", "text/plain");
    });
    main_.Start();
    other_.server().Get(".*", [](const httplib::Request&, httplib::Response& response) {
      response.set_content(R"({"values":[{"id":"stolen"}]})", "application/json");
    });
    other_.Start();
  }

  Request ListRequest(int n, int pagelen, const std::string& extra = "") {
    Request request;
    request.url = main_.Url("/items?n=" + std::to_string(n) +
                            "&pagelen=" + std::to_string(pagelen) + "&page=1" + extra);
    request.secret_headers = {{"Authorization", "Bearer canary-paging-4471"}};
    return request;
  }

  CountingServer main_;
  CountingServer other_;
  Client client_{FastRetries()};
};

struct PagingCase {
  int items;
  int pagelen;
  int requests;
};

class HttpPagingSizes : public HttpPagingTest, public testing::WithParamInterface<PagingCase> {};

TEST_P(HttpPagingSizes, CollectsEveryItemInOrder) {
  const PagingCase& c = GetParam();
  auto items = FetchAllPages(client_, ListRequest(c.items, c.pagelen), {});
  ASSERT_TRUE(items.ok()) << items.status();
  ASSERT_EQ(items->size(), static_cast<size_t>(c.items));
  for (int i = 0; i < c.items; ++i) EXPECT_EQ((*items)[i]["id"], i);
  EXPECT_EQ(main_.requests, c.requests);
}

INSTANTIATE_TEST_SUITE_P(HttpPaging, HttpPagingSizes,
                         testing::Values(PagingCase{0, 10, 1}, PagingCase{1, 10, 1},
                                         PagingCase{100, 10, 10}, PagingCase{101, 10, 11},
                                         PagingCase{0, 100, 1}, PagingCase{1, 100, 1},
                                         PagingCase{100, 100, 1}, PagingCase{101, 100, 2}),
                         [](const testing::TestParamInfo<PagingCase>& info) {
                           return "Items" + std::to_string(info.param.items) + "Pagelen" +
                                  std::to_string(info.param.pagelen);
                         });

TEST_F(HttpPagingTest, ServerErrorOnPageThreeAfterRetriesIsAnErrorNotAShortList) {
  auto items = FetchAllPages(client_, ListRequest(50, 10, "&fail_page=3&fail_status=503"), {});
  ASSERT_FALSE(items.ok());
  EXPECT_EQ(items.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(items.status().message().find("page 3"), std::string::npos) << items.status();
  EXPECT_NE(items.status().message().find("503"), std::string::npos) << items.status();
  EXPECT_EQ(main_.requests, 2 + 3);  // pages 1 and 2, then three attempts at page 3
}

TEST_F(HttpPagingTest, NonJsonPageThreeIsAnError) {
  auto items = FetchAllPages(client_, ListRequest(50, 10, "&fail_page=3&fail_status=200"), {});
  ASSERT_FALSE(items.ok());
  EXPECT_EQ(items.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(items.status().message().find("not JSON"), std::string::npos) << items.status();
  EXPECT_EQ(main_.requests, 3);
}

TEST_F(HttpPagingTest, ScopeErrorOnPageThreeCarriesTheServiceError) {
  auto items = FetchAllPages(client_, ListRequest(50, 10, "&fail_page=3&fail_status=403"), {});
  ASSERT_FALSE(items.ok());
  EXPECT_EQ(items.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(items.status().message().find("lacks scope read:workspace:bitbucket"),
            std::string::npos)
      << items.status();
  EXPECT_EQ(items.status().message().find("canary-paging-4471"), std::string::npos);
  EXPECT_EQ(main_.requests, 3);
}

TEST_F(HttpPagingTest, MissingValuesIsAnError) {
  Request request;
  request.url = main_.Url("/no-values");
  auto items = FetchAllPages(client_, request, {});
  ASSERT_FALSE(items.ok());
  EXPECT_NE(items.status().message().find("values"), std::string::npos) << items.status();
}

TEST_F(HttpPagingTest, NextOnAnotherPortIsNotFollowed) {
  std::string elsewhere = other_.Url("/items?page=2");
  auto items = FetchAllPages(client_, ListRequest(30, 10, "&next_to=" + Encode(elsewhere)), {});
  ASSERT_FALSE(items.ok());
  EXPECT_EQ(items.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(items.status().message().find("not followed"), std::string::npos) << items.status();
  EXPECT_EQ(main_.requests, 1);
  EXPECT_EQ(other_.requests, 0);
}

TEST_F(HttpPagingTest, NextOnAnotherHostOrSchemeIsNotFollowed) {
  for (std::string elsewhere :
       {"http://localhost:" + std::to_string(main_.port) + "/items?page=2",
        "https://127.0.0.1:" + std::to_string(main_.port) + "/items?page=2",
        "http://user:pw@127.0.0.1:" + std::to_string(main_.port) + "/items?page=2"}) {
    int before = main_.requests;
    auto items = FetchAllPages(client_, ListRequest(30, 10, "&next_to=" + Encode(elsewhere)), {});
    EXPECT_FALSE(items.ok()) << elsewhere;
    EXPECT_EQ(main_.requests, before + 1) << elsewhere;
  }
  EXPECT_EQ(other_.requests, 0);
}

TEST_F(HttpPagingTest, RelativeNextOnTheSameOriginIsFollowed) {
  auto items = FetchAllPages(
      client_, ListRequest(30, 10, "&next_to=%2Fitems%3Fn%3D30%26pagelen%3D10%26page%3D2"), {});
  ASSERT_TRUE(items.ok()) << items.status();
  EXPECT_EQ(items->size(), 30u);
  EXPECT_EQ(main_.requests, 3);
}

TEST_F(HttpPagingTest, NextLoopIsAnError) {
  Request request;
  request.url = main_.Url("/loop?page=1");
  auto items = FetchAllPages(client_, request, {});
  ASSERT_FALSE(items.ok());
  EXPECT_NE(items.status().message().find("loop"), std::string::npos) << items.status();
  EXPECT_EQ(main_.requests, 2);
}

TEST_F(HttpPagingTest, MaxPagesIsAnError) {
  auto items = FetchAllPages(client_, ListRequest(101, 10), {}, /*max_pages=*/5);
  ASSERT_FALSE(items.ok());
  EXPECT_NE(items.status().message().find("more than 5 pages"), std::string::npos)
      << items.status();
  EXPECT_EQ(main_.requests, 5);
}

TEST_F(HttpPagingTest, CancelledBeforeStartSendsNothing) {
  std::stop_source source;
  source.request_stop();
  auto items = FetchAllPages(client_, ListRequest(30, 10), source.get_token());
  ASSERT_FALSE(items.ok());
  EXPECT_EQ(items.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(main_.requests, 0);
}

TEST_F(HttpPagingTest, BareArrayIsRead) {
  Request request;
  request.url = main_.Url("/groups");
  auto items = FetchBareArray(client_, request, {});
  ASSERT_TRUE(items.ok()) << items.status();
  ASSERT_EQ(items->size(), 2u);
  EXPECT_EQ((*items)[1]["slug"], "ops");
}

TEST_F(HttpPagingTest, BareArrayRejectsAnObject) {
  Request request;
  request.url = main_.Url("/not-array");
  auto items = FetchBareArray(client_, request, {});
  ASSERT_FALSE(items.ok());
  EXPECT_NE(items.status().message().find("not a JSON array"), std::string::npos) << items.status();
}

TEST_F(HttpPagingTest, BareArrayPlainTextErrorIsAnError) {
  Request request;
  request.url = main_.Url("/none");
  auto items = FetchBareArray(client_, request, {});
  ASSERT_FALSE(items.ok());
  EXPECT_NE(items.status().message().find("405"), std::string::npos) << items.status();
  EXPECT_NE(items.status().message().find("None"), std::string::npos) << items.status();
}

TEST(HttpPagingOrigin, DefaultPortsAreTheSameOrigin) {
  auto resolved = ResolveSameOrigin("http://127.0.0.1/a?x=1", "http://127.0.0.1:80/b");
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_FALSE(ResolveSameOrigin("http://127.0.0.1/a", "http://127.0.0.1:8080/b").ok());
  EXPECT_FALSE(ResolveSameOrigin("http://127.0.0.1/a", "//127.0.0.2/b").ok());
}

// --- Error parsing ---------------------------------------------------------------------------

Response Make(long status, std::string body, HeaderList headers = {}) {
  Response response;
  response.status = status;
  response.body = std::move(body);
  response.headers = std::move(headers);
  return response;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(HttpErrors, TwoPointZeroErrorBody) {
  ServiceError error =
      ParseBitbucketError(Make(404, R"({"type":"error","error":{"message":"Repository not found",)"
                                    R"("detail":"There is no repository named x"}})"));
  EXPECT_EQ(error.kind, "not_found");
  EXPECT_EQ(error.message, "Repository not found");
  EXPECT_EQ(error.detail, "There is no repository named x");
  std::string text = error.ForDiagnostic();
  EXPECT_TRUE(Contains(text, "404")) << text;
  EXPECT_TRUE(Contains(text, "Repository not found")) << text;
  EXPECT_TRUE(Contains(text, "Check the workspace")) << text;
  EXPECT_EQ(ToStatus(error).code(), absl::StatusCode::kNotFound);
}

TEST(HttpErrors, ScopeForbiddenWithBodyAndHeaders) {
  ServiceError error = ParseBitbucketError(
      Make(403,
           R"({"type":"error","error":{"message":"Your credentials lack one or more required )"
           R"(privilege scopes.","detail":{"granted":["read:user:bitbucket"],)"
           R"("required":["read:pullrequest:bitbucket"]}}})",
           {{"x-oauth-scopes", "read:user:bitbucket"},
            {"x-accepted-oauth-scopes", "read:pullrequest:bitbucket"},
            {"x-credential-type", "api_token"}}));
  EXPECT_EQ(error.kind, "missing_scope");
  EXPECT_EQ(error.granted_scopes, std::vector<std::string>{"read:user:bitbucket"});
  EXPECT_EQ(error.required_scopes, std::vector<std::string>{"read:pullrequest:bitbucket"});
  EXPECT_EQ(error.credential_type, "api_token");
  std::string text = error.ForDiagnostic();
  EXPECT_TRUE(Contains(text, "403")) << text;
  EXPECT_TRUE(Contains(text, "lacks scope read:pullrequest:bitbucket")) << text;
  EXPECT_TRUE(Contains(text, "grant it")) << text;
  EXPECT_EQ(ToStatus(error).code(), absl::StatusCode::kPermissionDenied);
}

TEST(HttpErrors, ScopeForbiddenFromHeadersOnly) {
  ServiceError error = ParseBitbucketError(Make(403, "",
                                                {{"x-oauth-scopes", " repository:write ,  account"},
                                                 {"x-accepted-oauth-scopes", "account, team:write"},
                                                 {"x-credential-type", "repo_access_token"}}));
  EXPECT_EQ(error.kind, "missing_scope");
  EXPECT_EQ(error.granted_scopes, (std::vector<std::string>{"repository:write", "account"}));
  EXPECT_EQ(error.MissingScopes(), std::vector<std::string>{"team:write"});
  std::string text = error.ForDiagnostic();
  EXPECT_TRUE(Contains(text, "lacks scope team:write")) << text;
  EXPECT_TRUE(Contains(text, "repo_access_token")) << text;
}

TEST(HttpErrors, GoneChange2770) {
  ServiceError error = ParseBitbucketError(Make(
      410,
      R"({"type":"error","error":{"message":"CHANGE-2770 - Functionality has been deprecated",)"
      R"("detail":"Please read the changelog entry for more details.",)"
      R"("data":{"announcement_url":"https://developer.atlassian.com/cloud/bitbucket/changelog#CHANGE-2770"}},)"
      R"("data":{"announcement_url":"https://developer.atlassian.com/cloud/bitbucket/changelog#CHANGE-2770"}})"));
  EXPECT_TRUE(error.gone);
  EXPECT_EQ(error.kind, "gone");
  EXPECT_EQ(error.announcement_url,
            "https://developer.atlassian.com/cloud/bitbucket/changelog#CHANGE-2770");
  EXPECT_FALSE(error.replacement.has_value());
  std::string text = error.ForDiagnostic();
  EXPECT_TRUE(Contains(text, "410")) << text;
  EXPECT_TRUE(Contains(text, "CHANGE-2770")) << text;
  EXPECT_TRUE(Contains(text, "removed")) << text;
  EXPECT_TRUE(Contains(text, "changelog#CHANGE-2770")) << text;
}

TEST(HttpErrors, GoneNamesTheReplacementFromTheBody) {
  ServiceError error = ParseBitbucketError(
      Make(410, R"({"type":"error","error":{"message":"CHANGE-2770 - Functionality has been )"
                R"(deprecated","detail":"Use GET /2.0/user/workspaces instead."}})"));
  EXPECT_EQ(error.replacement, "/2.0/user/workspaces");
  std::string text = error.ForDiagnostic();
  EXPECT_TRUE(Contains(text, "use /2.0/user/workspaces instead")) << text;
}

TEST(HttpErrors, Unauthorized) {
  ServiceError error = ParseBitbucketError(
      Make(401, R"({"type":"error","error":{"message":"Token is invalid, expired, or not )"
                R"(supported for this endpoint."}})"));
  EXPECT_EQ(error.kind, "unauthorized");
  std::string text = error.ForDiagnostic();
  EXPECT_TRUE(Contains(text, "401")) << text;
  EXPECT_TRUE(Contains(text, "Token is invalid")) << text;
  EXPECT_TRUE(Contains(text, "Check the credential")) << text;
  EXPECT_EQ(ToStatus(error).code(), absl::StatusCode::kUnauthenticated);
}

TEST(HttpErrors, HtmlErrorPageIsCleanedAndCut) {
  std::string page =
      "<!DOCTYPE html>\n<html><head><style>body{color:red}</style><script>var x=1;</script>"
      "<title>502 Bad Gateway</title></head>\r\n<body>\x01\x1b[31m<h1>Bad\tGateway</h1>" +
      std::string(1000, 'z') + "</body></html>";
  ServiceError error = ParseBitbucketError(Make(502, page));
  EXPECT_EQ(error.kind, "server_error");
  EXPECT_LE(error.message.size(), 210u);
  EXPECT_TRUE(Contains(error.message, "502 Bad Gateway")) << error.message;
  EXPECT_FALSE(Contains(error.message, "<")) << error.message;
  EXPECT_FALSE(Contains(error.message, "color:red")) << error.message;
  for (char c : error.message) EXPECT_FALSE(static_cast<unsigned char>(c) < 0x20) << error.message;
  std::string text = error.ForDiagnostic();
  EXPECT_TRUE(Contains(text, "502")) << text;
  EXPECT_TRUE(Contains(text, "run again later")) << text;
  EXPECT_EQ(ToStatus(error).code(), absl::StatusCode::kUnavailable);
}

TEST(HttpErrors, PlainTextOneZeroBody) {
  ServiceError error = ParseBitbucketError(Make(405, "None"));
  EXPECT_EQ(error.message, "None");
  std::string text = error.ForDiagnostic();
  EXPECT_TRUE(Contains(text, "405")) << text;
  EXPECT_TRUE(Contains(text, "Atlassian Administration")) << text;
}

TEST(HttpErrors, CleanTextKeepsValidUtf8) {
  std::string cleaned = CleanServerText("caf\xc3\xa9 \xff\xfe bad \xc2\x85 end", 200);
  EXPECT_EQ(cleaned, "caf\xc3\xa9 ?? bad end");
  std::string cut = CleanServerText(std::string(100, 'a') + "\xc3\xa9", 101);
  EXPECT_EQ(cut, std::string(100, 'a') + "…");
}

}  // namespace
}  // namespace arnica::http
