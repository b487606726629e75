// The credential's scope table and its documentation agree, and the missing-read:user diagnostic
// names the right scope even when Bitbucket's message names another (the fault below plays a
// 403 whose `required` lists the classic `account`, which an API token cannot hold).
#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "provider/http/client.h"
#include "provider/resources/credential_check.h"
#include "provider/resources/scopes.h"
#include "tests/emulators/emulator.h"

namespace arnica::resources {
namespace {

using emulators::Emulators;
using emulators::Service;
using nlohmann::json;

std::string ReadDoc(const std::string& relative) {
  std::ifstream in(std::string(ARNICA_SOURCE_DIR) + "/" + relative);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(ScopeTableDocs, EveryDefaultScopeAndPurposeIsInTheResourcePage) {
  std::string page = ReadDoc("docs/resources/bitbucket_credential.md");
  ASSERT_FALSE(page.empty());
  for (const char* kind : {kKindApiToken, kKindAppPassword, kKindAccessToken}) {
    for (const std::string& scope : DefaultScopes(kind)) {
      EXPECT_NE(page.find("`" + scope + "`"), std::string::npos) << kind << ": " << scope;
    }
  }
  for (const ScopeNeed& need : ArnicaScopeNeeds()) {
    EXPECT_NE(page.find(std::string(need.purpose)), std::string::npos) << need.purpose;
  }
}

TEST(CredentialCheck, TheMissingIdentityScopeIsNamedWhateverBitbucketSays) {
  constexpr char kSvc[] = "{00000000-0000-4000-8000-0000000000a1}";
  json seed = {{"users",
                {{{"uuid", kSvc},
                  {"account_id", "557058:svc"},
                  {"emails", {{{"email", "svc@example.com"}, {"is_primary", true}}}}}}},
               {"credentials",
                {{{"id", "t"},
                  {"kind", "api_token"},
                  {"user", kSvc},
                  {"secret", "ATATT3xFAKE-docs-test"},
                  {"scopes", {"read:repository:bitbucket"}}}}}};
  auto started = Emulators::Start({.seed = seed});
  ASSERT_TRUE(started.ok()) << started.status();
  auto fault = emulators::FaultFromJson(
      {{"path", "/2.0/user"},
       {"status", 403},
       {"body",
        json({{"type", "error"},
              {"error",
               {{"message", "Your credentials lack one or more required privilege scopes."},
                {"detail",
                 {{"granted", {"read:repository:bitbucket"}}, {"required", {"account"}}}}}}})
            .dump()}});
  ASSERT_TRUE(fault.ok()) << fault.status();
  (*started)->AddFault(*fault);

  tf::Diagnostics diagnostics;
  auto verified = VerifyCredential(std::make_shared<http::Client>(http::ClientOptions{}),
                                   (*started)->url(Service::kBitbucket),
                                   {.kind = "api_token",
                                    .principal = "svc@example.com",
                                    .secret = "ATATT3xFAKE-docs-test",
                                    .secret_attribute = "secret_wo",
                                    .required_scopes = DefaultScopes("api_token")},
                                   {}, diagnostics);
  EXPECT_FALSE(verified.has_value());
  ASSERT_EQ(diagnostics.size(), 1u);
  const tf::Diagnostic& d = diagnostics.items()[0];
  EXPECT_EQ(d.summary, "Token Lacks read:user:bitbucket");
  EXPECT_NE(d.detail.find("Bitbucket's own message names `account`"), std::string::npos)
      << d.detail;
  EXPECT_NE(d.detail.find("`read:project:bitbucket`"), std::string::npos) << d.detail;
  EXPECT_EQ(d.detail.find("ATATT3xFAKE-docs-test"), std::string::npos);
}

}  // namespace
}  // namespace arnica::resources
