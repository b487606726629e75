// End-to-end: OpenTofu reads data "arnica_bitbucket_user" from the release build against the
// Bitbucket emulator (in this process, on 127.0.0.1): by UUID, by account id and by e-mail, a
// user that is not found, an e-mail lookup by a credential that does not administer the
// workspace, and configurations that fail validation.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "tests/e2e/tofu_harness.h"
#include "tests/emulators/emulator.h"

namespace arnica::e2e {
namespace {

namespace fs = std::filesystem;
using emulators::Emulators;
using emulators::Service;
using nlohmann::json;

constexpr char kCanary[] = "CANARY-e2e-u7c2";
constexpr char kOwner[] = "{5e1c0a00-0000-4000-8000-00000000b001}";
constexpr char kSvc[] = "{5e1c0a00-0000-4000-8000-00000000b002}";
constexpr char kOutsider[] = "{5e1c0a00-0000-4000-8000-00000000b003}";

std::string Secret(const std::string& name) { return name + "-" + kCanary; }

json SeedUser(const char* uuid, const std::string& name, const std::string& display_name) {
  return {{"uuid", uuid},
          {"account_id", "557058:" + name},
          {"username", name},
          {"display_name", display_name},
          {"emails", {{{"email", name + "@example.test"}}}}};
}

// ws-a: the consumer's user owns it, svc is a plain member; the outsider is in no workspace.
json Seed() {
  json workspace = {{"uuid", "{7a000000-0000-4000-8000-0000000000b1}"},
                    {"slug", "ws-a"},
                    {"members", {{{"user", kOwner}, {"permission", "owner"}}, {{"user", kSvc}}}}};
  return {{"users",
           {SeedUser(kOwner, "owner", "Workspace Owner"), SeedUser(kSvc, "svc", "Arnica Service"),
            SeedUser(kOutsider, "outsider", "Someone Else")}},
          {"workspaces", {workspace}},
          {"credentials",
           {{{"id", "consumer"},
             {"kind", "oauth_consumer"},
             {"user", kOwner},
             {"client_id", "consumer-key"},
             {"secret", Secret("consumer-secret")},
             {"scopes", {"account"}}},
            {{"id", "svc-token"},
             {"kind", "api_token"},
             {"user", kSvc},
             {"secret", Secret("svc-token")},
             {"scopes", {"read:user:bitbucket", "read:workspace:bitbucket"}}}}}};
}

// The host's output with its box drawing dropped and every run of whitespace one space, so that
// a search does not depend on where the host wrapped a diagnostic.
std::string Flat(const CommandResult& result) {
  std::string text = absl::StrReplaceAll(result.Output(), {{"\u2502", " "}});
  return absl::StrJoin(absl::StrSplit(text, absl::ByAnyChar(" \n\t"), absl::SkipEmpty()), " ");
}

std::string UserBlock(const std::string& name, const std::string& arguments) {
  return "data \"arnica_bitbucket_user\" \"" + name + "\" {\n" + arguments + "}\n";
}

class UserDataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(TofuBinary().empty()) << "ARNICA_TOFU must name an OpenTofu binary.";
    auto started = Emulators::Start({.seed = Seed()});
    ASSERT_TRUE(started.ok()) << started.status();
    emulators_ = *std::move(started);
    workspace_ = std::make_unique<Workspace>(fs::path(ARNICA_RELEASE_DIR));
  }

  // The workspace owner's OAuth consumer.
  std::string Provider() const {
    std::string bitbucket = emulators_->url(Service::kBitbucket);
    return "provider \"arnica\" {\n  bitbucket {\n    base_url            = \"" + bitbucket +
           "\"\n    oauth_client_id     = \"consumer-key\"\n    oauth_client_secret = \"" +
           Secret("consumer-secret") + "\"\n    oauth_token_url     = \"" + bitbucket +
           "/site/oauth2/access_token\"\n  }\n}\n\n";
  }

  // svc's API token: a plain member of ws-a.
  std::string MemberProvider() const {
    return "provider \"arnica\" {\n  bitbucket {\n    base_url  = \"" +
           emulators_->url(Service::kBitbucket) +
           "\"\n    email     = \"svc@example.test\"\n    api_token = \"" + Secret("svc-token") +
           "\"\n  }\n}\n\n";
  }

  CommandResult Plan() { return workspace_->Tofu({"plan", "-detailed-exitcode"}); }

  std::unique_ptr<Emulators> emulators_;
  std::unique_ptr<Workspace> workspace_;
};

void ExpectUser(const json& user, const char* uuid, const std::string& name,
                const std::string& display_name) {
  EXPECT_EQ(user["uuid"], uuid) << user.dump();
  EXPECT_EQ(user["account_id"], "557058:" + name) << user.dump();
  EXPECT_EQ(user["nickname"], name) << user.dump();
  EXPECT_EQ(user["display_name"], display_name) << user.dump();
}

TEST_F(UserDataTest, ReadsByBareUpperCaseUuidByAccountIdAndByEmail) {
  workspace_->WriteConfig(
      Provider() + UserBlock("by_uuid", "  uuid = \"5E1C0A00-0000-4000-8000-00000000B002\"\n") +
      UserBlock("by_account", "  account_id = \"557058:svc\"\n") +
      UserBlock("by_email", "  email     = \"SVC@Example.TEST\"\n  workspace = \"ws-a\"\n") +
      UserBlock("outsider", "  uuid = \"{5E1C0A00-0000-4000-8000-00000000B003}\"\n") +
      "output \"users\" {\n  value = [data.arnica_bitbucket_user.by_uuid, "
      "data.arnica_bitbucket_user.by_account, data.arnica_bitbucket_user.by_email, "
      "data.arnica_bitbucket_user.outsider]\n}\n");
  ASSERT_EXIT_CODE(workspace_->Tofu({"apply", "-auto-approve"}), 0);

  json users = ParseHostJson(workspace_->Tofu({"output", "-json"}).stdout_text)["users"]["value"];
  ASSERT_EQ(users.size(), 4u) << users.dump();
  for (int i = 0; i < 3; ++i) ExpectUser(users[i], kSvc, "svc", "Arnica Service");
  EXPECT_EQ(users[2]["email"], "SVC@Example.TEST");
  EXPECT_EQ(users[2]["workspace"], "ws-a");
  ExpectUser(users[3], kOutsider, "outsider", "Someone Else");  // public profile
  EXPECT_EQ(emulators_->Count(Service::kBitbucket, "GET", "/2.0/workspaces/ws-a/members"), 1);

  EXPECT_EXIT_CODE(Plan(), 0);  // read again, nothing changes
  EXPECT_EQ(workspace_->EverythingWritten().find(kCanary), std::string::npos);
  EXPECT_EQ(workspace_->history().find(kCanary), std::string::npos);
}

TEST_F(UserDataTest, AUserNotFoundFailsThePlanNamingTheInput) {
  workspace_->WriteConfig(
      Provider() + UserBlock("gone", "  uuid = \"{5e1c0a00-0000-4000-8000-00000000b009}\"\n"));
  CommandResult by_uuid = Plan();
  EXPECT_EXIT_CODE(by_uuid, 1);
  EXPECT_NE(by_uuid.Output().find("Bitbucket User Not Found"), std::string::npos)
      << by_uuid.Output();
  EXPECT_NE(by_uuid.Output().find("{5e1c0a00-0000-4000-8000-00000000b009}"), std::string::npos);

  // The outsider exists, but not among ws-a's members.
  workspace_->WriteConfig(Provider() + UserBlock("outsider",
                                                 "  email     = \"outsider@example.test\"\n"
                                                 "  workspace = \"ws-a\"\n"));
  CommandResult by_email = Plan();
  EXPECT_EXIT_CODE(by_email, 1);
  std::string output = Flat(by_email);
  EXPECT_NE(output.find("Bitbucket User Not Found"), std::string::npos) << output;
  EXPECT_NE(output.find("outsider@example.test"), std::string::npos) << output;
  EXPECT_NE(output.find("member of ws-a"), std::string::npos) << output;
  EXPECT_NE(output.find("administrators"), std::string::npos) << output;
}

TEST_F(UserDataTest, AnEmailLookupByAPlainMemberSaysAdministratorsOnly) {
  workspace_->WriteConfig(MemberProvider() + UserBlock("owner",
                                                       "  email     = \"owner@example.test\"\n"
                                                       "  workspace = \"ws-a\"\n"));
  CommandResult refused = Plan();
  EXPECT_EXIT_CODE(refused, 1);
  std::string output = Flat(refused);
  EXPECT_NE(output.find("Cannot Look Up User By E-mail"), std::string::npos) << output;
  EXPECT_NE(output.find("Bitbucket refused the e-mail lookup in ws-a (HTTP 400: "),
            std::string::npos)
      << output;
  EXPECT_NE(output.find("only for administrators of the workspace"), std::string::npos) << output;
  EXPECT_NE(output.find("read the user by `uuid` or `account_id`"), std::string::npos) << output;
  EXPECT_EQ(workspace_->history().find(kCanary), std::string::npos);
}

// `tofu validate` sees variables as unknown; a selector that turns out null is no conflict.
TEST_F(UserDataTest, ASelectorFromANullVariableIsNoConflict) {
  workspace_->WriteConfig(Provider() + "variable \"uuid\" {\n  default = null\n}\n" +
                          UserBlock("svc",
                                    "  uuid       = var.uuid\n"
                                    "  account_id = \"557058:svc\"\n") +
                          "output \"uuid\" {\n  value = data.arnica_bitbucket_user.svc.uuid\n}\n");
  EXPECT_EXIT_CODE(workspace_->Tofu({"validate"}), 0);
  ASSERT_EXIT_CODE(workspace_->Tofu({"apply", "-auto-approve"}), 0);
  json outputs = ParseHostJson(workspace_->Tofu({"output", "-json"}).stdout_text);
  EXPECT_EQ(outputs["uuid"]["value"], kSvc) << outputs.dump();

  CommandResult both = workspace_->Tofu({"plan", "-var", std::string("uuid=") + kSvc});
  EXPECT_EXIT_CODE(both, 1);
  EXPECT_NE(both.Output().find("Conflicting User Selectors"), std::string::npos) << both.Output();
}

TEST_F(UserDataTest, InvalidCombinationsFailValidationAtTheAttribute) {
  workspace_->WriteConfig(Provider() +
                          UserBlock("both", "  uuid      = \"" + std::string(kSvc) +
                                                "\"\n  email     = \"svc@example.test\"\n"
                                                "  workspace = \"ws-a\"\n"));
  CommandResult both = workspace_->Tofu({"validate"});
  EXPECT_EXIT_CODE(both, 1);
  EXPECT_NE(both.Output().find("Conflicting User Selectors"), std::string::npos) << both.Output();
  EXPECT_NE(both.Output().find("with data.arnica_bitbucket_user.both"), std::string::npos)
      << both.Output();
  EXPECT_NE(both.Output().find("email     = \"svc@example.test\""), std::string::npos)
      << both.Output();

  workspace_->WriteConfig(Provider() + UserBlock("stray",
                                                 "  account_id = \"557058:svc\"\n"
                                                 "  workspace  = \"ws-a\"\n"));
  CommandResult stray = workspace_->Tofu({"validate"});
  EXPECT_EXIT_CODE(stray, 1);
  EXPECT_NE(stray.Output().find("Workspace Without E-mail"), std::string::npos) << stray.Output();
  EXPECT_NE(stray.Output().find("workspace  = \"ws-a\""), std::string::npos) << stray.Output();

  workspace_->WriteConfig(Provider() + UserBlock("none", ""));
  CommandResult none = workspace_->Tofu({"plan"});
  EXPECT_EXIT_CODE(none, 1);
  EXPECT_NE(none.Output().find("Missing User Selector"), std::string::npos) << none.Output();
  EXPECT_EQ(emulators_->Count(Service::kBitbucket, "GET", "/2.0/users/*"), 0);
}

}  // namespace
}  // namespace arnica::e2e
