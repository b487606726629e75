// End-to-end: OpenTofu drives arnica_bitbucket_credential against the Bitbucket emulator (in this
// process, on 127.0.0.1): a token with exactly the default scopes, then widened, rotated and
// revoked; each mistake users make gets its own diagnostic; and the write-only secret, a canary,
// reaches neither state, nor the saved plan, nor the TRACE log.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "provider/resources/scopes.h"
#include "tests/e2e/tofu_harness.h"
#include "tests/emulators/emulator.h"

namespace arnica::e2e {
namespace {

namespace fs = std::filesystem;
using emulators::Emulators;
using emulators::Service;
using nlohmann::json;

constexpr char kCanary[] = "CANARY-cred-7f3a";
constexpr char kSvc[] = "{5e1c0a00-0000-4000-8000-00000000a001}";
constexpr char kSvcAccount[] = "557058:svc";
constexpr char kSvcEmail[] = "svc@example.com";
constexpr char kSvcUsername[] = "arnica-svc";
constexpr char kWorkspace[] = "{7a000000-0000-4000-8000-00000000000a}";

std::string Token(const std::string& name) { return "ATATT3xFAKE-" + name + "-" + kCanary; }
const std::string kAccessToken = std::string("ATCTT3xFAKE-ws-token-") + kCanary;
const std::string kAppPassword = std::string("app-password-") + kCanary;

std::vector<std::string> Defaults(const char* kind) { return resources::DefaultScopes(kind); }

json Credential(const std::string& id, const std::string& secret,
                const std::vector<std::string>& scopes) {
  return {
      {"id", id}, {"kind", "api_token"}, {"user", kSvc}, {"secret", secret}, {"scopes", scopes}};
}

json Seed() {
  std::vector<std::string> no_user_scope = Defaults("api_token");
  std::erase(no_user_scope, "read:user:bitbucket");
  return {
      {"users",
       {{{"uuid", kSvc},
         {"account_id", kSvcAccount},
         {"username", kSvcUsername},
         {"emails", {{{"email", kSvcEmail}, {"is_primary", true}}}}}}},
      {"workspaces", {{{"uuid", kWorkspace}, {"slug", "ws-a"}, {"members", {{{"user", kSvc}}}}}}},
      {"credentials",
       {Credential("svc-token", Token("svc-token"), Defaults("api_token")),
        Credential("narrow-token", Token("narrow-token"), no_user_scope),
        {{"id", "svc-app-password"},
         {"kind", "app_password"},
         {"user", kSvc},
         {"secret", kAppPassword},
         {"scopes", Defaults("app_password")}},
        {{"id", "ws-token"},
         {"kind", "access_token"},
         {"token_type", "workspace"},
         {"workspace", "ws-a"},
         {"secret", kAccessToken},
         {"scopes", Defaults("access_token")}}}}};
}

class CredentialTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(TofuBinary().empty()) << "ARNICA_TOFU must name an OpenTofu binary.";
    auto started = Emulators::Start({.seed = Seed()});
    ASSERT_TRUE(started.ok()) << started.status();
    emulators_ = *std::move(started);
    workspace_ = std::make_unique<Workspace>(fs::path(ARNICA_RELEASE_DIR));
  }

  // The provider needs only Bitbucket's address: the resource brings its own credential.
  std::string Provider() const {
    return "provider \"arnica\" {\n  bitbucket {\n    base_url = \"" +
           emulators_->url(Service::kBitbucket) + "\"\n  }\n}\n\n";
  }

  // The token comes from an ephemeral variable (TF_VAR_token), as a real configuration would
  // take it from a vault, into the write-only attribute.
  std::string WriteOnlyConfig(int version) const {
    return Provider() +
           "variable \"token\" {\n  type      = string\n  sensitive = true\n"
           "  ephemeral = true\n}\n"
           "resource \"arnica_bitbucket_credential\" \"svc\" {\n"
           "  principal         = \"" +
           kSvcEmail +
           "\"\n"
           "  secret_wo         = var.token\n"
           "  secret_wo_version = " +
           std::to_string(version) +
           "\n}\n"
           "output \"scopes\" {\n  value = provider::arnica::required_scopes(\"api_token\")\n}\n"
           "output \"account\" {\n  value = arnica_bitbucket_credential.svc.account_uuid\n}\n";
  }

  json StateAttributes() const {
    json state = ParseHostJson(workspace_->ReadFile("terraform.tfstate"));
    return state["resources"][0]["instances"][0]["attributes"];
  }

  std::unique_ptr<Emulators> emulators_;
  std::unique_ptr<Workspace> workspace_;
};

TEST_F(CredentialTest, ExactScopesApplyCleanlyThenWideningRotationAndRevocationShowInPlans) {
  workspace_->WriteConfig(WriteOnlyConfig(1));
  std::map<std::string, std::string> token = {{"TF_VAR_token", Token("svc-token")}};

  // The plan already knows the account and scopes: it verified the token.
  ASSERT_EXIT_CODE(workspace_->Tofu({"plan", "-out=first.tfplan"}, token), 0);
  auto shown = workspace_->Tofu({"show", "-json", "first.tfplan"}, token);
  ASSERT_EXIT_CODE(shown, 0);
  EXPECT_EQ(shown.stdout_text.find(kCanary), std::string::npos);
  json plan = ParseHostJson(shown.stdout_text);
  json after = plan["resource_changes"][0]["change"]["after"];
  EXPECT_EQ(after["account_uuid"], kSvc) << after.dump();
  EXPECT_EQ(after["credential_type"], "api_token");
  EXPECT_TRUE(after["secret_wo"].is_null());

  ASSERT_EXIT_CODE(workspace_->Tofu({"apply", "first.tfplan"}, token), 0);
  json attributes = StateAttributes();
  EXPECT_EQ(attributes["account_uuid"], kSvc);
  EXPECT_EQ(attributes["account_id"], kSvcAccount);
  EXPECT_EQ(attributes["kind"], "api_token");
  std::vector<std::string> expected = Defaults("api_token");
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(attributes["granted_scopes"].get<std::vector<std::string>>(), expected);
  EXPECT_TRUE(attributes["secret_wo"].is_null());
  std::string fingerprint = attributes["fingerprint"];
  EXPECT_EQ(fingerprint.rfind("v1:", 0), 0u) << fingerprint;

  auto outputs = ParseHostJson(workspace_->Tofu({"output", "-json"}).stdout_text);
  EXPECT_EQ(outputs["scopes"]["value"].get<std::vector<std::string>>(), Defaults("api_token"));
  EXPECT_EQ(outputs["account"]["value"], kSvc);

  // Nothing changed: the second plan is empty (and verified the token again).
  int before = emulators_->Count(Service::kBitbucket, "GET", "/2.0/user");
  EXPECT_EXIT_CODE(workspace_->Tofu({"plan", "-detailed-exitcode"}, token), 0);
  EXPECT_GT(emulators_->Count(Service::kBitbucket, "GET", "/2.0/user"), before);

  // Widened in Bitbucket: the next plan fails and names the extra scope.
  std::vector<std::string> wider = Defaults("api_token");
  wider.push_back("admin:repository:bitbucket");
  ASSERT_TRUE(
      emulators_->Apply({{"op", "set_scopes"}, {"credential", "svc-token"}, {"scopes", wider}})
          .ok());
  auto widened = workspace_->Tofu({"plan", "-detailed-exitcode"}, token);
  EXPECT_EXIT_CODE(widened, 1);
  EXPECT_NE(widened.Output().find("Bitbucket Token Has More Scopes Than Required"),
            std::string::npos)
      << widened.Output();
  EXPECT_NE(widened.Output().find("admin:repository:bitbucket"), std::string::npos);
  ASSERT_TRUE(emulators_
                  ->Apply({{"op", "set_scopes"},
                           {"credential", "svc-token"},
                           {"scopes", Defaults("api_token")}})
                  .ok());
  EXPECT_EXIT_CODE(workspace_->Tofu({"plan", "-detailed-exitcode"}, token), 0);

  // Rotation: a new token and a bumped version; only the version and fingerprint change.
  ASSERT_TRUE(emulators_
                  ->Apply({{"op", "add_credential"},
                           {"value", Credential("svc-token-2", Token("svc-token-2"),
                                                Defaults("api_token"))}})
                  .ok());
  token["TF_VAR_token"] = Token("svc-token-2");
  workspace_->WriteConfig(WriteOnlyConfig(2));
  auto rotation = workspace_->Tofu({"plan", "-detailed-exitcode"}, token);
  EXPECT_EXIT_CODE(rotation, 2);
  EXPECT_NE(rotation.stdout_text.find("~ secret_wo_version  = 1 -> 2"), std::string::npos)
      << rotation.stdout_text;
  EXPECT_NE(rotation.stdout_text.find("0 to add, 1 to change, 0 to destroy"), std::string::npos);
  ASSERT_EXIT_CODE(workspace_->Tofu({"apply", "-auto-approve"}, token), 0);
  std::string rotated = StateAttributes()["fingerprint"];
  EXPECT_NE(rotated, fingerprint);
  EXPECT_EQ(rotated.substr(0, 20), fingerprint.substr(0, 20));  // same salt, new digest
  EXPECT_EQ(StateAttributes()["id"], attributes["id"]);
  EXPECT_EXIT_CODE(workspace_->Tofu({"plan", "-detailed-exitcode"}, token), 0);

  // Revoked: the next plan shows it as drift, with the reason and how to recover, and apply
  // fails without touching state.
  ASSERT_TRUE(emulators_->Apply({{"op", "revoke_credential"}, {"credential", "svc-token-2"}}).ok());
  auto revoked = workspace_->Tofu({"plan", "-detailed-exitcode"}, token);
  EXPECT_EXIT_CODE(revoked, 2);
  EXPECT_NE(revoked.Output().find("Warning: Bitbucket Refused the Credential"), std::string::npos)
      << revoked.Output();
  EXPECT_NE(revoked.Output().find("secret_wo_version"), std::string::npos);
  EXPECT_NE(revoked.stdout_text.find("(known after apply)"), std::string::npos);
  EXPECT_EQ(revoked.stdout_text.find("account_uuid"), std::string::npos);  // unchanged
  auto failed = workspace_->Tofu({"apply", "-auto-approve"}, token);
  EXPECT_EXIT_CODE(failed, 1);
  EXPECT_NE(failed.Output().find("Error: Bitbucket Refused the Credential"), std::string::npos)
      << failed.Output();
  EXPECT_EQ(StateAttributes()["fingerprint"], rotated);

  // A revoked credential can still be destroyed (OpenTofu plans normally before a destroy, and
  // that plan must not fail), and destroying writes nothing to Bitbucket.
  ASSERT_EXIT_CODE(workspace_->Tofu({"destroy", "-auto-approve"}, token), 0);
  EXPECT_TRUE(ParseHostJson(workspace_->ReadFile("terraform.tfstate"))["resources"].empty());
  for (const auto& request : emulators_->Requests()) EXPECT_EQ(request.method, "GET");

  // The canary never reached state, plans, output or the TRACE log of any command.
  EXPECT_EQ(workspace_->EverythingWritten().find(kCanary), std::string::npos);
  EXPECT_EQ(workspace_->history().find(kCanary), std::string::npos);
}

// A credential whose secret comes from an ephemeral, sensitive variable of the same name, so
// that diagnostics pointing at the line show `var.<name>`, never the value.
std::string CredentialBlock(const std::string& name, const std::string& kind,
                            const std::string& principal) {
  std::string block = "variable \"" + name +
                      "\" {\n  type = string\n  sensitive = true\n  ephemeral = true\n}\n"
                      "resource \"arnica_bitbucket_credential\" \"" +
                      name + "\" {\n  kind = \"" + kind + "\"\n";
  if (!principal.empty()) block += "  principal = \"" + principal + "\"\n";
  return block + "  secret_wo = var." + name + "\n}\n";
}

// Import takes the principal; the plan after it verifies the configured token and records the
// facts in place (no create), choosing the fingerprint's salt at apply as for a new object.
TEST_F(CredentialTest, ImportByPrincipalThenThePlanVerifiesAndRecordsInPlace) {
  workspace_->WriteConfig(WriteOnlyConfig(1));
  std::map<std::string, std::string> env = {{"TF_VAR_token", Token("svc-token")}};
  CommandResult refused = workspace_->Tofu({"import", "arnica_bitbucket_credential.svc", ""}, env);
  EXPECT_NE(refused.exit_code, 0);
  CommandResult imported =
      workspace_->Tofu({"import", "arnica_bitbucket_credential.svc", kSvcEmail}, env);
  ASSERT_EXIT_CODE(imported, 0);
  CommandResult plan = workspace_->Tofu({"plan", "-detailed-exitcode"}, env);
  ASSERT_EXIT_CODE(plan, 2);
  EXPECT_TRUE(Mentions(plan, "Plan: 0 to add, 1 to change, 0 to destroy.")) << plan.Output();
  EXPECT_TRUE(Mentions(plan, "fingerprint = (known after apply)")) << plan.Output();
  ASSERT_EXIT_CODE(workspace_->Tofu({"apply", "-auto-approve"}, env), 0);
  EXPECT_EQ(StateAttributes()["account_uuid"], kSvc);
  EXPECT_EQ(workspace_->Tofu({"plan", "-detailed-exitcode"}, env).exit_code, 0);
}

TEST_F(CredentialTest, EachCommonMistakeHasItsOwnDiagnostic) {
  // A username where the e-mail belongs is caught before any request.
  workspace_->WriteConfig(Provider() + CredentialBlock("username", "api_token", kSvcUsername));
  auto username = workspace_->Tofu({"plan"}, {{"TF_VAR_username", Token("svc-token")}});
  EXPECT_EXIT_CODE(username, 1);
  EXPECT_NE(username.Output().find("Username Given Instead of E-mail"), std::string::npos)
      << username.Output();
  EXPECT_EQ(emulators_->Count(Service::kBitbucket, "", ""), 0);

  // The others are Bitbucket's answers, each explained.
  workspace_->WriteConfig(Provider() +
                          CredentialBlock("app_password", "app_password", kSvcUsername) +
                          CredentialBlock("no_user_scope", "api_token", kSvcEmail) +
                          CredentialBlock("access_token", "api_token", kSvcEmail));
  auto plan = workspace_->Tofu({"plan"}, {{"TF_VAR_app_password", kAppPassword},
                                          {"TF_VAR_no_user_scope", Token("narrow-token")},
                                          {"TF_VAR_access_token", kAccessToken}});
  EXPECT_EXIT_CODE(plan, 1);
  const std::string output = plan.Output();
  for (const char* expected :
       {"App Passwords No Longer Work", "2026-07-28", "Token Lacks read:user:bitbucket",
        "Access Token Given Where an Account Is Needed"}) {
    EXPECT_NE(output.find(expected), std::string::npos) << expected << "\n" << output;
  }
  EXPECT_EQ(workspace_->EverythingWritten().find(kCanary), std::string::npos);
  EXPECT_EQ(workspace_->history().find(kCanary), std::string::npos);
}

TEST_F(CredentialTest, AnAccessTokenVerifiesWithAWarningAndNoAccount) {
  workspace_->WriteConfig(Provider() + CredentialBlock("ws", "access_token", ""));
  std::map<std::string, std::string> token = {{"TF_VAR_ws", kAccessToken}};
  auto applied = workspace_->Tofu({"apply", "-auto-approve"}, token);
  ASSERT_EXIT_CODE(applied, 0);
  EXPECT_NE(applied.Output().find("Access Tokens Act for No Account"), std::string::npos);
  json attributes = StateAttributes();
  EXPECT_TRUE(attributes["account_uuid"].is_null()) << attributes.dump();
  EXPECT_EQ(attributes["credential_type"], "workspace_access_token");
  EXPECT_EXIT_CODE(workspace_->Tofu({"plan", "-detailed-exitcode"}, token), 0);
}

// For hosts without write-only attributes: `secret` works, warns that it is kept in state, is
// masked in plan output, and a refresh sees scopes widened in Bitbucket.
TEST_F(CredentialTest, TheSensitiveSecretWorksAndWarnsThatStateHoldsIt) {
  workspace_->WriteConfig(Provider() +
                          "variable \"token\" {\n  type = string\n  sensitive = true\n}\n"
                          "resource \"arnica_bitbucket_credential\" \"svc\" {\n"
                          "  principal = \"" +
                          kSvcEmail + "\"\n  secret = var.token\n}\n");
  std::map<std::string, std::string> token = {{"TF_VAR_token", Token("svc-token")}};
  auto applied = workspace_->Tofu({"apply", "-auto-approve"}, token);
  ASSERT_EXIT_CODE(applied, 0);
  EXPECT_NE(applied.Output().find("Secret Kept in State"), std::string::npos) << applied.Output();
  EXPECT_EQ(applied.Output().find(kCanary), std::string::npos);  // masked, though in state
  EXPECT_EXIT_CODE(workspace_->Tofu({"plan", "-detailed-exitcode"}, token), 0);

  std::vector<std::string> wider = Defaults("api_token");
  wider.push_back("read:pipeline:bitbucket");
  ASSERT_TRUE(
      emulators_->Apply({{"op", "set_scopes"}, {"credential", "svc-token"}, {"scopes", wider}})
          .ok());
  auto refreshed = workspace_->Tofu({"plan", "-refresh-only", "-detailed-exitcode"}, token);
  EXPECT_EXIT_CODE(refreshed, 2);
  EXPECT_NE(refreshed.stdout_text.find("read:pipeline:bitbucket"), std::string::npos)
      << refreshed.stdout_text;
}

TEST_F(CredentialTest, BadInputIsRefusedBeforeAnyRequest) {
  workspace_->WriteConfig(Provider() +
                          "resource \"arnica_bitbucket_credential\" \"bad\" {\n"
                          "  kind            = \"api_token\"\n"
                          "  principal       = \"" +
                          kSvcEmail +
                          "\"\n"
                          "  secret_wo       = \"x\"\n"
                          "  secret          = \"y\"\n"
                          "  required_scopes = [\"repository\", \"read:repo:bitbucket\"]\n}\n"
                          "resource \"arnica_bitbucket_credential\" \"kind\" {\n"
                          "  kind      = \"oauth\"\n  secret_wo = \"x\"\n}\n"
                          "resource \"arnica_bitbucket_credential\" \"nulls\" {\n"
                          "  principal       = \"" +
                          kSvcEmail +
                          "\"\n  secret_wo       = \"x\"\n"
                          "  required_scopes = [\"read:user:bitbucket\", null]\n}\n"
                          "output \"f\" {\n"
                          "  value = provider::arnica::required_scopes(\"pat\")\n}\n");
  auto plan = workspace_->Tofu({"plan"});
  EXPECT_EXIT_CODE(plan, 1);
  for (const char* expected :
       {"Conflicting Secrets", "Unknown Bitbucket Scope", "read:repository:bitbucket",
        "Scope Needed to Verify the Token", "Unknown Credential Kind",
        "\"pat\" is not a credential kind", "Null Scope"}) {
    EXPECT_NE(plan.Output().find(expected), std::string::npos) << expected << "\n" << plan.Output();
  }
  EXPECT_EQ(emulators_->Count(Service::kBitbucket, "", ""), 0);
}

// A malformed API root is the provider block's mistake, named there, not a failed request
// blamed on the resource.
TEST_F(CredentialTest, AMalformedApiRootIsNamedInTheProviderBlock) {
  workspace_->WriteConfig(
      "provider \"arnica\" {\n  bitbucket {\n    base_url = \"not a url\"\n  }\n}\n" +
      CredentialBlock("svc", "api_token", kSvcEmail));
  auto plan = workspace_->Tofu({"plan"}, {{"TF_VAR_svc", Token("svc-token")}});
  EXPECT_EXIT_CODE(plan, 1);
  EXPECT_NE(plan.Output().find("Invalid Service URL"), std::string::npos) << plan.Output();
  EXPECT_NE(plan.Output().find("bitbucket.base_url"), std::string::npos);
}

}  // namespace
}  // namespace arnica::e2e
