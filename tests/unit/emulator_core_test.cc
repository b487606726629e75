// Regression tests for the emulator core, each pinning a defect found by the new-user review of
// the emulators during #3: bytes that broke the request log, an 8 KiB body limit that broke the
// state round-trip, integration ids reused after a reload, seeds and operations that were
// accepted half-checked, faults that sent broken HTTP, delays that starved the admin routes,
// secrets kept from query strings, and Bitbucket outages reported as bad credentials.
#include <httplib.h>

#include <fstream>
#include <future>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "provider/clients/arnica_paths.h"
#include "tests/emulators/emulator.h"

namespace arnica::emulators {
namespace {

using nlohmann::json;

constexpr char kArnicaToken[] = "arnica-FAKE-api-key-0001-not-a-real-key";
constexpr char kSvcEmail[] = "arnica-svc@example.com";
constexpr char kSvcSecret[] = "ATATT3xFAKEFAKEFAKE-arnica-svc-api-token-0001";

json DefaultSeed() {
  std::string here = __FILE__;
  std::ifstream file(here.substr(0, here.rfind("/tests/unit/")) +
                     "/tests/emulators/seeds/default.json");
  std::stringstream text;
  text << file.rdbuf();
  return json::parse(text.str());
}

class EmulatorCoreTest : public testing::Test {
 protected:
  void SetUp() override {
    auto started = Emulators::Start({.seed = DefaultSeed()});
    ASSERT_TRUE(started.ok()) << started.status();
    emulators_ = *std::move(started);
  }

  httplib::Client Client(Service service) { return httplib::Client(emulators_->url(service)); }

  httplib::Result Register(httplib::Client& arnica) {
    httplib::Headers auth = {{"Authorization", std::string("Bearer ") + kArnicaToken}};
    json body = {{"name", "bitbucket"}, {"principal", kSvcEmail}, {"secret", kSvcSecret}};
    return arnica.Post(clients::arnica_paths::kBitbucketIntegrations, auth, body.dump(),
                       "application/json");
  }

  std::unique_ptr<Emulators> emulators_;
};

TEST_F(EmulatorCoreTest, InvalidUtf8InAPathIsA404AndTheLogStillReads) {
  auto bitbucket = Client(Service::kBitbucket);
  auto answer = bitbucket.Get("/2.0/workspaces/%FF/members");
  ASSERT_TRUE(answer);
  EXPECT_NE(answer->status, 500);
  EXPECT_FALSE(answer->has_header("EXCEPTION_WHAT"));
  auto arnica = Client(Service::kArnica);
  auto log = arnica.Get("/_emulator/requests");
  ASSERT_TRUE(log);
  EXPECT_EQ(log->status, 200);
  EXPECT_TRUE(json::accept(log->body));
}

TEST_F(EmulatorCoreTest, ALargeStateRoundTripsThroughPut) {
  json seed = DefaultSeed();
  for (int i = 0; i < 1000; ++i) {
    char uuid[64];
    std::snprintf(uuid, sizeof(uuid), "{20000000-0000-4000-8000-%012d}", i);
    seed["workspaces"].push_back({{"uuid", uuid}, {"slug", "bulk-" + std::to_string(i)}});
  }
  auto bitbucket = Client(Service::kBitbucket);
  std::string body = seed.dump(2);
  ASSERT_GT(body.size(), 64u * 1024);
  auto put = bitbucket.Put("/_emulator/state", body, "application/json");
  ASSERT_TRUE(put);
  EXPECT_EQ(put->status, 200) << put->body;
  EXPECT_EQ(emulators_->State()["workspaces"].size(), seed["workspaces"].size());
}

TEST_F(EmulatorCoreTest, IntegrationIdsStayUniqueAfterAReload) {
  auto arnica = Client(Service::kArnica);
  auto first = Register(arnica);
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 201) << first->body;
  ASSERT_TRUE(emulators_->Replace(emulators_->State()).ok());
  auto second = Register(arnica);
  ASSERT_TRUE(second);
  ASSERT_EQ(second->status, 201) << second->body;
  EXPECT_NE(json::parse(first->body)["id"], json::parse(second->body)["id"]);
}

TEST_F(EmulatorCoreTest, SeedsWithDuplicatesDanglingReferencesOrUnknownChoicesAreRefused) {
  std::vector<std::pair<std::string, json>> broken;
  json seed = DefaultSeed();
  json duplicate = seed;
  duplicate["workspaces"].push_back(seed["workspaces"][0]);
  broken.emplace_back("twice", duplicate);
  json dangling = seed;
  dangling["workspaces"][1]["members"].push_back(
      {{"user", "{99999999-0000-4000-8000-000000000000}"}});
  broken.emplace_back("no user", dangling);
  json permission = seed;
  permission["workspaces"][1]["members"][0]["permission"] = "god";
  broken.emplace_back("unknown choice", permission);
  json slug = seed;
  slug["workspaces"][1]["slug"] = "a/b";
  broken.emplace_back("a slug has no", slug);
  for (const auto& [expected, world] : broken) {
    auto parsed = WorldFromJson(world);
    ASSERT_FALSE(parsed.ok()) << expected;
    EXPECT_NE(parsed.status().message().find(expected), std::string::npos) << parsed.status();
  }
}

TEST_F(EmulatorCoreTest, OperationsRefuseUnknownKeysAndNonStringNames) {
  json before = emulators_->State();
  auto typo = emulators_->Apply({{"op", "add_workspace_member"},
                                 {"workspace", "acme-labs"},
                                 {"user", "{5e1c0a00-0000-4000-8000-00000000a003}"},
                                 {"permision", "owner"}});
  EXPECT_FALSE(typo.ok());
  EXPECT_NE(typo.message().find("permision"), std::string::npos) << typo;
  auto bitbucket = Client(Service::kBitbucket);
  auto numeric = bitbucket.Post("/_emulator/ops", R"({"op": 1})", "application/json");
  ASSERT_TRUE(numeric);
  EXPECT_EQ(numeric->status, 400) << numeric->body;
  EXPECT_EQ(emulators_->State(), before);
}

TEST_F(EmulatorCoreTest, FaultsThatWouldSendBrokenHttpAreRefused) {
  for (const json& fault :
       {json{{"status", 99}}, json{{"status", 204}}, json{{"status", 1000}},
        json{{"retry_after", -5}}, json{{"delay_ms", 999999999999}}, json{{"times", -2}},
        json{{"path", "2.0/user"}}, json{{"action", "rest"}}, json{{"service", "bitbuckett"}}}) {
    EXPECT_FALSE(FaultFromJson(fault).ok()) << fault.dump();
  }
  auto lower = FaultFromJson({{"method", "post"}});
  ASSERT_TRUE(lower.ok());
  EXPECT_EQ(lower->method, "POST");
}

TEST_F(EmulatorCoreTest, DelayedRequestsDoNotStarveTheAdminRoutes) {
  auto fault = FaultFromJson(
      {{"path", "/2.0/user"}, {"action", "delay"}, {"delay_ms", 20000}, {"times", -1}});
  emulators_->AddFault(*fault);
  std::vector<std::future<bool>> delayed;
  for (int i = 0; i < 16; ++i) {
    delayed.push_back(std::async(std::launch::async, [this] {
      auto client = Client(Service::kBitbucket);
      client.set_read_timeout(60);
      return static_cast<bool>(client.Get("/2.0/user"));
    }));
  }
  // Time for the requests to reach their worker threads (a log entry is written only when a
  // request ends, so there is nothing to wait on). Starved, the health check below would wait
  // the 20 s out, and the requests would be over by the time it answered.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto bitbucket = Client(Service::kBitbucket);
  auto health = bitbucket.Get("/_emulator/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  // The delayed requests are still waiting: the admin route did not queue behind them.
  for (auto& request : delayed) {
    EXPECT_EQ(request.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
  }
  emulators_.reset();  // ends the delays
  for (auto& request : delayed) request.get();
}

TEST_F(EmulatorCoreTest, TheRequestLogRedactsQueryValuesThatMayBeSecrets) {
  auto bitbucket = Client(Service::kBitbucket);
  bitbucket.Get("/2.0/user/workspaces?page=2&access_token=SECRET-IN-QUERY");
  auto entries = emulators_->Requests();
  ASSERT_FALSE(entries.empty());
  EXPECT_EQ(entries.back().query.find("SECRET-IN-QUERY"), std::string::npos);
  EXPECT_NE(entries.back().query.find("page=2"), std::string::npos) << entries.back().query;
}

TEST_F(EmulatorCoreTest, ABitbucketOutageIsA502FromArnicaNotABadCredential) {
  auto fault = FaultFromJson({{"service", "bitbucket"}, {"path", "/2.0/user"}, {"status", 503}});
  emulators_->AddFault(*fault);
  auto arnica = Client(Service::kArnica);
  auto outage = Register(arnica);
  ASSERT_TRUE(outage);
  EXPECT_EQ(outage->status, 502) << outage->body;

  auto created = Register(arnica);
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201);
  std::string id = json::parse(created->body)["id"];
  emulators_->AddFault(*fault);
  httplib::Headers auth = {{"Authorization", std::string("Bearer ") + kArnicaToken}};
  auto read =
      arnica.Get(std::string(clients::arnica_paths::kBitbucketIntegrations) + "/" + id, auth);
  ASSERT_TRUE(read);
  EXPECT_EQ(json::parse(read->body)["status"], "connected") << read->body;
}

// A successful re-validation must refresh the integration (a bool once initialised from "" made
// every validation look like an outage, and reads stopped updating).
TEST_F(EmulatorCoreTest, ReadingAnIntegrationRefreshesItsWorkspaces) {
  auto arnica = Client(Service::kArnica);
  auto created = Register(arnica);
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;
  json integration = json::parse(created->body);
  ASSERT_TRUE(emulators_
                  ->Apply({{"op", "add_workspace"},
                           {"value",
                            {{"uuid", "{30000000-0000-4000-8000-000000000001}"},
                             {"slug", "acme-new"},
                             {"members", {{{"user", "{5e1c0a00-0000-4000-8000-00000000a001}"}}}}}}})
                  .ok());
  httplib::Headers auth = {{"Authorization", std::string("Bearer ") + kArnicaToken}};
  auto read = arnica.Get(std::string(clients::arnica_paths::kBitbucketIntegrations) + "/" +
                             integration["id"].get<std::string>(),
                         auth);
  ASSERT_TRUE(read);
  json workspaces = json::parse(read->body)["workspaces"];
  EXPECT_EQ(workspaces.size(), integration["workspaces"].size() + 1) << read->body;
}

}  // namespace
}  // namespace arnica::emulators
