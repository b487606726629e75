// The Bitbucket Cloud emulator over plain HTTP on 127.0.0.1, called with a bare cpp-httplib
// client so that every status, body and header is the emulator's own. The emulator is the
// ground truth of the other tests; these pin it to ../shared/reference/bitbucket.md.
#include <gtest/gtest.h>
#include <httplib.h>

#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "tests/emulators/emulator.h"

namespace arnica::emulators {
namespace {

using nlohmann::json;

// Every secret in the seed contains this; the fixture checks that no answer ever does.
constexpr char kCanary[] = "CANARY-bb-5c1d";

std::string Secret(const std::string& name) { return absl::StrCat(name, "-", kCanary); }

constexpr char kAlice[] = "{aaaaaaaa-0000-4000-8000-000000000001}";
constexpr char kBob[] = "{bbbbbbbb-0000-4000-8000-000000000002}";
constexpr char kCarol[] = "{cccccccc-0000-4000-8000-000000000003}";
constexpr char kDave[] = "{dddddddd-0000-4000-8000-000000000004}";
constexpr char kAcmeUuid[] = "{11111111-0000-4000-8000-000000000001}";
constexpr char kUnauthorized[] = "Token is invalid, expired, or not supported for this endpoint.";
constexpr char kWrongMechanism[] = "This API is not accessible by this authentication mechanism";

json User(const char* uuid, const std::string& name) {
  return {{"uuid", uuid},
          {"account_id", "557058:" + name},
          {"username", name},
          {"display_name", "User " + name},
          {"emails", {{{"email", name + "@example.test"}}}}};
}

json Users() {
  json alice = User(kAlice, "alice");
  alice["emails"].push_back(
      {{"email", "alice.work@example.org"}, {"is_primary", false}, {"is_confirmed", false}});
  return {alice, User(kBob, "bob"), User(kCarol, "carol"), User(kDave, "dave")};
}

json Member(const char* uuid, const char* permission = "member") {
  return {{"user", uuid}, {"permission", permission}};
}

json Group(const char* slug, const char* permission, std::vector<std::string> members) {
  return {{"slug", slug}, {"permission", permission}, {"members", members}};
}

// acme: alice owner, bob and carol members; beta: administered in admin.atlassian.com, bob an
// administrator through its Administrators group; gamma: behind an IP allowlist.
json Workspaces() {
  json acme = {
      {"uuid", kAcmeUuid},
      {"slug", "acme"},
      {"name", "Acme"},
      {"members", {Member(kAlice, "owner"), Member(kBob), Member(kCarol)}},
      {"groups",
       {Group("administrators", "admin", {kAlice}), Group("developers", "write", {kBob})}}};
  json beta = {
      {"uuid", "{22222222-0000-4000-8000-000000000002}"},
      {"slug", "beta"},
      {"managed", true},
      {"org_id", "org-1"},
      {"directory_id", "dir-1"},
      {"members", {Member(kAlice), Member(kBob)}},
      {"groups", {Group("administrators", "admin", {kBob}), Group("readers", "read", {kAlice})}}};
  json gamma = {{"uuid", "{33333333-0000-4000-8000-000000000003}"},
                {"slug", "gamma"},
                {"ip_allowlist_blocks", true},
                {"members", {Member(kAlice)}}};
  return {acme, beta, gamma};
}

json Credential(const std::string& id, const char* kind, const char* user,
                std::vector<std::string> scopes) {
  return {{"id", id}, {"kind", kind}, {"user", user}, {"secret", Secret(id)}, {"scopes", scopes}};
}

json AccessToken(const std::string& id, const char* token_type, std::vector<std::string> scopes) {
  return {{"id", id},
          {"kind", "access_token"},
          {"workspace", "acme"},
          {"secret", Secret(id)},
          {"token_type", token_type},
          {"scopes", scopes}};
}

json Consumer(const std::string& id, const char* user, std::vector<std::string> scopes) {
  json consumer = Credential(id, "oauth_consumer", user, scopes);
  consumer["client_id"] = id + "-client";
  return consumer;
}

json Credentials() {
  return {Credential("alice-token", "api_token", kAlice,
                     {"read:user:bitbucket", "read:workspace:bitbucket"}),
          Credential("alice-narrow", "api_token", kAlice, {"read:user:bitbucket"}),
          Credential("alice-permissions", "api_token", kAlice,
                     {"read:permission:bitbucket", "write:permission:bitbucket",
                      "delete:permission:bitbucket"}),
          Credential("bob-token", "api_token", kBob,
                     {"read:user:bitbucket", "read:workspace:bitbucket"}),
          Credential("alice-repos", "api_token", kAlice, {"read:repository:bitbucket"}),
          Credential("alice-app", "app_password", kAlice, {"account", "email"}),
          AccessToken("acme-wat", "workspace", {"account:write"}),
          AccessToken("acme-rat", "repository", {"account"}),
          Consumer("alice-consumer", kAlice, {"account", "account:write", "email"}),
          Consumer("bob-consumer", kBob, {"account:write"})};
}

json Seed() {
  // beta is administered in admin.atlassian.com, by org-1's directory.
  json orgs = {
      {{"id", "org-1"}, {"api_key", Secret("org-key")}, {"directories", {{{"id", "dir-1"}}}}}};
  return {{"users", Users()},
          {"workspaces", Workspaces()},
          {"credentials", Credentials()},
          {"orgs", orgs}};
}

// One workspace, "big", owned by alice, with `count` further plain members.
json BigSeed(int count) {
  json seed = Seed();
  json big = {{"uuid", "{44444444-0000-4000-8000-000000000004}"},
              {"slug", "big"},
              {"members", {Member(kAlice, "owner")}}};
  for (int i = 0; i < count; ++i) {
    char uuid[64];
    std::snprintf(uuid, sizeof(uuid), "{eeeeeeee-0000-4000-8000-%012d}", i);
    seed["users"].push_back(User(uuid, "user" + std::to_string(i)));
    big["members"].push_back(Member(uuid));
  }
  seed["workspaces"].push_back(big);
  return seed;
}

httplib::Headers Basic(const std::string& name, const std::string& secret) {
  return {{"Authorization", "Basic " + absl::Base64Escape(name + ":" + secret)}};
}

httplib::Headers Bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

httplib::Headers AliceToken() { return Basic("alice@example.test", Secret("alice-token")); }
httplib::Headers AliceRepos() { return Basic("alice@example.test", Secret("alice-repos")); }
httplib::Headers BobToken() { return Basic("bob@example.test", Secret("bob-token")); }
httplib::Headers Wat() { return Bearer(Secret("acme-wat")); }

struct Reply {
  int status = 0;  // 0: no answer
  std::string body;
  httplib::Headers headers;

  json Json() const { return json::parse(body, nullptr, false); }
  std::string Header(const char* name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "<absent>" : it->second;
  }
  bool HasHeader(const char* name) const { return headers.count(name) > 0; }
};

class EmulatorBitbucketTest : public testing::Test {
 protected:
  void SetUp() override { Start(Seed()); }

  // No answer of any test may carry a secret of the seed.
  void TearDown() override {
    for (const Reply& reply : replies_) {
      EXPECT_EQ(reply.body.find(kCanary), std::string::npos) << reply.body;
      for (const auto& [name, value] : reply.headers) {
        EXPECT_EQ(value.find(kCanary), std::string::npos) << name << ": " << value;
      }
    }
  }

  void Start(const json& seed) {
    emulators_.reset();
    auto started = Emulators::Start({.seed = seed});
    ASSERT_TRUE(started.ok()) << started.status();
    emulators_ = *std::move(started);
  }

  std::string Url() const { return emulators_->url(Service::kBitbucket); }

  Reply Send(const std::string& method, const std::string& path, const httplib::Headers& headers,
             const std::string& body = "", const std::string& content_type = "") {
    httplib::Request request;
    request.method = method;
    request.path = path;
    request.headers = headers;
    request.body = body;
    if (!content_type.empty()) request.set_header("Content-Type", content_type);
    httplib::Client client(Url());
    httplib::Result result = client.send(request);
    Reply reply;
    if (result) reply = {result->status, result->body, result->headers};
    replies_.push_back(reply);
    return reply;
  }

  Reply Get(const std::string& path, const httplib::Headers& headers) {
    return Send("GET", path, headers);
  }

  Reply Put(const std::string& path, const httplib::Headers& headers) {
    return Send("PUT", path, headers);
  }

  Reply Delete(const std::string& path, const httplib::Headers& headers) {
    return Send("DELETE", path, headers);
  }

  Reply TokenRequest(const std::string& form, const httplib::Headers& headers) {
    return Send("POST", "/site/oauth2/access_token", headers, form,
                "application/x-www-form-urlencoded");
  }

  // A bearer token for a consumer of the seed, from the token endpoint.
  std::string OAuthToken(const std::string& consumer) {
    Reply reply = TokenRequest("grant_type=client_credentials",
                               Basic(consumer + "-client", Secret(consumer)));
    EXPECT_EQ(reply.status, 200) << reply.body;
    return reply.Json().value("access_token", "");
  }

  void Apply(const json& op) {
    absl::Status status = emulators_->Apply(op);
    ASSERT_TRUE(status.ok()) << status;
  }

  void Option(const std::string& name, const json& value) {
    Apply({{"op", "set_option"}, {"name", name}, {"value", value}});
  }

  // Follows `next` from `path` to the last page; returns every value and counts the pages.
  std::vector<json> AllPages(const std::string& path, const httplib::Headers& headers, int& pages) {
    std::vector<json> values;
    std::string next = path;
    for (pages = 0; pages < 100 && !next.empty(); ++pages) {
      Reply reply = Get(next, headers);
      EXPECT_EQ(reply.status, 200) << next << ": " << reply.body;
      json body = reply.Json();
      for (const auto& value : body.value("values", json::array())) values.push_back(value);
      std::string url = body.value("next", "");
      EXPECT_TRUE(url.empty() || url.rfind(Url(), 0) == 0) << url;
      next = url.empty() ? "" : url.substr(Url().size());
    }
    return values;
  }

  std::vector<std::string> Slugs(const Reply& reply) {
    std::vector<std::string> slugs;
    json body = reply.Json();
    for (const auto& value : body["values"]) slugs.push_back(value["workspace"]["slug"]);
    return slugs;
  }

  std::unique_ptr<Emulators> emulators_;
  std::vector<Reply> replies_;
};

void ExpectError(const Reply& reply, int status, const std::string& message) {
  EXPECT_EQ(reply.status, status) << reply.body;
  EXPECT_EQ(reply.Json(), json({{"type", "error"}, {"error", {{"message", message}}}}))
      << reply.body;
}

// --- Authentication ----------------------------------------------------------------------------

TEST_F(EmulatorBitbucketTest, ApiTokenWithTheEmailReadsTheUser) {
  Reply reply = Get("/2.0/user", Basic("ALICE@Example.TEST", Secret("alice-token")));
  ASSERT_EQ(reply.status, 200) << reply.body;
  json user = reply.Json();
  EXPECT_EQ(user["type"], "user");
  EXPECT_EQ(user["uuid"], kAlice);
  EXPECT_EQ(user["account_id"], "557058:alice");
  EXPECT_EQ(user["username"], "alice");
  EXPECT_EQ(user["display_name"], "User alice");
  EXPECT_EQ(user["account_status"], "active");
  EXPECT_EQ(user["has_2fa_enabled"], false);
  EXPECT_TRUE(user["links"]["self"]["href"].get<std::string>().starts_with(Url()));
  EXPECT_EQ(reply.Header("x-credential-type"), "api_token");
  EXPECT_EQ(reply.Header("x-oauth-scopes"), "read:user:bitbucket, read:workspace:bitbucket");
  EXPECT_EQ(reply.Header("x-accepted-oauth-scopes"), "read:user:bitbucket");
}

TEST_F(EmulatorBitbucketTest, ApiTokenNeedsTheEmailNotTheUsername) {
  Reply reply = Get("/2.0/user", Basic("alice", Secret("alice-token")));
  ExpectError(reply, 401, kUnauthorized);
  EXPECT_FALSE(reply.HasHeader("x-credential-type"));
  ExpectError(Get("/2.0/user", Basic("bob@example.test", Secret("alice-token"))), 401,
              kUnauthorized);
}

TEST_F(EmulatorBitbucketTest, MissingUnknownRevokedAndMalformedCredentialsAre401) {
  ExpectError(Get("/2.0/user", {}), 401, kUnauthorized);
  ExpectError(Get("/2.0/user", Basic("alice@example.test", Secret("nope"))), 401, kUnauthorized);
  ExpectError(Get("/2.0/user", {{"Authorization", "Basic %%%"}}), 401, kUnauthorized);
  ExpectError(Get("/2.0/user", {{"Authorization", "Digest x"}}), 401, kUnauthorized);
  ExpectError(Get("/2.0/user", Bearer(Secret("nope"))), 401, kUnauthorized);
  Apply({{"op", "revoke_credential"}, {"credential", "alice-token"}});
  ExpectError(Get("/2.0/user", AliceToken()), 401, kUnauthorized);
  ExpectError(Get("/1.0/groups/acme", AliceToken()), 401, kUnauthorized);
}

TEST_F(EmulatorBitbucketTest, AppPasswordsAreRemovedUnlessTheOptionAcceptsThem) {
  ExpectError(Get("/2.0/user", Basic("alice", Secret("alice-app"))), 401, kUnauthorized);
  Option("app_passwords", "accepted");
  Reply reply = Get("/2.0/user", Basic("alice", Secret("alice-app")));
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.Json()["uuid"], kAlice);
  EXPECT_EQ(reply.Header("x-credential-type"), "app_password");
  EXPECT_EQ(reply.Header("x-oauth-scopes"), "account, email");
  EXPECT_EQ(reply.Header("x-accepted-oauth-scopes"), "account");
  // App passwords never took the e-mail address.
  ExpectError(Get("/2.0/user", Basic("alice@example.test", Secret("alice-app"))), 401,
              kUnauthorized);
}

TEST_F(EmulatorBitbucketTest, OAuthConsumerSecretIsNotAnApiCredential) {
  ExpectError(Get("/2.0/user", Basic("alice-consumer-client", Secret("alice-consumer"))), 401,
              kUnauthorized);
  ExpectError(Get("/2.0/user", Bearer(Secret("alice-consumer"))), 401, kUnauthorized);
}

TEST_F(EmulatorBitbucketTest, AccessTokenIsRefusedOnUserApisWithTheScopeHeaders) {
  for (const char* path : {"/2.0/user", "/2.0/user/emails", "/2.0/user/workspaces",
                           "/2.0/user/workspaces/acme/permission"}) {
    Reply reply = Get(path, Wat());
    ExpectError(reply, 403, kWrongMechanism);
    EXPECT_EQ(reply.Header("x-credential-type"), "workspace_access_token") << path;
    EXPECT_EQ(reply.Header("x-oauth-scopes"), "account:write") << path;
  }
  EXPECT_EQ(Get("/2.0/user", Wat()).Header("x-accepted-oauth-scopes"), "account");
  EXPECT_EQ(Get("/2.0/user", Bearer(Secret("acme-rat"))).Header("x-credential-type"),
            "repo_access_token");
}

TEST_F(EmulatorBitbucketTest, AccessTokenReadsItsOwnWorkspaceOnly) {
  Reply own = Get("/2.0/workspaces/acme", Wat());
  ASSERT_EQ(own.status, 200) << own.body;
  EXPECT_EQ(own.Json()["uuid"], kAcmeUuid);
  // No classic scope is needed: the header goes out empty, which cpp-httplib's client drops.
  EXPECT_EQ(own.Header("x-credential-type"), "workspace_access_token");
  EXPECT_FALSE(own.HasHeader("x-accepted-oauth-scopes") &&
               own.Header("x-accepted-oauth-scopes") != "");
  // account:write includes account, which the member list needs.
  EXPECT_EQ(Get("/2.0/workspaces/acme/members", Wat()).status, 200);
  ExpectError(Get("/2.0/workspaces/beta", Wat()), 403, kWrongMechanism);
  EXPECT_EQ(Get("/2.0/workspaces/nowhere", Wat()).status, 404);
}

TEST_F(EmulatorBitbucketTest, MissingScopeIs403WithGrantedAndRequired) {
  Reply reply = Get("/2.0/user/workspaces", Basic("alice@example.test", Secret("alice-narrow")));
  EXPECT_EQ(reply.status, 403);
  EXPECT_EQ(reply.Json(),
            json({{"type", "error"},
                  {"error",
                   {{"message", "Your credentials lack one or more required privilege scopes."},
                    {"detail",
                     {{"granted", {"read:user:bitbucket"}},
                      {"required", {"read:workspace:bitbucket"}}}}}}}));
  EXPECT_EQ(reply.Header("x-credential-type"), "api_token");
  EXPECT_EQ(reply.Header("x-accepted-oauth-scopes"), "read:workspace:bitbucket");

  // A classic write scope includes its read, and nothing else: bob's consumer lacks `email`.
  std::string bob = OAuthToken("bob-consumer");
  EXPECT_EQ(Get("/2.0/user", Bearer(bob)).status, 200);
  EXPECT_EQ(Get("/2.0/user/emails", Bearer(bob)).status, 403);
}

// --- OAuth 2 -----------------------------------------------------------------------------------

TEST_F(EmulatorBitbucketTest, TokenEndpointIssuesABearerThatWorksUntilExpired) {
  Reply issued = TokenRequest("grant_type=client_credentials",
                              Basic("alice-consumer-client", Secret("alice-consumer")));
  ASSERT_EQ(issued.status, 200) << issued.body;
  json body = issued.Json();
  EXPECT_EQ(body["scopes"], "account account:write email");
  EXPECT_EQ(body["expires_in"], 7200);
  EXPECT_EQ(body["token_type"], "bearer");
  EXPECT_EQ(body["state"], "client_credentials");
  std::string token = body["access_token"];
  EXPECT_GE(token.size(), 32u);

  Reply me = Get("/2.0/user", Bearer(token));
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(me.Json()["uuid"], kAlice);
  EXPECT_EQ(me.Header("x-credential-type"), "oauth2");
  EXPECT_EQ(me.Header("x-oauth-scopes"), "account, account:write, email");

  Apply({{"op", "expire_oauth_tokens"}});
  ExpectError(Get("/2.0/user", Bearer(token)), 401, kUnauthorized);
}

TEST_F(EmulatorBitbucketTest, TokenEndpointTakesTheClientInTheFormAndHonoursTheLifetime) {
  Option("oauth_token_seconds", 0);
  Reply issued =
      TokenRequest("grant_type=client_credentials&client_id=alice-consumer-client&client_secret=" +
                       Secret("alice-consumer"),
                   {});
  ASSERT_EQ(issued.status, 200) << issued.body;
  EXPECT_EQ(issued.Json()["expires_in"], 0);
  ExpectError(Get("/2.0/user", Bearer(issued.Json()["access_token"])), 401, kUnauthorized);
}

TEST_F(EmulatorBitbucketTest, TokenEndpointRefusesBadClientsGrantsAndBodies) {
  httplib::Headers alice = Basic("alice-consumer-client", Secret("alice-consumer"));
  Reply wrong = TokenRequest("grant_type=client_credentials",
                             Basic("alice-consumer-client", Secret("wrong")));
  EXPECT_EQ(wrong.status, 400);
  EXPECT_EQ(wrong.Json()["error"], "invalid_client");
  EXPECT_EQ(TokenRequest("grant_type=client_credentials", {}).Json()["error"], "invalid_client");
  Reply grant = TokenRequest("grant_type=password", alice);
  EXPECT_EQ(grant.status, 400);
  EXPECT_EQ(grant.Json()["error"], "unsupported_grant_type");
  Reply json_body = Send("POST", "/site/oauth2/access_token", alice,
                         R"({"grant_type":"client_credentials"})", "application/json");
  EXPECT_EQ(json_body.status, 400);
  EXPECT_TRUE(json_body.Json().contains("error"));

  Apply({{"op", "revoke_credential"}, {"credential", "alice-consumer"}});
  EXPECT_EQ(TokenRequest("grant_type=client_credentials", alice).Json()["error"], "invalid_client");
}

// --- Removed endpoints -------------------------------------------------------------------------

TEST_F(EmulatorBitbucketTest, CrossWorkspaceEndpointsAreGoneWithTheChange2770Body) {
  json data = {{"announcement_url",
                "https://developer.atlassian.com/cloud/bitbucket/changelog#CHANGE-2770"}};
  json expected = {{"type", "error"},
                   {"error",
                    {{"message", "CHANGE-2770 - Functionality has been deprecated"},
                     {"detail", "Please read the changelog entry for more details."},
                     {"data", data}}},
                   {"data", data}};
  for (const char* path : {"/2.0/workspaces", "/2.0/user/permissions/workspaces"}) {
    Reply reply = Get(path, AliceToken());
    EXPECT_EQ(reply.status, 410) << path;
    EXPECT_EQ(reply.Json(), expected) << path;
  }
}

// --- The caller's workspaces -------------------------------------------------------------------

TEST_F(EmulatorBitbucketTest, UserWorkspacesAreSortedBySlugAndFilterByAdministrator) {
  Reply all = Get("/2.0/user/workspaces", AliceToken());
  ASSERT_EQ(all.status, 200) << all.body;
  EXPECT_EQ(Slugs(all), (std::vector<std::string>{"acme", "beta", "gamma"}));
  json first = all.Json()["values"][0];
  EXPECT_EQ(first["type"], "workspace_access");
  EXPECT_EQ(first["administrator"], true);
  EXPECT_EQ(first["workspace"]["type"], "workspace_base");
  EXPECT_EQ(first["workspace"]["uuid"], kAcmeUuid);
  EXPECT_TRUE(first["workspace"]["links"].contains("avatar"));

  EXPECT_EQ(Slugs(Get("/2.0/user/workspaces?administrator=true", AliceToken())),
            std::vector<std::string>{"acme"});
  EXPECT_EQ(Slugs(Get("/2.0/user/workspaces?administrator=false&sort=slug", AliceToken())),
            (std::vector<std::string>{"beta", "gamma"}));
  EXPECT_EQ(Get("/2.0/user/workspaces?administrator=yes", AliceToken()).status, 400);
  EXPECT_EQ(Get("/2.0/user/workspaces?sort=-slug", AliceToken()).status, 400);
  EXPECT_EQ(Get("/2.0/user/workspaces?sort=name", AliceToken()).status, 400);
}

TEST_F(EmulatorBitbucketTest, UserPermissionTakesSlugOrBracedUuidAndHidesOtherWorkspaces) {
  Reply by_slug = Get("/2.0/user/workspaces/acme/permission", AliceToken());
  ASSERT_EQ(by_slug.status, 200) << by_slug.body;
  EXPECT_EQ(by_slug.Json()["type"], "workspace_membership");
  EXPECT_EQ(by_slug.Json()["permission"], "owner");
  EXPECT_EQ(by_slug.Json()["user"]["uuid"], kAlice);
  EXPECT_EQ(by_slug.Json()["workspace"]["slug"], "acme");
  Reply by_uuid =
      Get("/2.0/user/workspaces/%7B11111111-0000-4000-8000-000000000001%7D/permission", BobToken());
  ASSERT_EQ(by_uuid.status, 200) << by_uuid.body;
  EXPECT_EQ(by_uuid.Json()["permission"], "member");

  // Bob is not a member of gamma: the spec says 403 on this route (review of #3).
  EXPECT_EQ(Get("/2.0/user/workspaces/gamma/permission", BobToken()).status, 403);
  EXPECT_EQ(Get("/2.0/user/workspaces/nowhere/permission", AliceToken()).status, 404);
  EXPECT_EQ(
      Get("/2.0/user/workspaces/11111111-0000-4000-8000-000000000001/permission", AliceToken())
          .status,
      404);
}

TEST_F(EmulatorBitbucketTest, WorkspaceIsVisibleToMembersOnly) {
  Reply acme = Get("/2.0/workspaces/%7B11111111-0000-4000-8000-000000000001%7D", AliceToken());
  ASSERT_EQ(acme.status, 200) << acme.body;
  json body = acme.Json();
  EXPECT_EQ(body["type"], "workspace");
  EXPECT_EQ(body["slug"], "acme");
  EXPECT_EQ(body["name"], "Acme");
  EXPECT_EQ(body["is_private"], true);
  EXPECT_EQ(Get("/2.0/workspaces/gamma", BobToken()).status, 404);
  EXPECT_EQ(Get("/2.0/workspaces/nowhere", BobToken()).status, 404);
}

TEST_F(EmulatorBitbucketTest, IpAllowlistBlocksEveryCallForTheWorkspace) {
  const char* message =
      "Your IP address is not on this workspace's allowlist. An administrator can change the "
      "allowlist in the workspace's access controls settings.";
  ExpectError(Get("/2.0/workspaces/gamma", AliceToken()), 403, message);
  ExpectError(Get("/2.0/workspaces/gamma/members", AliceToken()), 403, message);
  ExpectError(Get("/2.0/user/workspaces/gamma/permission", AliceToken()), 403, message);
  Option("app_passwords", "accepted");
  ExpectError(Get("/1.0/groups/gamma", Basic("alice", Secret("alice-app"))), 403, message);
  Apply({{"op", "set_ip_allowlist"}, {"workspace", "gamma"}, {"blocks", false}});
  EXPECT_EQ(Get("/2.0/workspaces/gamma", AliceToken()).status, 200);
}

// --- Members and permissions -------------------------------------------------------------------

TEST_F(EmulatorBitbucketTest, MembershipsCarryDatesExceptInManagedWorkspaces) {
  Reply acme = Get("/2.0/workspaces/acme/members", AliceToken());
  ASSERT_EQ(acme.status, 200) << acme.body;
  json first = acme.Json()["values"][0];
  EXPECT_EQ(first["type"], "workspace_membership");
  EXPECT_EQ(first["permission"], "owner");
  EXPECT_EQ(first["user"]["uuid"], kAlice);
  EXPECT_TRUE(first.contains("last_accessed"));
  EXPECT_TRUE(first.contains("added_on"));
  EXPECT_EQ(acme.Json()["size"], 3);

  Reply beta = Get("/2.0/workspaces/beta/members", AliceToken());
  ASSERT_EQ(beta.status, 200) << beta.body;
  json values = beta.Json()["values"];
  ASSERT_EQ(values.size(), 2u);
  for (const auto& member : values) {
    EXPECT_FALSE(member.contains("last_accessed"));
    EXPECT_FALSE(member.contains("added_on"));
  }
}

TEST_F(EmulatorBitbucketTest, MemberIsFoundByBracedUuidInAnyCaseOrAccountId) {
  Reply upper =
      Get("/2.0/workspaces/acme/members/%7BBBBBBBBB-0000-4000-8000-000000000002%7D", AliceToken());
  ASSERT_EQ(upper.status, 200) << upper.body;
  EXPECT_EQ(upper.Json()["user"]["uuid"], kBob);
  EXPECT_EQ(Get("/2.0/workspaces/acme/members/557058:bob", AliceToken()).status, 200);
  EXPECT_EQ(Get("/2.0/workspaces/acme/members/557058:dave", AliceToken()).status, 404);
  EXPECT_EQ(
      Get("/2.0/workspaces/acme/members/bbbbbbbb-0000-4000-8000-000000000002", AliceToken()).status,
      404);
}

TEST_F(EmulatorBitbucketTest, PermissionsFilterOnlyByPermission) {
  Reply owners = Get("/2.0/workspaces/beta/permissions?q=permission%3D%22owner%22", AliceToken());
  ASSERT_EQ(owners.status, 200) << owners.body;
  ASSERT_EQ(owners.Json()["size"], 1);
  EXPECT_EQ(owners.Json()["values"][0]["user"]["uuid"], kBob);  // through Administrators
  Reply members = Get("/2.0/workspaces/acme/permissions?q=permission%3D%22member%22", BobToken());
  EXPECT_EQ(members.Json()["size"], 2);
  EXPECT_EQ(
      Get("/2.0/workspaces/acme/permissions?q=permission%3D%22create-project%22", AliceToken())
          .Json()["size"],
      0);
  EXPECT_EQ(
      Get("/2.0/workspaces/acme/permissions?q=user.nickname%3D%22bob%22", AliceToken()).status,
      400);
}

// The members route with `q` set to `filter`, percent-encoded as a client would.
std::string MembersWhere(const std::string& workspace, const std::string& filter) {
  std::string q;
  for (unsigned char c : filter) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      q += static_cast<char>(c);
    } else {
      absl::StrAppend(&q, "%", absl::Hex(c, absl::kZeroPad2));
    }
  }
  return absl::StrCat("/2.0/workspaces/", workspace, "/members?q=", q);
}

// `count` quoted addresses for an IN list, the first of them bob's.
std::string EmailList(int count) {
  std::string list = "\"bob@example.test\"";
  for (int i = 1; i < count; ++i) absl::StrAppend(&list, ", \"x", i, "@example.test\"");
  return list;
}

constexpr char kNotAdministrator[] =
    "Filtering members by e-mail is available to workspace administrators only";

TEST_F(EmulatorBitbucketTest, MembersFilterByEmailInAnyCaseForAdministrators) {
  const std::string filter = MembersWhere(
      "acme",
      R"(user.email IN ("BOB@Example.TEST", "alice.work@example.org", "dave@example.test"))");
  Reply reply = Get(filter, AliceToken());
  ASSERT_EQ(reply.status, 200) << reply.body;
  json body = reply.Json();
  ASSERT_EQ(body["size"], 2);  // dave is not a member of acme
  EXPECT_EQ(body["values"][0]["type"], "workspace_membership");
  EXPECT_EQ(body["values"][0]["user"]["uuid"], kAlice);  // by her second address
  EXPECT_EQ(body["values"][1]["user"]["uuid"], kBob);
  EXPECT_EQ(body["values"][1]["permission"], "member");

  EXPECT_EQ(Get(filter, Wat()).Json()["size"], 2);  // the workspace's own access token
  int pages = 0;
  EXPECT_EQ(AllPages(filter + "&pagelen=1", AliceToken(), pages).size(), 2u);
  EXPECT_EQ(pages, 2);  // `next` keeps the filter
  // bob administers beta through its Administrators group.
  Reply beta = Get(MembersWhere("beta", R"(user.email IN ("alice@example.test"))"), BobToken());
  ASSERT_EQ(beta.status, 200) << beta.body;
  EXPECT_EQ(beta.Json()["values"][0]["user"]["uuid"], kAlice);
}

TEST_F(EmulatorBitbucketTest, MembersEmailFilterIsRefusedToOtherCallers) {
  const std::string filter = MembersWhere("acme", R"(user.email IN ("carol@example.test"))");
  ExpectError(Get(filter, BobToken()), 400, kNotAdministrator);
  ExpectError(Get(filter, Bearer(Secret("acme-rat"))), 400, kNotAdministrator);
  EXPECT_EQ(Get("/2.0/workspaces/acme/members", BobToken()).status, 200);  // unfiltered is fine
}

TEST_F(EmulatorBitbucketTest, MembersTakeNoOtherQueryAndAtMostNinetyEmails) {
  const char* invalid = "Invalid query: members filter only by user.email IN (...)";
  for (const char* q : {R"(user.nickname = "bob")", "user.email IN ()", R"(user.email IN ("a)",
                        R"(user.email IN ("a@b.c") x)", R"(user.emailIN ("a@b.c"))",
                        R"(user.email IN ("a@b.c",))", R"(user.email = "a@b.c")"}) {
    ExpectError(Get(MembersWhere("acme", q), AliceToken()), 400, invalid);
  }
  Reply escaped =
      Get(MembersWhere("acme", R"( user.email  IN("b\"o\\b@example.test") )"), AliceToken());
  ASSERT_EQ(escaped.status, 200) << escaped.body;
  EXPECT_EQ(escaped.Json()["size"], 0);

  Reply ninety = Get(MembersWhere("acme", "user.email IN (" + EmailList(90) + ")"), AliceToken());
  ASSERT_EQ(ninety.status, 200) << ninety.body;
  EXPECT_EQ(ninety.Json()["size"], 1);
  ExpectError(Get(MembersWhere("acme", "user.email IN (" + EmailList(91) + ")"), AliceToken()), 400,
              "At most 90 e-mail addresses");
}

// --- Other users' profiles ---------------------------------------------------------------------

TEST_F(EmulatorBitbucketTest, UserProfileIsFoundByBracedUuidInAnyCaseOrAccountId) {
  Reply upper = Get("/2.0/users/%7BDDDDDDDD-0000-4000-8000-000000000004%7D", AliceToken());
  ASSERT_EQ(upper.status, 200) << upper.body;
  json dave = upper.Json();
  EXPECT_EQ(dave["type"], "user");
  EXPECT_EQ(dave["uuid"], kDave);  // shares no workspace with alice: the profile is public
  EXPECT_EQ(dave["account_id"], "557058:dave");
  EXPECT_EQ(dave["nickname"], "dave");
  EXPECT_EQ(dave["display_name"], "User dave");
  EXPECT_EQ(dave["account_status"], "active");
  EXPECT_FALSE(dave.contains("username"));
  EXPECT_EQ(upper.Header("x-accepted-oauth-scopes"), "read:user:bitbucket");
  EXPECT_EQ(Get("/2.0/users/557058:dave", AliceToken()).Json(), dave);

  ExpectError(Get("/2.0/users/dddddddd-0000-4000-8000-000000000004", AliceToken()), 404,
              "No user dddddddd-0000-4000-8000-000000000004");
  EXPECT_EQ(Get("/2.0/users/557058:nobody", AliceToken()).status, 404);
  EXPECT_EQ(Get("/2.0/users/%7B99999999-0000-4000-8000-000000000009%7D", AliceToken()).status, 404);
}

TEST_F(EmulatorBitbucketTest, UserProfileTakesAccessTokensAndNeedsTheUserScope) {
  const std::string bob = absl::StrCat("/2.0/users/", kBob);
  EXPECT_EQ(Get(bob, Bearer(Secret("acme-rat"))).status, 200);
  EXPECT_EQ(Get(bob, Wat()).status, 200);  // account:write includes account
  EXPECT_EQ(Get(bob, Basic("alice@example.test", Secret("alice-narrow"))).status, 200);

  Apply({{"op", "set_scopes"}, {"credential", "acme-rat"}, {"scopes", {"repository"}}});
  Reply classic = Get(bob, Bearer(Secret("acme-rat")));
  EXPECT_EQ(classic.status, 403) << classic.body;
  EXPECT_EQ(classic.Json()["error"]["detail"]["required"], json({"account"}));
  Apply({{"op", "set_scopes"},
         {"credential", "alice-token"},
         {"scopes", {"read:workspace:bitbucket"}}});
  Reply granular = Get(bob, AliceToken());
  EXPECT_EQ(granular.status, 403) << granular.body;
  EXPECT_EQ(granular.Json()["error"]["detail"]["required"], json({"read:user:bitbucket"}));
}

// --- Pagination --------------------------------------------------------------------------------

constexpr char kPlainMembers[] = "/2.0/workspaces/big/permissions?q=permission%3D%22member%22";

TEST_F(EmulatorBitbucketTest, EmptyListIsOneEmptyPage) {
  Start(BigSeed(0));
  Reply reply = Get(kPlainMembers, AliceToken());
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.Json(),
            json({{"size", 0}, {"page", 1}, {"pagelen", 10}, {"values", json::array()}}));
}

TEST_F(EmulatorBitbucketTest, PagesAtOneHundredAndHundredOneItemsFollowToTheEnd) {
  struct Case {
    int items;
    std::string pagelen;
    int pages;
  };
  for (const Case& c : {Case{1, "", 1}, Case{100, "", 10}, Case{100, "&pagelen=100", 1},
                        Case{101, "&pagelen=100", 2}, Case{101, "", 11}}) {
    Start(BigSeed(c.items));
    int pages = 0;
    std::vector<json> values = AllPages(kPlainMembers + c.pagelen, AliceToken(), pages);
    std::set<std::string> uuids;
    for (const auto& value : values) uuids.insert(value["user"]["uuid"].get<std::string>());
    EXPECT_EQ(pages, c.pages) << c.items << c.pagelen;
    EXPECT_EQ(uuids.size(), static_cast<std::size_t>(c.items)) << c.items << c.pagelen;
  }
}

TEST_F(EmulatorBitbucketTest, PageLinksKeepTheQueryAndPointBothWays) {
  Start(BigSeed(101));
  Reply second = Get(std::string(kPlainMembers) + "&pagelen=100&page=2", AliceToken());
  ASSERT_EQ(second.status, 200) << second.body;
  json body = second.Json();
  EXPECT_EQ(body["size"], 101);
  EXPECT_EQ(body["page"], 2);
  EXPECT_EQ(body["pagelen"], 100);
  EXPECT_EQ(body["values"].size(), 1u);
  EXPECT_FALSE(body.contains("next"));
  EXPECT_EQ(body["previous"],
            Url() +
                "/2.0/workspaces/big/permissions?pagelen=100&q=permission%3D%22member%22"
                "&page=1");
}

TEST_F(EmulatorBitbucketTest, BadPageOrPagelenIsRefused) {
  Start(BigSeed(101));
  ExpectError(Get(std::string(kPlainMembers) + "&pagelen=101", AliceToken()), 400,
              "Invalid pagelen");
  ExpectError(Get(std::string(kPlainMembers) + "&pagelen=0", AliceToken()), 400, "Invalid pagelen");
  EXPECT_EQ(Get(std::string(kPlainMembers) + "&page=0", AliceToken()).status, 400);
  EXPECT_EQ(Get(std::string(kPlainMembers) + "&page=x", AliceToken()).status, 400);
  ExpectError(Get(std::string(kPlainMembers) + "&page=12", AliceToken()), 404, "Invalid page");
  Option("max_pagelen", 50);
  EXPECT_EQ(Get(std::string(kPlainMembers) + "&pagelen=51", AliceToken()).status, 400);
}

TEST_F(EmulatorBitbucketTest, RateLimitFaultOnPageTwoComposesWithTheRoute) {
  Start(BigSeed(15));
  Fault fault{.service = "bitbucket",
              .path = "/2.0/workspaces/big/members",
              .page = 2,
              .status = 429,
              .retry_after = 7};
  emulators_->AddFault(fault);
  Reply first = Get("/2.0/workspaces/big/members", AliceToken());
  ASSERT_EQ(first.status, 200) << first.body;
  std::string next = first.Json()["next"].get<std::string>().substr(Url().size());
  Reply limited = Get(next, AliceToken());
  ExpectError(limited, 429, "Rate limit for this resource has been exceeded");
  EXPECT_EQ(limited.Header("Retry-After"), "7");
  Reply retried = Get(next, AliceToken());
  ASSERT_EQ(retried.status, 200) << retried.body;
  EXPECT_EQ(retried.Json()["values"].size(), 6u);
  auto log = emulators_->Requests();
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[1].fault, "status");
  EXPECT_EQ(log[1].status, 429);
}

// --- Repositories ------------------------------------------------------------------------------

// A repository of the seed format; `n` makes its uuid.
json Repo(int n, const std::string& slug, const std::string& project = "") {
  char uuid[64];
  std::snprintf(uuid, sizeof(uuid), "{F0000000-0000-4000-8000-%012d}", n);
  json repo = {{"uuid", uuid}, {"slug", slug}};
  if (!project.empty()) repo["project"] = project;
  return repo;
}

// acme with `count` repositories repo-01, repo-02, ...; all but the first in project ACME.
json RepoSeed(int count) {
  json seed = Seed();
  json& repos = seed["workspaces"][0]["repositories"];
  for (int i = 1; i <= count; ++i) {
    repos.push_back(Repo(i, absl::StrCat("repo-", i < 10 ? "0" : "", i), i == 1 ? "" : "ACME"));
  }
  return seed;
}

TEST_F(EmulatorBitbucketTest, RepositoriesAreShapedLikeTheApisAndPagedLikeOtherLists) {
  Start(RepoSeed(12));
  Reply first = Get("/2.0/repositories/acme", AliceRepos());
  ASSERT_EQ(first.status, 200) << first.body;
  json body = first.Json();
  EXPECT_EQ(body["size"], 12);
  EXPECT_EQ(body["pagelen"], 10);
  EXPECT_EQ(body["next"], Url() + "/2.0/repositories/acme?page=2");
  json repo = body["values"][1];
  EXPECT_EQ(repo["type"], "repository");
  EXPECT_EQ(repo["uuid"], "{f0000000-0000-4000-8000-000000000002}");  // lower-cased by the seed
  EXPECT_EQ(repo["slug"], "repo-02");
  EXPECT_EQ(repo["name"], "repo-02");
  EXPECT_EQ(repo["full_name"], "acme/repo-02");
  EXPECT_EQ(repo["project"], json({{"type", "project"}, {"key", "ACME"}}));
  EXPECT_EQ(repo["workspace"]["type"], "workspace");
  EXPECT_EQ(repo["workspace"]["slug"], "acme");
  EXPECT_EQ(repo["workspace"]["uuid"], kAcmeUuid);
  EXPECT_EQ(repo["links"]["self"]["href"], Url() + "/2.0/repositories/acme/repo-02");
  EXPECT_FALSE(body["values"][0].contains("project"));  // repo-01 is in no project
  EXPECT_EQ(first.Header("x-accepted-oauth-scopes"), "read:repository:bitbucket");

  int pages = 0;
  std::vector<json> all = AllPages("/2.0/repositories/acme?pagelen=5", AliceRepos(), pages);
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(all.size(), 12u);
  EXPECT_EQ(all.back()["slug"], "repo-12");
  Reply last = Get("/2.0/repositories/acme?pagelen=5&page=3", AliceRepos());
  EXPECT_EQ(last.Json()["previous"], Url() + "/2.0/repositories/acme?pagelen=5&page=2");
  ExpectError(Get("/2.0/repositories/acme?pagelen=5&page=4", AliceRepos()), 404, "Invalid page");
  ExpectError(Get("/2.0/repositories/acme?pagelen=0", AliceRepos()), 400, "Invalid pagelen");
  EXPECT_EQ(Get("/2.0/repositories/beta", AliceRepos()).Json(),
            json({{"size", 0}, {"page", 1}, {"pagelen", 10}, {"values", json::array()}}));
}

TEST_F(EmulatorBitbucketTest, RepositoriesNeedTheRepositoryScope) {
  Start(RepoSeed(1));
  Reply granular = Get("/2.0/repositories/acme", AliceToken());
  EXPECT_EQ(granular.status, 403) << granular.body;
  EXPECT_EQ(granular.Json()["error"]["detail"]["required"], json({"read:repository:bitbucket"}));
  EXPECT_EQ(granular.Header("x-accepted-oauth-scopes"), "read:repository:bitbucket");

  std::string alice = OAuthToken("alice-consumer");  // account, account:write, email
  Reply classic = Get("/2.0/repositories/acme", Bearer(alice));
  EXPECT_EQ(classic.status, 403) << classic.body;
  EXPECT_EQ(classic.Json()["error"]["detail"]["required"], json({"repository"}));
  EXPECT_EQ(classic.Header("x-credential-type"), "oauth2");
  Apply({{"op", "set_scopes"}, {"credential", "alice-consumer"}, {"scopes", {"repository"}}});
  EXPECT_EQ(Get("/2.0/repositories/acme", Bearer(OAuthToken("alice-consumer"))).status, 200);
}

TEST_F(EmulatorBitbucketTest, RepositoriesOfAWorkspaceTheCallerCannotSeeAre404) {
  Start(RepoSeed(1));
  Apply({{"op", "add_workspace"},
         {"value", {{"uuid", "{55555555-0000-4000-8000-000000000005}"}, {"slug", "other"}}}});
  ExpectError(Get("/2.0/repositories/other", AliceRepos()), 404,
              "No workspace with identifier 'other'.");
  ExpectError(Get("/2.0/repositories/nowhere", AliceRepos()), 404,
              "No workspace with identifier 'nowhere'.");
  EXPECT_EQ(Get("/2.0/repositories/11111111-0000-4000-8000-000000000001", AliceRepos()).status,
            404);  // a bare UUID
  Reply braced = Get("/2.0/repositories/%7B11111111-0000-4000-8000-000000000001%7D", AliceRepos());
  ASSERT_EQ(braced.status, 200) << braced.body;
  EXPECT_EQ(braced.Json()["size"], 1);
}

TEST_F(EmulatorBitbucketTest, RepositoriesHonourTheIpAllowlist) {
  Start(RepoSeed(1));
  const char* message =
      "Your IP address is not on this workspace's allowlist. An administrator can change the "
      "allowlist in the workspace's access controls settings.";
  ExpectError(Get("/2.0/repositories/gamma", AliceRepos()), 403, message);
  Apply({{"op", "set_ip_allowlist"}, {"workspace", "acme"}});
  ExpectError(Get("/2.0/repositories/acme", AliceRepos()), 403, message);
}

TEST_F(EmulatorBitbucketTest, RepositoriesTakeTheirWorkspacesAccessTokenOnly) {
  Start(RepoSeed(3));
  Reply lacking = Get("/2.0/repositories/acme", Wat());  // account:write only
  EXPECT_EQ(lacking.status, 403) << lacking.body;
  EXPECT_EQ(lacking.Json()["error"]["detail"]["required"], json({"repository"}));
  Apply({{"op", "set_scopes"}, {"credential", "acme-wat"}, {"scopes", {"repository"}}});
  Reply own = Get("/2.0/repositories/acme", Wat());
  ASSERT_EQ(own.status, 200) << own.body;
  EXPECT_EQ(own.Json()["size"], 3);
  ExpectError(Get("/2.0/repositories/beta", Wat()), 403, kWrongMechanism);
  // Which repository a repository token is bound to is not modelled: refused, not all listed.
  Apply({{"op", "set_scopes"}, {"credential", "acme-rat"}, {"scopes", {"repository"}}});
  ExpectError(Get("/2.0/repositories/acme", Bearer(Secret("acme-rat"))), 403, kWrongMechanism);
}

TEST_F(EmulatorBitbucketTest, RepositoriesRefuseTheFiltersTheEmulatorDoesNotModel) {
  Start(RepoSeed(2));
  for (const char* query : {"?q=name%3D%22x%22", "?sort=-updated_on", "?role=admin"}) {
    EXPECT_EQ(Get(std::string("/2.0/repositories/acme") + query, AliceRepos()).status, 400)
        << query;
  }
}

TEST_F(EmulatorBitbucketTest, RepositoryOpsAddAndRemoveAndKeepIdentifiersUnique) {
  Apply({{"op", "add_repository"}, {"workspace", "acme"}, {"value", Repo(7, "tools", "OPS")}});
  Apply({{"op", "add_repository"}, {"workspace", "beta"}, {"value", Repo(8, "tools")}});
  Reply listed = Get("/2.0/repositories/acme", AliceRepos());
  ASSERT_EQ(listed.status, 200) << listed.body;
  ASSERT_EQ(listed.Json()["size"], 1);
  EXPECT_EQ(listed.Json()["values"][0]["project"]["key"], "OPS");

  json before = emulators_->State();
  for (const json& refused :
       {json{{"op", "add_repository"}, {"workspace", "acme"}, {"value", Repo(9, "tools")}},
        json{{"op", "add_repository"}, {"workspace", "gamma"}, {"value", Repo(7, "copy")}},
        json{{"op", "add_repository"}, {"workspace", "acme"}, {"value", Repo(9, "a b")}},
        json{{"op", "add_repository"}, {"workspace", "nowhere"}, {"value", Repo(9, "x")}},
        json{{"op", "remove_repository"}, {"workspace", "acme"}, {"repository", "nothing"}}}) {
    EXPECT_FALSE(emulators_->Apply(refused).ok()) << refused.dump();
  }
  EXPECT_EQ(emulators_->State(), before);

  Apply({{"op", "remove_repository"},
         {"workspace", "acme"},
         {"repository", "F0000000-0000-4000-8000-000000000007"}});  // by uuid, any case
  EXPECT_EQ(Get("/2.0/repositories/acme", AliceRepos()).Json()["size"], 0);
  Apply({{"op", "remove_repository"}, {"workspace", "beta"}, {"repository", "tools"}});
  EXPECT_EQ(Get("/2.0/repositories/beta", AliceRepos()).Json()["size"], 0);
}

// --- 1.0 groups: reads -------------------------------------------------------------------------

TEST_F(EmulatorBitbucketTest, GroupListShowsAdministratorsEveryGroupAndMembersTheirOwn) {
  std::string alice = OAuthToken("alice-consumer");
  Reply all = Get("/1.0/groups/acme/", Bearer(alice));
  ASSERT_EQ(all.status, 200) << all.body;
  ASSERT_TRUE(all.Json().is_array());
  ASSERT_EQ(all.Json().size(), 2u);
  json administrators = all.Json()[0];
  EXPECT_EQ(administrators["slug"], "administrators");
  EXPECT_EQ(administrators["permission"], "admin");
  EXPECT_EQ(administrators["auto_add"], false);
  EXPECT_EQ(administrators["email_forwarding_disabled"], false);
  EXPECT_EQ(administrators["owner"]["uuid"], kAcmeUuid);
  EXPECT_EQ(administrators["members"][0]["uuid"], kAlice);

  Reply bobs = Get("/1.0/groups/acme", Bearer(OAuthToken("bob-consumer")));
  ASSERT_EQ(bobs.status, 200) << bobs.body;
  ASSERT_EQ(bobs.Json().size(), 1u);
  EXPECT_EQ(bobs.Json()[0]["slug"], "developers");
  EXPECT_EQ(Get("/1.0/groups/nowhere", Bearer(alice)).status, 404);
}

TEST_F(EmulatorBitbucketTest, GroupAndItsMembersAreReadableByAdministratorsAndMembers) {
  std::string alice = OAuthToken("alice-consumer");
  Reply group = Get("/1.0/groups/acme/developers/", Bearer(alice));
  ASSERT_EQ(group.status, 200) << group.body;
  EXPECT_EQ(group.Json()["name"], "developers");
  Reply members = Get("/1.0/groups/acme/developers/members", Bearer(alice));
  ASSERT_EQ(members.status, 200) << members.body;
  EXPECT_EQ(members.Json(), json::parse(R"([{"account_id":"557058:bob","display_name":"User bob",
      "is_active":true,"is_staff":false,"is_team":false,"nickname":"bob",
      "resource_uri":"/1.0/users/{bbbbbbbb-0000-4000-8000-000000000002}",
      "uuid":"{bbbbbbbb-0000-4000-8000-000000000002}",
      "avatar":")" + Url() + R"(/account/557058%3Abob/avatar/32/"}])"));

  std::string bob = OAuthToken("bob-consumer");
  EXPECT_EQ(Get("/1.0/groups/acme/developers/members", Bearer(bob)).status, 200);
  EXPECT_EQ(Get("/1.0/groups/acme/administrators/members", Bearer(bob)).status, 403);
  EXPECT_EQ(Get("/1.0/groups/acme/no-such-group/members", Bearer(alice)).status, 404);
  EXPECT_EQ(Get("/1.0/groups/gamma", Bearer(bob)).status, 403);  // allowlist
}

TEST_F(EmulatorBitbucketTest, GroupsOfAWorkspaceTheCallerIsNotInAre403) {
  Apply({{"op", "add_workspace"},
         {"value", {{"uuid", "{55555555-0000-4000-8000-000000000005}"}, {"slug", "other"}}}});
  EXPECT_EQ(Get("/1.0/groups/other", Bearer(OAuthToken("alice-consumer"))).status, 403);
  ExpectError(Get("/1.0/groups/beta", Wat()), 403, kWrongMechanism);
}

TEST_F(EmulatorBitbucketTest, GroupWorkspaceUuidIs404UnlessTheOptionAcceptsIt) {
  std::string alice = OAuthToken("alice-consumer");
  const std::string path = "/1.0/groups/%7B11111111-0000-4000-8000-000000000001%7D";
  EXPECT_EQ(Get(path, Bearer(alice)).status, 404);
  Option("group_workspace_uuid", "accept");
  Reply accepted = Get(path, Bearer(alice));
  EXPECT_EQ(accepted.status, 200) << accepted.body;
  EXPECT_EQ(accepted.Json().size(), 2u);
}

TEST_F(EmulatorBitbucketTest, ApiTokensOnGroupsDependOnTheOption) {
  httplib::Headers token = Basic("alice@example.test", Secret("alice-permissions"));
  Reply refused = Get("/1.0/groups/acme", token);
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(refused.Json()["error"]["detail"]["required"], json({"account"}));
  EXPECT_EQ(refused.Header("x-accepted-oauth-scopes"), "account");
  Reply put = Put(absl::StrCat("/1.0/groups/acme/developers/members/", kCarol), token);
  EXPECT_EQ(put.Json()["error"]["detail"]["required"], json({"account:write"}));

  Option("api_token_groups", "permission_scopes");
  Reply read = Get("/1.0/groups/acme", token);
  EXPECT_EQ(read.status, 200) << read.body;
  EXPECT_EQ(read.Header("x-accepted-oauth-scopes"), "read:permission:bitbucket");
  EXPECT_EQ(Put(absl::StrCat("/1.0/groups/acme/developers/members/", kCarol), token).status, 200);
  Reply removed = Delete(absl::StrCat("/1.0/groups/acme/developers/members/", kCarol), token);
  EXPECT_EQ(removed.status, 204);
  EXPECT_EQ(removed.Header("x-accepted-oauth-scopes"), "delete:permission:bitbucket");
  EXPECT_EQ(Get("/1.0/groups/acme", AliceToken()).status, 403);  // no permission scope
}

// --- 1.0 groups: writes ------------------------------------------------------------------------

TEST_F(EmulatorBitbucketTest, GroupMemberIsAddedOnceAndRemovedOnce) {
  httplib::Headers alice = Bearer(OAuthToken("alice-consumer"));
  const std::string path =
      "/1.0/groups/acme/developers/members/%7BCCCCCCCC-0000-4000-8000-000000000003%7D";
  Reply added = Put(path, alice);
  ASSERT_EQ(added.status, 200) << added.body;
  EXPECT_EQ(added.Json()["uuid"], kCarol);
  EXPECT_EQ(added.Json()["is_team"], false);
  EXPECT_EQ(Get("/1.0/groups/acme/developers/members", alice).Json().size(), 2u);
  EXPECT_EQ(Put(path, alice).status, 409);
  Option("group_add_existing", "ok");
  EXPECT_EQ(Send("PUT", path, alice, "{}", "application/json").status, 200);

  Reply removed = Delete(path, alice);
  EXPECT_EQ(removed.status, 204);
  EXPECT_EQ(removed.body, "");
  EXPECT_EQ(Delete(path, alice).status, 404);
  EXPECT_EQ(Get("/1.0/groups/acme/developers/members", alice).Json().size(), 1u);
}

TEST_F(EmulatorBitbucketTest, GroupWritesRefuseWhatTheRealApiRefuses) {
  httplib::Headers alice = Bearer(OAuthToken("alice-consumer"));
  const std::string members = "/1.0/groups/acme/developers/members/";
  Reply outsider = Put(members + kDave, alice);
  EXPECT_EQ(outsider.status, 404);
  EXPECT_EQ(outsider.Header("Content-Type"), "text/plain");
  EXPECT_EQ(outsider.Json().is_discarded(), true);
  EXPECT_EQ(Put(members + "{99999999-0000-4000-8000-000000000009}", alice).status, 404);
  EXPECT_EQ(Put("/1.0/groups/acme/no-such-group/members/" + std::string(kCarol), alice).status,
            404);
  EXPECT_EQ(Send("PUT", members + kCarol, alice, R"({"x":1})", "application/json").status, 400);
  EXPECT_EQ(Put(members + kCarol, Bearer(OAuthToken("bob-consumer"))).status, 403);
  EXPECT_EQ(Put(members + kCarol, Bearer(Secret("acme-rat"))).status, 403);
  EXPECT_EQ(Put(members + kCarol, Wat()).status, 200);  // a workspace token administers
}

TEST_F(EmulatorBitbucketTest, GroupWritesInManagedWorkspacesAre405None) {
  httplib::Headers bob = Bearer(OAuthToken("bob-consumer"));
  for (const char* method : {"PUT", "DELETE"}) {
    Reply reply = Send(method, absl::StrCat("/1.0/groups/beta/readers/members/", kAlice), bob);
    EXPECT_EQ(reply.status, 405) << method;
    EXPECT_EQ(reply.body, "None") << method;
    EXPECT_EQ(reply.Header("Content-Type"), "text/plain") << method;
  }
  EXPECT_EQ(Get("/1.0/groups/beta/readers/members", bob).status, 200);  // reads still work
}

TEST_F(EmulatorBitbucketTest, GroupMemberAccountIdIs404UnlessTheOptionAcceptsIt) {
  httplib::Headers alice = Bearer(OAuthToken("alice-consumer"));
  const std::string path = "/1.0/groups/acme/developers/members/557058:carol";
  EXPECT_EQ(Put(path, alice).status, 404);
  Option("group_member_account_id", "accept");
  Reply added = Put(path, alice);
  EXPECT_EQ(added.status, 200) << added.body;
  EXPECT_EQ(added.Json()["uuid"], kCarol);
}

TEST_F(EmulatorBitbucketTest, JoiningAdministratorsMakesAnAdministrator) {
  auto administered = [&] {
    return Slugs(Get("/2.0/user/workspaces?administrator=true", BobToken()));
  };
  EXPECT_EQ(administered(), std::vector<std::string>{"beta"});
  Reply added = Put(absl::StrCat("/1.0/groups/acme/administrators/members/", kBob),
                    Bearer(OAuthToken("alice-consumer")));
  ASSERT_EQ(added.status, 200) << added.body;
  EXPECT_EQ(administered(), (std::vector<std::string>{"acme", "beta"}));
  EXPECT_EQ(Get("/2.0/user/workspaces/acme/permission", BobToken()).Json()["permission"], "owner");
}

// --- Request log and secrets -------------------------------------------------------------------

TEST_F(EmulatorBitbucketTest, RequestLogRecordsTheCredentialThatAuthenticated) {
  Get("/2.0/user", AliceToken());
  Get("/2.0/user", Wat());
  Get("/2.0/user", Basic("alice", Secret("alice-token")));
  TokenRequest("grant_type=client_credentials",
               Basic("alice-consumer-client", Secret("alice-consumer")));
  auto log = emulators_->Requests();
  ASSERT_EQ(log.size(), 4u);
  EXPECT_EQ(log[0].credential, "alice-token");
  EXPECT_EQ(log[0].status, 200);
  EXPECT_EQ(log[1].credential, "acme-wat");
  EXPECT_EQ(log[1].status, 403);
  EXPECT_EQ(log[2].credential, "");
  EXPECT_EQ(log[2].status, 401);
  EXPECT_EQ(log[3].credential, "alice-consumer");
}

TEST_F(EmulatorBitbucketTest, NoSecretInAnyAnswerOrInTheRequestLog) {
  Option("app_passwords", "accepted");
  std::string token = OAuthToken("alice-consumer");
  for (const auto& headers : {AliceToken(), Basic("alice", Secret("alice-app")), Wat(),
                              Bearer(token), Basic("alice", Secret("alice-token"))}) {
    Get("/2.0/user", headers);
    Get("/2.0/user/emails", headers);
    Get("/2.0/workspaces/acme/members", headers);
    Get("/1.0/groups/acme", headers);
    Put(absl::StrCat("/1.0/groups/acme/developers/members/", kCarol), headers);
  }
  TokenRequest("grant_type=client_credentials", Basic("alice-consumer-client", Secret("x")));
  Reply log = Get("/_emulator/requests", {});
  ASSERT_EQ(log.status, 200);
  EXPECT_EQ(log.body.find(kCanary), std::string::npos);
  EXPECT_GT(replies_.size(), 25u);  // TearDown checks every one of them
}

}  // namespace
}  // namespace arnica::emulators
