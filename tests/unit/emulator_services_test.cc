// The Atlassian Admin API and Arnica emulators over HTTP, in process: authentication and error
// shapes, listings and paging, membership writes seen through Bitbucket, integration validation
// against the Bitbucket emulator, the core's faults and admin routes, and the default seed.
#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "provider/clients/arnica_paths.h"
#include "tests/emulators/emulator.h"

namespace arnica::emulators {
namespace {

using nlohmann::json;
namespace paths = clients::arnica_paths;

constexpr char kOrg[] = "org-1";
constexpr char kOtherOrg[] = "org-2";
constexpr char kKey[] = "FAKE-org-1-api-key";
constexpr char kOtherKey[] = "FAKE-org-2-api-key";
constexpr char kRevokedKey[] = "FAKE-org-3-api-key";
constexpr char kDirectory[] = "dir-1";
constexpr char kAdmins[] = "g-admins";
constexpr char kDevelopers[] = "g-devs";
constexpr int kTeamGroups = 22;  // with admins and developers, 24 groups: two default pages

constexpr char kSvcUuid[] = "{00000000-0000-4000-8000-000000000001}";
constexpr char kSvcAccount[] = "557058:svc";
constexpr char kSvcEmail[] = "svc@example.com";
constexpr char kSvcSecret[] = "ATATT3xFAKE-svc-token-0000000001";
constexpr char kSvcSecret2[] = "ATATT3xFAKE-svc-token-0000000003";
constexpr char kAliceEmail[] = "alice@example.com";
constexpr char kAliceSecret[] = "ATATT3xFAKE-alice-token-00000002";
constexpr char kBobAccount[] = "557058:bob";
constexpr char kOutsiderAccount[] = "557058:outsider";

constexpr char kFullToken[] = "arnica-FAKE-full-0001";
constexpr char kNoScopeToken[] = "arnica-FAKE-none-0002";
constexpr char kReadToken[] = "arnica-FAKE-read-0003";
constexpr char kOtherTenantToken[] = "arnica-FAKE-other-0004";
constexpr int kInventorySize = 7;
constexpr char kApiRepo[] = "{a0000000-0000-4000-8000-000000000001}";
constexpr char kScratchRepo[] = "{a0000000-0000-4000-8000-000000000002}";
constexpr char kSiteRepo[] = "{a0000000-0000-4000-8000-000000000003}";

// Users svc, alice, bob (members of the managed workspaces) and outsider (a member of none);
// 24 directory groups in managed-ws plus one group without an org id; g-devs is linked to two
// workspaces. Two Arnica tenants; API tokens for svc (twice) and alice.
json TestSeed() {
  json seed = json::parse(R"json({
    "users": [
      {"uuid": "{00000000-0000-4000-8000-000000000001}", "account_id": "557058:svc",
       "username": "svc", "display_name": "Service", "emails": [{"email": "svc@example.com"}]},
      {"uuid": "{00000000-0000-4000-8000-000000000002}", "account_id": "557058:alice",
       "username": "alice", "display_name": "Alice", "emails": [{"email": "alice@example.com"}]},
      {"uuid": "{00000000-0000-4000-8000-000000000003}", "account_id": "557058:bob",
       "username": "bob", "display_name": "Bob"},
      {"uuid": "{00000000-0000-4000-8000-000000000004}", "account_id": "557058:outsider",
       "username": "outsider"}
    ],
    "workspaces": [
      {"uuid": "{10000000-0000-4000-8000-000000000001}", "slug": "managed-ws", "managed": true,
       "org_id": "org-1", "directory_id": "dir-1",
       "members": [{"user": "{00000000-0000-4000-8000-000000000001}"},
                   {"user": "{00000000-0000-4000-8000-000000000002}", "permission": "owner"},
                   {"user": "{00000000-0000-4000-8000-000000000003}"}],
       "groups": [
         {"slug": "administrators", "name": "Administrators", "org_group_id": "g-admins",
          "members": ["{00000000-0000-4000-8000-000000000002}"]},
         {"slug": "developers", "name": "Developers", "org_group_id": "g-devs",
          "permission": "write", "members": ["{00000000-0000-4000-8000-000000000002}",
                                             "{00000000-0000-4000-8000-000000000003}"]},
         {"slug": "local-only", "name": "Local only"}
       ]},
      {"uuid": "{10000000-0000-4000-8000-000000000002}", "slug": "managed-two", "managed": true,
       "org_id": "org-1", "directory_id": "dir-1",
       "members": [{"user": "{00000000-0000-4000-8000-000000000001}"},
                   {"user": "{00000000-0000-4000-8000-000000000003}"}],
       "groups": [{"slug": "devs", "name": "Developers", "org_group_id": "g-devs",
                   "members": ["{00000000-0000-4000-8000-000000000003}"]}]},
      {"uuid": "{10000000-0000-4000-8000-000000000003}", "slug": "plain-ws",
       "members": [{"user": "{00000000-0000-4000-8000-000000000001}"}],
       "groups": [{"slug": "administrators", "org_group_id": "g-elsewhere"}]}
    ],
    "credentials": [
      {"id": "svc-token", "kind": "api_token", "user": "{00000000-0000-4000-8000-000000000001}",
       "secret": "ATATT3xFAKE-svc-token-0000000001",
       "scopes": ["read:user:bitbucket", "read:workspace:bitbucket"]},
      {"id": "svc-token-2", "kind": "api_token", "user": "{00000000-0000-4000-8000-000000000001}",
       "secret": "ATATT3xFAKE-svc-token-0000000003",
       "scopes": ["read:user:bitbucket", "read:workspace:bitbucket"]},
      {"id": "alice-token", "kind": "api_token", "user": "{00000000-0000-4000-8000-000000000002}",
       "secret": "ATATT3xFAKE-alice-token-00000002", "scopes": ["read:permission:bitbucket"]}
    ],
    "orgs": [
      {"id": "org-1", "api_key": "FAKE-org-1-api-key",
       "directories": [{"id": "dir-1", "name": "Main"}, {"id": "dir-empty", "name": "Empty"}]},
      {"id": "org-2", "api_key": "FAKE-org-2-api-key", "directories": [{"id": "dir-2"}]},
      {"id": "org-3", "api_key": "FAKE-org-3-api-key", "api_key_revoked": true}
    ],
    "arnica_tenants": [
      {"org_id": "arnica-org-1",
       "tokens": [
         {"token": "arnica-FAKE-full-0001", "key_id": "key-full",
          "scopes": ["inventory:read", "integrations:read", "integrations:write"]},
         {"token": "arnica-FAKE-none-0002", "key_id": "key-none"},
         {"token": "arnica-FAKE-read-0003", "key_id": "key-read",
          "scopes": ["integrations:read"]}]},
      {"org_id": "arnica-org-2",
       "tokens": [{"token": "arnica-FAKE-other-0004", "key_id": "key-other",
                   "scopes": ["integrations:read", "integrations:write"]}]}
    ],
    "options": {"api_token_groups": "permission_scopes"}
  })json");
  json& groups = seed["workspaces"][0]["groups"];
  for (int i = 1; i <= kTeamGroups; ++i) {
    std::string n = absl::StrCat(i < 10 ? "0" : "", i);
    groups.push_back(
        {{"slug", "team-" + n}, {"name", "Team " + n}, {"org_group_id", "g-team-" + n}});
  }
  json& inventory = seed["arnica_tenants"][0]["inventory"];
  for (int i = 1; i <= kInventorySize; ++i) {
    inventory.push_back({{"id", absl::StrCat("repo-", i)},
                         {"workspace", i % 2 ? "managed-ws" : "plain-ws"},
                         {"project", "PRJ"},
                         {"name", absl::StrCat("repo-", i)}});
  }
  return seed;
}

httplib::Headers Bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

httplib::Headers Basic(const std::string& name, const std::string& secret) {
  return {httplib::make_basic_authentication_header(name, secret)};
}

json BodyOf(const httplib::Result& result) {
  return result ? json::parse(result->body, nullptr, false) : json();
}

std::string DefaultSeedPath() {
  std::string here = __FILE__;
  return here.substr(0, here.rfind("/tests/unit/")) + "/tests/emulators/seeds/default.json";
}

json ReadJsonFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return json::parse(text.str(), nullptr, false);
}

int PortOf(const std::string& url) { return std::stoi(url.substr(url.rfind(':') + 1)); }

// Sends one GET over a fresh connection and returns every byte the server sent until it closed.
std::string RawGet(int port, const std::string& target, const std::string& token) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    return "";
  }
  std::string request =
      absl::StrCat("GET ", target, " HTTP/1.1\r\nHost: 127.0.0.1\r\n", "Authorization: Bearer ",
                   token, "\r\n", "Connection: close\r\n\r\n");
  send(fd, request.data(), request.size(), 0);
  std::string received;
  char buffer[4096];
  for (ssize_t n; (n = recv(fd, buffer, sizeof(buffer), 0)) > 0;) received.append(buffer, n);
  close(fd);
  return received;
}

class EmulatorServices : public ::testing::Test {
 protected:
  void SetUp() override { Start(TestSeed()); }

  void Start(json seed, bool tls = false) {
    auto started = Emulators::Start({.seed = std::move(seed), .tls = tls});
    ASSERT_TRUE(started.ok()) << started.status();
    emulators_ = *std::move(started);
  }

  httplib::Client Client(Service service) const {
    httplib::Client client(emulators_->url(service));
    if (!emulators_->ca_file().empty()) client.set_ca_cert_path(emulators_->ca_file());
    client.set_read_timeout(10);
    return client;
  }

  static std::string Groups(const std::string& query = "") {
    return absl::StrCat("/admin/v2/orgs/", kOrg, "/directories/", kDirectory, "/groups", query);
  }
  static std::string Memberships(const std::string& group, const std::string& rest = "") {
    return absl::StrCat(Groups(), "/", group, "/memberships", rest);
  }

  httplib::Result AdminGet(const std::string& path, const std::string& key = kKey) const {
    return Client(Service::kAtlassianAdmin).Get(path, Bearer(key));
  }
  httplib::Result AddMember(const std::string& group, const std::string& body) const {
    return Client(Service::kAtlassianAdmin)
        .Post(Memberships(group), Bearer(kKey), body, "application/json");
  }
  httplib::Result RemoveMember(const std::string& group, const std::string& account) const {
    return Client(Service::kAtlassianAdmin).Delete(Memberships(group, "/" + account), Bearer(kKey));
  }

  // The Admin API's `next` link, relative to its server; "" when absent.
  std::string NextOf(const json& body) const {
    if (!body["links"].contains("next")) return "";
    std::string next = body["links"]["next"];
    std::string base = emulators_->url(Service::kAtlassianAdmin);
    EXPECT_TRUE(absl::StartsWith(next, base)) << next;
    return next.substr(base.size());
  }

  httplib::Result ArnicaGet(const std::string& path, const std::string& token = kFullToken) const {
    return Client(Service::kArnica).Get(path, Bearer(token));
  }
  httplib::Result Register(const json& body, const std::string& token = kFullToken) const {
    return Client(Service::kArnica)
        .Post(paths::kBitbucketIntegrations, Bearer(token), body.dump(), "application/json");
  }
  httplib::Result Rotate(const std::string& id, const json& body) const {
    std::string path =
        absl::StrCat(paths::kBitbucketIntegrations, "/", id, paths::kCredentialsSuffix);
    return Client(Service::kArnica).Put(path, Bearer(kFullToken), body.dump(), "application/json");
  }
  static std::string Integration(const std::string& id) {
    return absl::StrCat(paths::kBitbucketIntegrations, "/", id);
  }
  httplib::Result Sync(const std::string& id, const std::string& token = kFullToken) const {
    return Client(Service::kArnica)
        .Post(Integration(id) + paths::kSyncSuffix, Bearer(token), "", "application/json");
  }
  std::string RegisterSvc() const {
    auto created = Register({{"name", "main"}, {"principal", kSvcEmail}, {"secret", kSvcSecret}});
    EXPECT_TRUE(created && created->status == 201) << (created ? created->body : "no answer");
    return created ? BodyOf(created).value("id", "") : "";
  }

  void Op(const json& op) const {
    absl::Status applied = emulators_->Apply(op);
    ASSERT_TRUE(applied.ok()) << applied;
  }

  // Lets svc-token list repositories, and gives managed-ws two of them (scratch in no project)
  // and plain-ws one; managed-two has none. kIngested is what ingestion makes of them.
  void SeedRepositories() const {
    Op({{"op", "set_scopes"},
        {"credential", "svc-token"},
        {"scopes",
         {"read:user:bitbucket", "read:workspace:bitbucket", "read:repository:bitbucket"}}});
    Op({{"op", "add_repository"},
        {"workspace", "managed-ws"},
        {"value", {{"uuid", kApiRepo}, {"slug", "api"}, {"name", "API"}, {"project", "CORE"}}}});
    Op({{"op", "add_repository"},
        {"workspace", "managed-ws"},
        {"value", {{"uuid", kScratchRepo}, {"slug", "scratch"}}}});
    Op({{"op", "add_repository"},
        {"workspace", "plain-ws"},
        {"value", {{"uuid", kSiteRepo}, {"slug", "site"}, {"project", "WEB"}}}});
  }

  // The tenant's inventory through Arnica's API, one "workspace/name|project|id" per repository.
  std::vector<std::string> Inventory() const {
    json body = BodyOf(ArnicaGet(absl::StrCat(paths::kInventoryRepos, "?limit=500")));
    std::vector<std::string> lines;
    for (const auto& repo : body["repos"]) {
      lines.push_back(absl::StrCat(repo["fullName"].get<std::string>(), "|",
                                   repo["project"].get<std::string>(), "|",
                                   repo["id"].get<std::string>()));
    }
    return lines;
  }
  // The credentials Arnica's repository listings authenticated with, in order.
  std::vector<std::string> ListingCredentials() const {
    std::vector<std::string> ids;
    for (const auto& entry : emulators_->Requests()) {
      if (absl::StartsWith(entry.path, "/2.0/repositories/")) ids.push_back(entry.credential);
    }
    return ids;
  }
  std::vector<std::string> SortedInventory() const {
    std::vector<std::string> lines = Inventory();
    std::sort(lines.begin(), lines.end());
    return lines;
  }

  httplib::Result AdminRoute(const std::string& method, const std::string& path,
                             const json& body = nullptr) const {
    auto client = Client(Service::kArnica);
    if (method == "GET") return client.Get(path);
    if (method == "DELETE") return client.Delete(path);
    return client.Post(path, body.is_null() ? "" : body.dump(), "application/json");
  }
  void AddFault(const json& fault) const {
    auto result = AdminRoute("POST", "/_emulator/faults", fault);
    ASSERT_TRUE(result);
    ASSERT_EQ(result->status, 200) << result->body;
  }

  std::vector<std::string> GroupMembers(const std::string& workspace, const std::string& slug) {
    return emulators_->WithWorld([&](World& world) {
      Workspace* found = world.FindWorkspace(workspace);
      return found == nullptr ? std::vector<std::string>{} : world.FindGroup(*found, slug)->members;
    });
  }

  std::unique_ptr<Emulators> emulators_;
};

// Every Admin API error has one entry: status as a string, code, title, detail.
void ExpectAdminError(const httplib::Result& result, int status, const std::string& code) {
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, status) << result->body;
  json body = BodyOf(result);
  ASSERT_TRUE(body.contains("errors")) << result->body;
  ASSERT_EQ(body["errors"].size(), 1u);
  EXPECT_EQ(body["errors"][0]["status"], std::to_string(status));
  EXPECT_EQ(body["errors"][0]["code"], code);
  EXPECT_TRUE(body["errors"][0]["title"].is_string());
  EXPECT_FALSE(body["errors"][0]["detail"].get<std::string>().empty());
}

// Arnica's error body: ui, message, error, statusCode and a fresh errid_ id.
void ExpectArnicaError(const httplib::Result& result, int status, const std::string& error) {
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, status) << result->body;
  json body = BodyOf(result);
  EXPECT_EQ(body["ui"], true) << result->body;
  EXPECT_EQ(body["error"], error);
  EXPECT_EQ(body["statusCode"], status);
  EXPECT_FALSE(body["message"].get<std::string>().empty());
  EXPECT_TRUE(absl::StartsWith(body["id"].get<std::string>(), "errid_"));
}

// --- Atlassian Admin API -------------------------------------------------------------------------

TEST_F(EmulatorServices, AdminAnswers401ForAMissingUnknownOrRevokedKey) {
  auto client = Client(Service::kAtlassianAdmin);
  ExpectAdminError(client.Get(Groups()), 401, "UNAUTHORIZED");
  ExpectAdminError(AdminGet(Groups(), "FAKE-nobody"), 401, "UNAUTHORIZED");
  ExpectAdminError(client.Get(Groups(), {{"Authorization", std::string("Basic ") + kKey}}), 401,
                   "UNAUTHORIZED");
  ExpectAdminError(AdminGet("/admin/v2/orgs/org-3/directories", kRevokedKey), 401, "UNAUTHORIZED");

  ASSERT_TRUE(AdminRoute("POST", "/_emulator/ops", {{"op", "revoke_org_key"}, {"org", kOrg}}));
  ExpectAdminError(AdminGet(Groups()), 401, "UNAUTHORIZED");
}

TEST_F(EmulatorServices, AdminAnswers403ForAnotherOrgsKeyAnd404ForAnUnknownOrg) {
  ExpectAdminError(AdminGet(Groups(), kOtherKey), 403, "FORBIDDEN");
  ExpectAdminError(AdminGet("/admin/v2/orgs/org-2/directories", kKey), 403, "FORBIDDEN");
  ExpectAdminError(AdminGet("/admin/v2/orgs/org-9/directories"), 404, "NOT_FOUND");
}

TEST_F(EmulatorServices, AdminLogsTheOrgAndNeverTheKey) {
  ASSERT_TRUE(AdminGet(Groups()));
  ASSERT_TRUE(AdminGet(Groups(), "FAKE-nobody"));
  auto log = emulators_->Requests();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].credential, "org:org-1");
  EXPECT_EQ(log[1].credential, "");
  std::string dump = AdminRoute("GET", "/_emulator/requests")->body;
  EXPECT_EQ(dump.find(kKey), std::string::npos);
  EXPECT_EQ(dump.find("FAKE-nobody"), std::string::npos);
}

TEST_F(EmulatorServices, AdminListsTheOrgsDirectories) {
  auto result = AdminGet(absl::StrCat("/admin/v2/orgs/", kOrg, "/directories"));
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  json body = BodyOf(result);
  EXPECT_EQ(body["data"], json::parse(R"([{"directoryId": "dir-1", "name": "Main"},
                                          {"directoryId": "dir-empty", "name": "Empty"}])"));
  EXPECT_EQ(body["links"]["self"],
            emulators_->url(Service::kAtlassianAdmin) + "/admin/v2/orgs/org-1/directories");
  EXPECT_FALSE(body["links"].contains("next"));
}

TEST_F(EmulatorServices, AdminPagesGroupsWithAnOpaqueCursor) {
  auto first = AdminGet(Groups());
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 200) << first->body;
  json page1 = BodyOf(first);
  ASSERT_EQ(page1["data"].size(), 20u);
  EXPECT_EQ(page1["data"][0], json::parse(R"({"groupId": "g-admins", "name": "Administrators",
      "description": "Bitbucket group of managed-ws/administrators"})"));
  std::string next = NextOf(page1);
  ASSERT_TRUE(absl::StrContains(next, "cursor=")) << next;

  json page2 = BodyOf(AdminGet(next));
  ASSERT_EQ(page2["data"].size(), 4u);
  EXPECT_EQ(page2["data"][3]["groupId"], "g-team-22");
  EXPECT_FALSE(page2["links"].contains("next"));
  for (const auto& group : page2["data"]) EXPECT_NE(group["groupId"], "g-elsewhere");
}

TEST_F(EmulatorServices, AdminNextLinksKeepTheFiltersAndLimit) {
  json page = BodyOf(AdminGet(Groups("?searchTerm=team&limit=10")));
  std::vector<std::string> ids;
  for (int pages = 1;; ++pages) {
    ASSERT_LE(pages, 3);
    for (const auto& group : page["data"]) ids.push_back(group["groupId"]);
    std::string next = NextOf(page);
    if (next.empty()) break;
    EXPECT_TRUE(absl::StrContains(next, "limit=10")) << next;
    EXPECT_TRUE(absl::StrContains(next, "searchTerm=team")) << next;
    page = BodyOf(AdminGet(next));
  }
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kTeamGroups));
}

TEST_F(EmulatorServices, AdminRefusesBadLimitsAndCursors) {
  for (const char* query : {"?limit=0", "?limit=101", "?limit=ten", "?cursor=garbage",
                            "?cursor=b2Zmc2V0Ojk5OQ"}) {  // the last: offset 999, past the end
    SCOPED_TRACE(query);
    ExpectAdminError(AdminGet(Groups(query)), 400, "BAD_REQUEST");
  }
  auto largest = AdminGet(Groups("?limit=100"));
  ASSERT_TRUE(largest);
  EXPECT_EQ(BodyOf(largest)["data"].size(), 24u);
}

TEST_F(EmulatorServices, AdminFiltersGroupsByNameAndAccount) {
  json admins = BodyOf(AdminGet(Groups("?searchTerm=ADMIN")));
  ASSERT_EQ(admins["data"].size(), 1u);
  EXPECT_EQ(admins["data"][0]["groupId"], kAdmins);

  json bobs = BodyOf(AdminGet(Groups(absl::StrCat("?accountIds=", kBobAccount))));
  ASSERT_EQ(bobs["data"].size(), 1u);
  EXPECT_EQ(bobs["data"][0]["groupId"], kDevelopers);

  json either = BodyOf(AdminGet(Groups("?accountIds=557058:alice,557058:nobody")));
  EXPECT_EQ(either["data"].size(), 2u);
  json nobody = BodyOf(AdminGet(Groups(absl::StrCat("?accountIds=", kOutsiderAccount))));
  EXPECT_TRUE(nobody["data"].empty());
}

TEST_F(EmulatorServices, AdminAnswers404ForAnUnknownDirectoryOrGroup) {
  ExpectAdminError(AdminGet("/admin/v2/orgs/org-1/directories/dir-9/groups"), 404, "NOT_FOUND");
  ExpectAdminError(AdminGet(Memberships("g-nothing")), 404, "NOT_FOUND");
  ExpectAdminError(AdminGet(Memberships("g-elsewhere")), 404, "NOT_FOUND");
  json empty = BodyOf(AdminGet("/admin/v2/orgs/org-1/directories/dir-empty/groups"));
  EXPECT_TRUE(empty["data"].empty());
  ExpectAdminError(Client(Service::kAtlassianAdmin)
                       .Put(Memberships(kAdmins), Bearer(kKey), "{}", "application/json"),
                   405, "METHOD_NOT_ALLOWED");
}

TEST_F(EmulatorServices, AdminListsMembershipsAPageAtATime) {
  json page1 = BodyOf(AdminGet(Memberships(kDevelopers, "?limit=1")));
  ASSERT_EQ(page1["data"].size(), 1u);
  EXPECT_EQ(page1["data"][0], json::parse(R"({"accountId": "557058:alice", "name": "Alice",
                                               "email": "alice@example.com"})"));
  json page2 = BodyOf(AdminGet(NextOf(page1)));
  ASSERT_EQ(page2["data"].size(), 1u);
  EXPECT_EQ(page2["data"][0], json::parse(R"({"accountId": "557058:bob", "name": "Bob"})"));
  EXPECT_FALSE(page2["links"].contains("next"));
}

TEST_F(EmulatorServices, AdminMembershipWritesShowInBitbucket) {
  auto added = AddMember(kAdmins, json({{"accountId", kSvcAccount}}).dump());
  ASSERT_TRUE(added);
  EXPECT_EQ(added->status, 200) << added->body;
  EXPECT_EQ(BodyOf(added), json::object());
  EXPECT_EQ(GroupMembers("managed-ws", "administrators"),
            (std::vector<std::string>{"{00000000-0000-4000-8000-000000000002}", kSvcUuid}));

  auto listed =
      Client(Service::kBitbucket)
          .Get("/1.0/groups/managed-ws/administrators/members", Basic(kAliceEmail, kAliceSecret));
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->status, 200) << listed->body;
  EXPECT_TRUE(absl::StrContains(listed->body, kSvcUuid)) << listed->body;

  auto removed = RemoveMember(kAdmins, kSvcAccount);
  ASSERT_TRUE(removed);
  EXPECT_EQ(removed->status, 204) << removed->body;
  EXPECT_EQ(GroupMembers("managed-ws", "administrators"),
            (std::vector<std::string>{"{00000000-0000-4000-8000-000000000002}"}));
}

TEST_F(EmulatorServices, AdminWritesEveryWorkspaceADirectoryGroupIsLinkedTo) {
  auto added = AddMember(kDevelopers, json({{"accountId", kSvcAccount}}).dump());
  ASSERT_TRUE(added);
  ASSERT_EQ(added->status, 200) << added->body;
  EXPECT_EQ(GroupMembers("managed-ws", "developers").back(), kSvcUuid);
  EXPECT_EQ(GroupMembers("managed-two", "devs").back(), kSvcUuid);
  ASSERT_EQ(RemoveMember(kDevelopers, kSvcAccount)->status, 204);
  EXPECT_EQ(GroupMembers("managed-two", "devs").size(), 1u);
}

TEST_F(EmulatorServices, AdminMembershipWritesAreStrict) {
  ExpectAdminError(AddMember(kAdmins, "accountId=557058:svc"), 400, "BAD_REQUEST");
  ExpectAdminError(AddMember(kAdmins, "{}"), 400, "BAD_REQUEST");
  ExpectAdminError(AddMember(kAdmins, R"({"accountId": 7})"), 400, "BAD_REQUEST");
  ExpectAdminError(AddMember(kAdmins, R"({"accountId": "557058:nobody"})"), 404, "NOT_FOUND");
  // Not a member of managed-ws: not in the group's directory.
  ExpectAdminError(AddMember(kAdmins, json({{"accountId", kOutsiderAccount}}).dump()), 404,
                   "NOT_FOUND");
  // A uuid is not an account id.
  ExpectAdminError(AddMember(kAdmins, json({{"accountId", kSvcUuid}}).dump()), 404, "NOT_FOUND");
  ExpectAdminError(AddMember(kAdmins, R"({"accountId": "557058:alice"})"), 409, "CONFLICT");
  ExpectAdminError(RemoveMember(kAdmins, kBobAccount), 404, "NOT_FOUND");
  ExpectAdminError(RemoveMember(kAdmins, "557058:nobody"), 404, "NOT_FOUND");
  EXPECT_EQ(GroupMembers("managed-ws", "administrators").size(), 1u);
}

// --- Arnica: authentication, token check, inventory ----------------------------------------------

TEST_F(EmulatorServices, ArnicaAnswers403ForMissingBadAndRevokedKeys) {
  ExpectArnicaError(Client(Service::kArnica).Get(paths::kAuthToken), 403, "Forbidden");
  ExpectArnicaError(ArnicaGet(paths::kAuthToken, "arnica-FAKE-nobody"), 403, "Forbidden");
  ExpectArnicaError(
      Client(Service::kArnica).Get(paths::kAuthToken, {{"Authorization", kFullToken}}), 403,
      "Forbidden");
  ASSERT_TRUE(
      AdminRoute("POST", "/_emulator/ops",
                 {{"op", "revoke_arnica_token"}, {"org", "arnica-org-1"}, {"key_id", "key-full"}}));
  ExpectArnicaError(ArnicaGet(paths::kAuthToken), 403, "Forbidden");
}

TEST_F(EmulatorServices, ArnicaNamesTheMissingScope) {
  auto inventory = ArnicaGet(paths::kInventoryRepos, kNoScopeToken);
  ExpectArnicaError(inventory, 403, "Forbidden");
  EXPECT_TRUE(absl::StrContains(BodyOf(inventory)["message"].get<std::string>(), "inventory:read"));

  auto listing = ArnicaGet(paths::kBitbucketIntegrations, kNoScopeToken);
  EXPECT_TRUE(
      absl::StrContains(BodyOf(listing)["message"].get<std::string>(), "integrations:read"));
  auto write =
      Register({{"name", "x"}, {"principal", kSvcEmail}, {"secret", kSvcSecret}}, kReadToken);
  ExpectArnicaError(write, 403, "Forbidden");
  EXPECT_TRUE(absl::StrContains(BodyOf(write)["message"].get<std::string>(), "integrations:write"));
  EXPECT_EQ(emulators_->Count(Service::kBitbucket, "", ""), 0);
}

TEST_F(EmulatorServices, ArnicaErrorIdsAreUnique) {
  json first = BodyOf(ArnicaGet(paths::kAuthToken, "arnica-FAKE-nobody"));
  json second = BodyOf(ArnicaGet(paths::kAuthToken, "arnica-FAKE-nobody"));
  EXPECT_NE(first["id"], second["id"]);
  ExpectArnicaError(ArnicaGet("/v1/nothing"), 404, "Not Found");
}

TEST_F(EmulatorServices, ArnicaTokenCheckNamesTheOrgAndKey) {
  auto result = ArnicaGet(paths::kAuthToken, kNoScopeToken);  // needs no scope
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  EXPECT_EQ(BodyOf(result), json({{"arnicaOrgId", "arnica-org-1"}, {"keyId", "key-none"}}));
  EXPECT_EQ(emulators_->Requests().back().credential, "arnica:key-none");
}

TEST_F(EmulatorServices, ArnicaInventoryPagesByOffsetAndLimit) {
  json all = BodyOf(ArnicaGet(paths::kInventoryRepos));
  EXPECT_EQ(all["total"], kInventorySize);
  EXPECT_EQ(all["offset"], 0);
  EXPECT_EQ(all["limit"], 100);
  ASSERT_EQ(all["repos"].size(), static_cast<std::size_t>(kInventorySize));
  EXPECT_EQ(all["repos"][0], json::parse(R"({"id": "repo-1", "name": "repo-1",
      "fullName": "managed-ws/repo-1", "url": "https://bitbucket.org/managed-ws/repo-1",
      "scmType": "bitbucket-cloud", "organization": "managed-ws", "project": "PRJ"})"));

  json middle = BodyOf(ArnicaGet(absl::StrCat(paths::kInventoryRepos, "?offset=3&limit=3")));
  ASSERT_EQ(middle["repos"].size(), 3u);
  EXPECT_EQ(middle["repos"][0]["id"], "repo-4");
  EXPECT_EQ(middle["total"], kInventorySize);
  EXPECT_EQ(BodyOf(ArnicaGet(absl::StrCat(paths::kInventoryRepos, "?offset=6")))["repos"].size(),
            1u);
  EXPECT_TRUE(
      BodyOf(ArnicaGet(absl::StrCat(paths::kInventoryRepos, "?offset=50")))["repos"].empty());
  EXPECT_EQ(BodyOf(ArnicaGet(absl::StrCat(paths::kInventoryRepos, "?limit=500")))["repos"].size(),
            7u);
}

TEST_F(EmulatorServices, ArnicaInventoryRefusesOutOfRangeParameters) {
  for (const char* query : {"?limit=0", "?limit=501", "?limit=many", "?offset=-1", "?offset=x"}) {
    SCOPED_TRACE(query);
    auto result = ArnicaGet(absl::StrCat(paths::kInventoryRepos, query));
    ExpectArnicaError(result, 400, "Bad Request");
  }
}

// --- Arnica: integrations (modelled) -------------------------------------------------------------

TEST_F(EmulatorServices, ArnicaRegistersACredentialBitbucketAccepts) {
  auto created = Register({{"name", "main"}, {"principal", kSvcEmail}, {"secret", kSvcSecret}});
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;
  json integration = BodyOf(created);
  EXPECT_TRUE(absl::StartsWith(integration["id"].get<std::string>(), "int-"));
  EXPECT_EQ(integration["name"], "main");
  EXPECT_EQ(integration["principal"], kSvcEmail);
  EXPECT_EQ(integration["secret"], "********0001");
  EXPECT_EQ(integration["status"], "connected");
  EXPECT_EQ(integration["scmType"], "bitbucket-cloud");
  EXPECT_EQ(integration["workspaces"], json({"managed-two", "managed-ws", "plain-ws"}));
  EXPECT_EQ(emulators_->Count(Service::kBitbucket, "GET", "/2.0/user"), 1);
  EXPECT_EQ(emulators_->Count(Service::kBitbucket, "GET", "/2.0/user/workspaces"), 1);

  json listed = BodyOf(ArnicaGet(paths::kBitbucketIntegrations));
  EXPECT_EQ(listed, json({{"integrations", json::array({integration})}}));
  EXPECT_TRUE(
      BodyOf(ArnicaGet(paths::kBitbucketIntegrations, kOtherTenantToken))["integrations"].empty());
  ExpectArnicaError(ArnicaGet(Integration(integration["id"]), kOtherTenantToken), 404, "Not Found");
}

TEST_F(EmulatorServices, ArnicaFollowsEveryPageOfWorkspaces) {
  ASSERT_EQ(AdminRoute("POST", "/_emulator/ops",
                       {{"op", "set_option"}, {"name", "default_pagelen"}, {"value", 1}})
                ->status,
            200);
  json integration =
      BodyOf(Register({{"name", "main"}, {"principal", kSvcEmail}, {"secret", kSvcSecret}}));
  EXPECT_EQ(integration["workspaces"], json({"managed-two", "managed-ws", "plain-ws"}));
  EXPECT_EQ(emulators_->Count(Service::kBitbucket, "GET", "/2.0/user/workspaces"), 3);
}

TEST_F(EmulatorServices, ArnicaStoresNothingWhenBitbucketRefuses) {
  auto refused = Register({{"name", "main"}, {"principal", kSvcEmail}, {"secret", "wrong-secret"}});
  ExpectArnicaError(refused, 400, "Bad Request");
  EXPECT_EQ(BodyOf(refused)["message"],
            "Bitbucket rejected the credential: HTTP 401: Token is invalid, expired, or not "
            "supported for this endpoint.");
  // The username of an API token's user is not its e-mail.
  ExpectArnicaError(Register({{"name", "main"}, {"principal", "svc"}, {"secret", kSvcSecret}}), 400,
                    "Bad Request");
  EXPECT_TRUE(BodyOf(ArnicaGet(paths::kBitbucketIntegrations))["integrations"].empty());
}

// A Bitbucket that gives no verdict is not a bad credential: Arnica answers 502, not 400.
TEST_F(EmulatorServices, ArnicaReportsABitbucketFaultAsAnOutage) {
  AddFault({{"service", "bitbucket"}, {"path", "/2.0/user/workspaces"}, {"status", 503}});
  auto refused = Register({{"name", "main"}, {"principal", kSvcEmail}, {"secret", kSvcSecret}});
  ExpectArnicaError(refused, 502, "Bad Gateway");
  EXPECT_TRUE(
      absl::StartsWith(BodyOf(refused)["message"].get<std::string>(),
                       "Arnica could not validate the credential, Bitbucket failed: HTTP 503"))
      << refused->body;
  AddFault({{"service", "bitbucket"}, {"action", "reset"}});
  refused = Register({{"name", "main"}, {"principal", kSvcEmail}, {"secret", kSvcSecret}});
  ExpectArnicaError(refused, 502, "Bad Gateway");
  EXPECT_TRUE(BodyOf(ArnicaGet(paths::kBitbucketIntegrations))["integrations"].empty());
}

TEST_F(EmulatorServices, ArnicaNamesTheMissingField) {
  json complete = {{"name", "main"}, {"principal", kSvcEmail}, {"secret", kSvcSecret}};
  for (const char* field : {"name", "principal", "secret"}) {
    SCOPED_TRACE(field);
    json missing = complete, empty = complete;
    missing.erase(field);
    empty[field] = "";
    for (const json& body : {missing, empty}) {
      auto result = Register(body);
      ExpectArnicaError(result, 400, "Bad Request");
      EXPECT_TRUE(absl::StrContains(BodyOf(result)["message"].get<std::string>(), field));
    }
  }
  auto not_json = Client(Service::kArnica)
                      .Post(paths::kBitbucketIntegrations, Bearer(kFullToken), "name=main",
                            "application/x-www-form-urlencoded");
  ExpectArnicaError(not_json, 400, "Bad Request");
  EXPECT_EQ(emulators_->Count(Service::kBitbucket, "", ""), 0);
}

TEST_F(EmulatorServices, ArnicaReadRevalidatesAndRotationNeedsAWorkingCredential) {
  std::string id =
      BodyOf(Register({{"name", "main"}, {"principal", kSvcEmail}, {"secret", kSvcSecret}}))["id"];
  ASSERT_EQ(AdminRoute("POST", "/_emulator/ops",
                       {{"op", "revoke_credential"}, {"credential", "svc-token"}})
                ->status,
            200);
  json invalid = BodyOf(ArnicaGet(Integration(id), kReadToken));
  EXPECT_EQ(invalid["status"], "invalid");
  EXPECT_TRUE(absl::StartsWith(invalid["reason"].get<std::string>(),
                               "Bitbucket rejected the credential: HTTP 401"));
  EXPECT_TRUE(invalid["workspaces"].empty());
  EXPECT_EQ(emulators_->Count(Service::kBitbucket, "GET", "/2.0/user"), 2);

  ExpectArnicaError(Rotate(id, {{"principal", kSvcEmail}, {"secret", "still-wrong"}}), 400,
                    "Bad Request");
  EXPECT_EQ(BodyOf(ArnicaGet(paths::kBitbucketIntegrations))["integrations"][0]["secret"],
            "********0001");
  ExpectArnicaError(Rotate(id, {{"principal", kSvcEmail}}), 400, "Bad Request");
  ExpectArnicaError(Rotate("int-999", {{"principal", kSvcEmail}, {"secret", kSvcSecret2}}), 404,
                    "Not Found");

  auto rotated = Rotate(id, {{"principal", kSvcEmail}, {"secret", kSvcSecret2}});
  ASSERT_TRUE(rotated);
  ASSERT_EQ(rotated->status, 200) << rotated->body;
  json fixed = BodyOf(rotated);
  EXPECT_EQ(fixed["status"], "connected");
  EXPECT_EQ(fixed["secret"], "********0003");
  EXPECT_FALSE(fixed.contains("reason"));
  EXPECT_EQ(fixed["workspaces"].size(), 3u);
  EXPECT_EQ(BodyOf(ArnicaGet(Integration(id)))["status"], "connected");
}

TEST_F(EmulatorServices, ArnicaDeletesAnIntegration) {
  std::string id =
      BodyOf(Register({{"name", "main"}, {"principal", kSvcEmail}, {"secret", kSvcSecret}}))["id"];
  auto client = Client(Service::kArnica);
  ExpectArnicaError(client.Delete(Integration(id), Bearer(kReadToken)), 403, "Forbidden");
  auto removed = client.Delete(Integration(id), Bearer(kFullToken));
  ASSERT_TRUE(removed);
  EXPECT_EQ(removed->status, 204);
  ExpectArnicaError(client.Delete(Integration(id), Bearer(kFullToken)), 404, "Not Found");
  ExpectArnicaError(ArnicaGet(Integration(id)), 404, "Not Found");
  EXPECT_TRUE(BodyOf(ArnicaGet(paths::kBitbucketIntegrations))["integrations"].empty());
}

// The state dump holds secrets by design (it is the seed format); responses and the log never.
TEST_F(EmulatorServices, ArnicaNeverShowsTheFullSecret) {
  std::vector<httplib::Result> results;
  results.push_back(Register({{"name", "main"}, {"principal", kSvcEmail}, {"secret", kSvcSecret}}));
  std::string id = BodyOf(results.back())["id"];
  results.push_back(ArnicaGet(paths::kBitbucketIntegrations));
  results.push_back(ArnicaGet(Integration(id)));
  results.push_back(Rotate(id, {{"principal", kSvcEmail}, {"secret", kSvcSecret2}}));
  results.push_back(
      Rotate(id, {{"principal", kSvcEmail}, {"secret", kSvcSecret2 + std::string("x")}}));
  results.push_back(AdminRoute("GET", "/_emulator/requests"));
  for (const auto& result : results) {
    ASSERT_TRUE(result);
    EXPECT_FALSE(absl::StrContains(result->body, kSvcSecret)) << result->body;
    EXPECT_FALSE(absl::StrContains(result->body, kSvcSecret2)) << result->body;
  }
}

TEST_F(EmulatorServices, ArnicaValidatesOverTlsTrustingTheEmulatorsCa) {
  Start(TestSeed(), /*tls=*/true);
  ASSERT_FALSE(emulators_->ca_file().empty());
  ASSERT_TRUE(absl::StartsWith(emulators_->url(Service::kBitbucket), "https://"));
  auto created = Register({{"name", "main"}, {"principal", kSvcEmail}, {"secret", kSvcSecret}});
  ASSERT_TRUE(created) << httplib::to_string(created.error());
  EXPECT_EQ(created->status, 201) << created->body;
}

// --- Arnica: ingestion (modelled) ----------------------------------------------------------------

// What ingestion makes of SeedRepositories(), sorted: the id is the uuid, the name the slug.
const std::vector<std::string> kIngested = {absl::StrCat("managed-ws/api|CORE|", kApiRepo),
                                            absl::StrCat("managed-ws/scratch||", kScratchRepo),
                                            absl::StrCat("plain-ws/site|WEB|", kSiteRepo)};

// The TestSeed inventory's entries of one workspace: repo-1, 3, 5, 7 or repo-2, 4, 6.
std::vector<std::string> Seeded(const std::string& workspace) {
  std::vector<std::string> lines;
  for (int i = workspace == "managed-ws" ? 1 : 2; i <= kInventorySize; i += 2) {
    lines.push_back(absl::StrCat(workspace, "/repo-", i, "|PRJ|repo-", i));
  }
  return lines;
}

TEST_F(EmulatorServices, ArnicaIngestsEveryPageOfTheCoveredWorkspacesOnRegistration) {
  SeedRepositories();
  Op({{"op", "set_option"}, {"name", "default_pagelen"}, {"value", 1}});
  RegisterSvc();
  // Each covered workspace's entries are replaced, in place: managed-ws's first entry was first.
  EXPECT_EQ(Inventory(), (std::vector<std::string>{kIngested[0], kIngested[1], kIngested[2]}));
  EXPECT_EQ(emulators_->Count(Service::kBitbucket, "GET", "/2.0/repositories/managed-ws"), 2);
  EXPECT_EQ(emulators_->Count(Service::kBitbucket, "GET", "/2.0/repositories/managed-two"), 1);
  EXPECT_EQ(ListingCredentials(), std::vector<std::string>(4, "svc-token"));
}

// A registration whose scans cannot list repositories (svc-token lacks the scope) still
// registers, and the inventory keeps what it had.
TEST_F(EmulatorServices, ArnicaRegistersEvenWhenNoRepositoryListingWorks) {
  std::vector<std::string> before = Inventory();
  ASSERT_EQ(before.size(), static_cast<std::size_t>(kInventorySize));
  EXPECT_FALSE(RegisterSvc().empty());
  EXPECT_EQ(Inventory(), before);
  EXPECT_EQ(emulators_->Count(Service::kBitbucket, "GET", "/2.0/repositories/*"), 3);
}

TEST_F(EmulatorServices, ArnicaSyncRepairsAWorkspaceMissingFromTheInventory) {
  SeedRepositories();
  std::string id = RegisterSvc();
  Op({{"op", "remove_inventory"}, {"org", "arnica-org-1"}, {"workspace", "managed-ws"}});
  ASSERT_EQ(Inventory(), std::vector<std::string>{kIngested[2]});

  auto read = ArnicaGet(Integration(id));
  ASSERT_TRUE(read);
  ASSERT_EQ(read->status, 200) << read->body;
  EXPECT_EQ(Inventory().size(), 1u) << "reading an integration never ingests";

  auto synced = Sync(id);
  ASSERT_TRUE(synced);
  ASSERT_EQ(synced->status, 200) << synced->body;
  EXPECT_EQ(BodyOf(synced), BodyOf(read));  // the integration, still connected
  EXPECT_EQ(BodyOf(synced)["status"], "connected");
  EXPECT_EQ(SortedInventory(), kIngested);
}

TEST_F(EmulatorServices, ArnicaSyncOfAnUnknownIntegrationIs404AndNeedsTheWriteScope) {
  ExpectArnicaError(Sync("int-999"), 404, "Not Found");
  std::string id = RegisterSvc();
  auto read_only = Sync(id, kReadToken);
  ExpectArnicaError(read_only, 403, "Forbidden");
  EXPECT_TRUE(
      absl::StrContains(BodyOf(read_only)["message"].get<std::string>(), "integrations:write"));
  ExpectArnicaError(Sync(id, kOtherTenantToken), 404, "Not Found");
  EXPECT_EQ(emulators_->Count(Service::kBitbucket, "GET", "/2.0/user"), 1);  // registration only
}

TEST_F(EmulatorServices, ArnicaSyncWithARevokedCredentialIs400AndMarksTheIntegrationInvalid) {
  SeedRepositories();
  std::string id = RegisterSvc();
  Op({{"op", "revoke_credential"}, {"credential", "svc-token"}});
  Op({{"op", "remove_inventory"}, {"org", "arnica-org-1"}, {"workspace", "plain-ws"}});

  auto refused = Sync(id);
  ExpectArnicaError(refused, 400, "Bad Request");
  EXPECT_TRUE(absl::StartsWith(BodyOf(refused)["message"].get<std::string>(),
                               "Bitbucket rejected the credential: HTTP 401"))
      << refused->body;
  json stored = BodyOf(ArnicaGet(paths::kBitbucketIntegrations))["integrations"][0];
  EXPECT_EQ(stored["status"], "invalid");
  EXPECT_EQ(stored["reason"], BodyOf(refused)["message"]);
  EXPECT_TRUE(stored["workspaces"].empty());
  EXPECT_EQ(Inventory(), (std::vector<std::string>{kIngested[0], kIngested[1]}));
  EXPECT_EQ(emulators_->Count(Service::kBitbucket, "GET", "/2.0/repositories/*"), 3);
}

TEST_F(EmulatorServices, ArnicaKeepsTheLastGoodScanOfAWorkspaceWhoseListingFails) {
  SeedRepositories();
  Op({{"op", "set_option"}, {"name", "default_pagelen"}, {"value", 1}});
  // managed-ws's second page fails: half a listing must not replace anything.
  AddFault({{"service", "bitbucket"}, {"path", "/2.0/repositories/managed-ws"}, {"page", 2}});
  std::string id = RegisterSvc();
  std::vector<std::string> expected = Seeded("managed-ws");
  expected.push_back(kIngested[2]);  // plain-ws listed fine
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(SortedInventory(), expected);

  // An outage during a sync answers 502 and changes nothing.
  AddFault({{"service", "bitbucket"}, {"path", "/2.0/user"}, {"status", 503}});
  ExpectArnicaError(Sync(id), 502, "Bad Gateway");
  EXPECT_EQ(SortedInventory(), expected);
  EXPECT_EQ(BodyOf(ArnicaGet(Integration(id)))["status"], "connected");

  auto synced = Sync(id);
  ASSERT_TRUE(synced);
  EXPECT_EQ(synced->status, 200) << synced->body;
  EXPECT_EQ(SortedInventory(), kIngested);
}

TEST_F(EmulatorServices, ArnicaRotationIngestsWithTheNewCredential) {
  SeedRepositories();
  std::string id = RegisterSvc();
  Op({{"op", "remove_inventory"}, {"org", "arnica-org-1"}, {"workspace", "managed-ws"}});
  Op({{"op", "set_scopes"},
      {"credential", "svc-token-2"},
      {"scopes",
       {"read:user:bitbucket", "read:workspace:bitbucket", "read:repository:bitbucket"}}});
  auto rotated = Rotate(id, {{"principal", kSvcEmail}, {"secret", kSvcSecret2}});
  ASSERT_TRUE(rotated);
  ASSERT_EQ(rotated->status, 200) << rotated->body;
  EXPECT_EQ(SortedInventory(), kIngested);
  EXPECT_EQ(ListingCredentials().back(), "svc-token-2");
}

// --- Faults from the core, with these services' error bodies -------------------------------------

TEST_F(EmulatorServices, ResetFaultDropsTheConnection) {
  AddFault({{"service", "arnica"}, {"action", "reset"}});
  auto dropped = ArnicaGet(paths::kAuthToken);
  EXPECT_FALSE(dropped);
  auto next = ArnicaGet(paths::kAuthToken);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status, 200);
  // The server logs a reset after the client has seen it, so the entry may still be on its way;
  // the log is in order of completion.
  std::multiset<std::pair<std::string, int>> calls;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (calls.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    calls.clear();
    for (const auto& entry : emulators_->Requests()) {
      if (entry.path == paths::kAuthToken) calls.insert({entry.fault, entry.status});
    }
  }
  EXPECT_EQ(calls, (std::multiset<std::pair<std::string, int>>{{"reset", 0}, {"", 200}}));
}

TEST_F(EmulatorServices, TruncateFaultSendsHalfTheBody) {
  AddFault({{"service", "arnica"},
            {"path", paths::kInventoryRepos},
            {"action", "truncate"},
            {"times", 2}});
  std::string raw =
      RawGet(PortOf(emulators_->url(Service::kArnica)), paths::kInventoryRepos, kFullToken);
  std::size_t header_end = raw.find("\r\n\r\n");
  ASSERT_NE(header_end, std::string::npos) << raw;
  std::string headers = raw.substr(0, header_end);
  std::size_t length_at = headers.find("Content-Length: ");
  ASSERT_NE(length_at, std::string::npos) << headers;
  std::size_t promised = std::stoul(headers.substr(length_at + 16));
  std::size_t received = raw.size() - header_end - 4;
  EXPECT_GT(promised, 0u);
  EXPECT_LT(received, promised);
  EXPECT_FALSE(ArnicaGet(paths::kInventoryRepos)) << "a client sees a broken read";
}

TEST_F(EmulatorServices, NonJsonFaultAnswersHtml) {
  AddFault({{"service", "atlassian_admin"}, {"action", "non_json"}, {"status", 502}});
  auto result = AdminGet(Groups());
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 502);
  EXPECT_TRUE(absl::StartsWith(result->get_header_value("Content-Type"), "text/html"));
  EXPECT_TRUE(BodyOf(result).is_discarded());
  // Titled after the service that answers, not Bitbucket (found by trying it as a user, #6).
  EXPECT_TRUE(absl::StrContains(result->body, "<title>Atlassian</title>")) << result->body;
  AddFault({{"service", "arnica"}, {"action", "non_json"}});
  auto arnica = ArnicaGet(paths::kAuthToken);
  ASSERT_TRUE(arnica);
  EXPECT_TRUE(absl::StrContains(arnica->body, "<title>Arnica</title>")) << arnica->body;
}

TEST_F(EmulatorServices, DelayFaultSlowsTheAnswer) {
  AddFault({{"service", "arnica"}, {"action", "delay"}, {"delay_ms", 300}});
  auto started = std::chrono::steady_clock::now();
  auto result = ArnicaGet(paths::kAuthToken);
  auto elapsed = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_GE(elapsed, std::chrono::milliseconds(300));
}

TEST_F(EmulatorServices, StatusFaultSkipsThenFiresTimesInTheServicesErrorShape) {
  AddFault({{"service", "arnica"},
            {"path", paths::kAuthToken},
            {"status", 503},
            {"skip", 1},
            {"times", 2}});
  AddFault({{"service", "atlassian_admin"}, {"status", 429}, {"retry_after", 2}});
  std::vector<int> statuses;
  for (int i = 0; i < 4; ++i) statuses.push_back(ArnicaGet(paths::kAuthToken)->status);
  EXPECT_EQ(statuses, (std::vector<int>{200, 503, 503, 200}));
  AddFault({{"service", "arnica"}, {"status", 503}});
  ExpectArnicaError(ArnicaGet(paths::kAuthToken), 503, "Service Unavailable");

  auto limited = AdminGet(Groups());
  ExpectAdminError(limited, 429, "TOO_MANY_REQUESTS");
  EXPECT_EQ(limited->get_header_value("Retry-After"), "2");
}

// --- Admin routes --------------------------------------------------------------------------------

TEST_F(EmulatorServices, OpsWithABadOperationChangeNothing) {
  json before = emulators_->State();
  json ops = json::array({{{"op", "add_group_member"},
                           {"workspace", "managed-ws"},
                           {"group", "administrators"},
                           {"user", kSvcUuid}},
                          {{"op", "no_such_op"}}});
  auto result = AdminRoute("POST", "/_emulator/ops", ops);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 400);
  EXPECT_TRUE(absl::StrContains(BodyOf(result)["error"].get<std::string>(), "no_such_op"));
  EXPECT_EQ(emulators_->State(), before);
}

TEST_F(EmulatorServices, ResetRestoresTheSeed) {
  json before = emulators_->State();
  ASSERT_EQ(AddMember(kAdmins, json({{"accountId", kSvcAccount}}).dump())->status, 200);
  ASSERT_EQ(Register({{"name", "main"}, {"principal", kSvcEmail}, {"secret", kSvcSecret}})->status,
            201);
  EXPECT_NE(emulators_->State(), before);
  auto reset = AdminRoute("POST", "/_emulator/reset");
  ASSERT_TRUE(reset);
  EXPECT_EQ(reset->status, 200);
  EXPECT_EQ(emulators_->State(), before);
}

TEST_F(EmulatorServices, EveryServiceAnswersTheAdminRoutes) {
  for (Service service : kAllServices) {
    auto health = Client(service).Get("/_emulator/health");
    ASSERT_TRUE(health);
    EXPECT_EQ(BodyOf(health), json({{"ok", true}, {"service", ServiceName(service)}}));
    json urls = BodyOf(Client(service).Get("/_emulator/urls"));
    EXPECT_EQ(urls["arnica"], emulators_->url(Service::kArnica));
  }
}

// --- The default seed ----------------------------------------------------------------------------

TEST(EmulatorServicesDefaultSeed, LoadsAndLeavesOnboardingWorkToDo) {
  json seed = ReadJsonFile(DefaultSeedPath());
  ASSERT_FALSE(seed.is_discarded()) << DefaultSeedPath();
  auto world = WorldFromJson(seed);
  ASSERT_TRUE(world.ok()) << world.status();
  const User* svc = world->FindUser("557058:5e1c0a00-0000-4000-8000-00000000a001");
  ASSERT_NE(svc, nullptr);
  EXPECT_EQ(svc->nickname, "arnica-svc");
  ASSERT_FALSE(svc->emails.empty());

  ASSERT_EQ(world->workspaces.size(), 3u);
  int missing_admin = 0, managed = 0;
  for (auto& workspace : world->workspaces) {
    Group* admins = world->FindGroup(workspace, "administrators");
    ASSERT_NE(admins, nullptr) << workspace.slug;
    EXPECT_NE(world->FindMember(workspace, svc->uuid), nullptr) << workspace.slug;
    if (std::count(admins->members.begin(), admins->members.end(), svc->uuid) == 0) {
      ++missing_admin;
    }
    if (workspace.managed) {
      ++managed;
      EXPECT_FALSE(admins->org_group_id.empty());
      ASSERT_NE(world->FindOrg(workspace.org_id), nullptr);
    }
  }
  EXPECT_GE(missing_admin, 2);
  EXPECT_EQ(managed, 1);

  std::set<std::string> kinds;
  for (const auto& credential : world->credentials) kinds.insert(credential.kind);
  EXPECT_EQ(kinds, (std::set<std::string>{"api_token", "oauth_consumer", "access_token"}));
  ASSERT_EQ(world->arnica_tenants.size(), 1u);
  EXPECT_FALSE(world->arnica_tenants[0].inventory.empty());
}

TEST(EmulatorServicesDefaultSeed, TheServiceAccountsTokenPassesArnicasValidation) {
  auto emulators = Emulators::Start({.seed = ReadJsonFile(DefaultSeedPath())});
  ASSERT_TRUE(emulators.ok()) << emulators.status();
  json seed = (*emulators)->State();
  const json& tenant = seed["arnica_tenants"][0];
  const json* token = nullptr;
  for (const auto& credential : seed["credentials"]) {
    if (credential["kind"] == "api_token") token = &credential;
  }
  ASSERT_NE(token, nullptr);
  httplib::Client client((*emulators)->url(Service::kArnica));
  json body = {
      {"name", "default"}, {"principal", "arnica-svc@example.com"}, {"secret", (*token)["secret"]}};
  auto created = client.Post(paths::kBitbucketIntegrations,
                             Bearer(tenant["tokens"][0]["token"].get<std::string>()), body.dump(),
                             "application/json");
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;
  EXPECT_EQ(BodyOf(created)["workspaces"].size(), 3u);
}

// The seeded inventory is what ingestion would produce, so that tests reading it mean the same
// before and after an integration is registered.
TEST(EmulatorServicesDefaultSeed, TheSeededInventoryIsWhatIngestionProduces) {
  auto emulators = Emulators::Start({.seed = ReadJsonFile(DefaultSeedPath())});
  ASSERT_TRUE(emulators.ok()) << emulators.status();
  json before = (*emulators)->State()["arnica_tenants"][0];
  ASSERT_EQ(before["inventory"].size(), 5u);
  httplib::Client client((*emulators)->url(Service::kArnica));
  json body = {{"name", "default"},
               {"principal", "arnica-svc@example.com"},
               {"secret", "ATATT3xFAKEFAKEFAKE-arnica-svc-api-token-0001"}};
  auto created = client.Post(paths::kBitbucketIntegrations,
                             Bearer(before["tokens"][0]["token"].get<std::string>()), body.dump(),
                             "application/json");
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;
  EXPECT_EQ((*emulators)->Count(Service::kBitbucket, "GET", "/2.0/repositories/*"), 3);
  for (const auto& entry : (*emulators)->Requests()) {
    if (entry.service == "bitbucket") EXPECT_EQ(entry.status, 200) << entry.path;
  }
  EXPECT_EQ((*emulators)->State()["arnica_tenants"][0]["inventory"], before["inventory"]);
}

}  // namespace
}  // namespace arnica::emulators
