// IP allowlist refusals: which 403s are one (Bitbucket's real wording is not published, so the
// test bodies vary it), and the advice a user gets, with Arnica's published addresses. The
// same refusal through BitbucketClient against the emulator is in service_clients_test.cc.
#include "provider/clients/ip_allowlist.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "provider/http/bitbucket_errors.h"

namespace arnica::clients {
namespace {

http::Response Make(long status, std::string body, http::HeaderList headers = {}) {
  return http::Response{.status = status, .headers = std::move(headers), .body = std::move(body)};
}

std::string JsonError(const std::string& message) {
  return R"({"type":"error","error":{"message":")" + message + R"("}})";
}

TEST(IpAllowlistRefusal, RecognisedIn403sWhateverTheWording) {
  for (const std::string& body : {
           JsonError("Your IP address is not on this workspace's allowlist. An administrator "
                     "can change the allowlist in the workspace's access controls settings."),
           JsonError("Access denied: IP ALLOWLIST in effect"),
           JsonError("Request blocked by the workspace allow-list"),
           JsonError("Your ip address 203.0.113.9 is not permitted"),
           JsonError("Not in the IP whitelist"),
           std::string(R"({"type":"error","error":{"message":"Forbidden",)"
                       R"("detail":"The workspace's IP allow list does not include you"}})"),
           std::string("<html><body><h1>403</h1><p>IP Whitelist refused</p></body></html>"),
           std::string("Your IP address is not allowed"),
       }) {
    http::ServiceError error = http::ParseBitbucketError(Make(403, body));
    EXPECT_EQ(error.kind, "ip_allowlist") << body;
    EXPECT_TRUE(IsIpAllowlistRefusal(error)) << body;
  }
}

// Bitbucket sends the scope headers with every answer after authentication, the emulator's
// allowlist 403 included: the allowlist wording wins over "missing_scope".
TEST(IpAllowlistRefusal, WinsOverScopeHeaders) {
  http::ServiceError error = http::ParseBitbucketError(
      Make(403, JsonError("Your IP address is not on this workspace's allowlist."),
           {{"x-oauth-scopes", "account, account:write"}, {"x-accepted-oauth-scopes", "team"}}));
  EXPECT_EQ(error.kind, "ip_allowlist");
}

TEST(IpAllowlistRefusal, NotForOther403sOrOtherStatuses) {
  struct Case {
    long status;
    std::string body;
    http::HeaderList headers;
  };
  for (const Case& c : std::vector<Case>{
           {403,
            JsonError("Your credentials lack one or more required privilege scopes."),
            {{"x-oauth-scopes", "read:user:bitbucket"},
             {"x-accepted-oauth-scopes", "read:workspace:bitbucket"}}},
           {403, JsonError("This API is not accessible by this authentication mechanism"), {}},
           {403, JsonError("You do not have access to this workspace."), {}},
           {403, "Forbidden", {}},
           {401, JsonError("Your IP address is not on this workspace's allowlist."), {}},
           {404, JsonError("No allowlist here"), {}},
       }) {
    http::ServiceError error = http::ParseBitbucketError(Make(c.status, c.body, c.headers));
    EXPECT_NE(error.kind, "ip_allowlist") << c.status << " " << c.body;
    EXPECT_FALSE(IsIpAllowlistRefusal(error)) << c.body;
  }
}

TEST(IpAllowlistRefusal, WithoutAWorkspaceTheDiagnosticStillSaysWhatToAllow) {
  http::ServiceError error = http::ParseBitbucketError(
      Make(403, JsonError("Your IP address is not on this workspace's allowlist.")));
  std::string text = error.ForDiagnostic();
  EXPECT_NE(text.find("Bitbucket answered 403 Forbidden: Your IP address"), std::string::npos)
      << text;
  EXPECT_NE(text.find("IP allowlist"), std::string::npos) << text;
  EXPECT_NE(text.find("machine running OpenTofu"), std::string::npos) << text;
  // Survives the trip through a status, like every ServiceError.
  auto back = http::ServiceErrorOf(http::ToStatus(error));
  ASSERT_TRUE(back.has_value());
  EXPECT_TRUE(IsIpAllowlistRefusal(*back));
}

TEST(IpAllowlistAdvice, NamesTheWorkspaceItsSettingsPageAndEveryArnicaAddress) {
  std::string advice = IpAllowlistAdvice("acme-eng");
  EXPECT_NE(advice.find("workspace acme-eng"), std::string::npos) << advice;
  EXPECT_NE(advice.find("https://bitbucket.org/acme-eng/workspace/settings/access-controls"),
            std::string::npos)
      << advice;
  EXPECT_NE(advice.find("machine running OpenTofu"), std::string::npos) << advice;
  EXPECT_NE(advice.find("Arnica cannot read acme-eng"), std::string::npos) << advice;
  EXPECT_NE(advice.find("Arnica US 18.221.115.1, 3.14.104.231"), std::string::npos) << advice;
  EXPECT_NE(advice.find("Arnica EU 18.199.13.52, 3.126.241.142, 52.59.152.69."), std::string::npos)
      << advice;
  for (std::string_view address : kArnicaUsAddresses) {
    EXPECT_NE(advice.find(std::string(address)), std::string::npos) << address;
  }
  for (std::string_view address : kArnicaEuAddresses) {
    EXPECT_NE(advice.find(std::string(address)), std::string::npos) << address;
  }
}

TEST(IpAllowlistAdvice, ArnicasPublishedAddressesAreTheOnesOnItsPage) {
  // Arnica's On-Premises integrations page (../shared/reference/arnica.md §3.6).
  EXPECT_EQ(std::vector<std::string_view>(kArnicaUsAddresses.begin(), kArnicaUsAddresses.end()),
            (std::vector<std::string_view>{"18.221.115.1", "3.14.104.231", "3.14.211.193",
                                           "3.23.28.237", "13.58.11.157", "3.143.46.92",
                                           "18.221.211.0", "3.23.227.208"}));
  EXPECT_EQ(std::vector<std::string_view>(kArnicaEuAddresses.begin(), kArnicaEuAddresses.end()),
            (std::vector<std::string_view>{"18.199.13.52", "3.126.241.142", "52.59.152.69"}));
}

TEST(IpAllowlistAdvice, AWorkspaceGivenByUuidGetsASlugPlaceholderInTheUrl) {
  const char* uuid = "{7a000000-0000-4000-8000-00000000000a}";
  std::string advice = IpAllowlistAdvice(uuid);
  EXPECT_NE(advice.find(std::string("workspace ") + uuid), std::string::npos) << advice;
  EXPECT_NE(
      advice.find("https://bitbucket.org/<workspace-slug>/workspace/settings/access-controls"),
      std::string::npos)
      << advice;
  EXPECT_EQ(IpAllowlistSettingsUrl("7a000000-0000-4000-8000-00000000000a"),
            "https://bitbucket.org/<workspace-slug>/workspace/settings/access-controls");
  EXPECT_EQ(IpAllowlistSettingsUrl(""),
            "https://bitbucket.org/<workspace-slug>/workspace/settings/access-controls");
}

TEST(IpAllowlistAdvice, AStrangeNameIsQuotedCleanAndEncodedInTheUrl) {
  std::string advice = IpAllowlistAdvice("a b\n\x1b[31m/..");
  EXPECT_EQ(advice.find('\n'), std::string::npos) << advice;
  EXPECT_EQ(advice.find('\x1b'), std::string::npos) << advice;
  EXPECT_NE(advice.find("https://bitbucket.org/a%20b%0A%1B%5B31m%2F../workspace/"),
            std::string::npos)
      << advice;
}

TEST(IpAllowlistDocs, TheProviderPageListsEveryArnicaAddress) {
  std::ifstream in(std::string(ARNICA_SOURCE_DIR) + "/docs/index.md");
  std::stringstream text;
  text << in.rdbuf();
  std::string page = text.str();
  ASSERT_FALSE(page.empty());
  EXPECT_NE(page.find("/workspace/settings/access-controls"), std::string::npos);
  for (std::string_view address : kArnicaUsAddresses) {
    EXPECT_NE(page.find("`" + std::string(address) + "`"), std::string::npos) << address;
  }
  for (std::string_view address : kArnicaEuAddresses) {
    EXPECT_NE(page.find("`" + std::string(address) + "`"), std::string::npos) << address;
  }
}

}  // namespace
}  // namespace arnica::clients
