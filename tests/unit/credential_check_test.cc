// The service account's credential check: the default least-privilege scope table and how
// granted scopes compare with required ones (provider/resources/scopes.h), the secret's
// fingerprint, and VerifyCredential against the Bitbucket emulator in process on 127.0.0.1,
// one diagnostic per known mistake. Every secret in the seed carries a canary, and no diagnostic
// may show it.
#include "provider/resources/credential_check.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "provider/resources/scopes.h"
#include "provider/tf/diagnostics.h"
#include "tests/emulators/emulator.h"
#include "tests/unit/http_test_support.h"

namespace arnica::resources {
namespace {

using emulators::Emulators;
using emulators::Service;
using nlohmann::json;
using Scopes = std::vector<std::string>;

// --- The scope table ---------------------------------------------------------------------------

TEST(ScopeTable, ApiTokenDefaultsAreTheGranularNamesInTableOrder) {
  EXPECT_EQ(DefaultScopes("api_token"),
            (Scopes{"read:user:bitbucket", "read:workspace:bitbucket", "read:project:bitbucket",
                    "read:repository:bitbucket", "read:pullrequest:bitbucket",
                    "write:pullrequest:bitbucket", "read:webhook:bitbucket",
                    "write:webhook:bitbucket", "delete:webhook:bitbucket"}));
}

TEST(ScopeTable, AppPasswordDefaultsAreTheClassicNames) {
  EXPECT_EQ(DefaultScopes("app_password"),
            (Scopes{"account", "team", "project", "repository", "pullrequest:write", "webhook"}));
}

TEST(ScopeTable, AccessTokenDefaultsOmitTheAccountLevelScopes) {
  Scopes defaults = DefaultScopes("access_token");
  EXPECT_EQ(defaults, (Scopes{"project", "repository", "pullrequest:write", "webhook"}));
  for (const ScopeNeed& need : ArnicaScopeNeeds()) {
    if (!need.account_level) continue;
    for (std::string_view scope : need.classic) {
      EXPECT_EQ(std::count(defaults.begin(), defaults.end(), scope), 0) << scope;
    }
  }
}

TEST(ScopeTable, UnknownKindHasNoDefaults) {
  EXPECT_TRUE(DefaultScopes("oauth_consumer").empty());
  EXPECT_TRUE(DefaultScopes("").empty());
  EXPECT_TRUE(DefaultScopes("API_TOKEN").empty());
  EXPECT_FALSE(IsCredentialKind("oauth_consumer"));
}

TEST(ScopeTable, EveryDefaultScopeIsKnownInItsKindsSpelling) {
  for (const char* kind : {kKindApiToken, kKindAppPassword, kKindAccessToken}) {
    ASSERT_FALSE(DefaultScopes(kind).empty()) << kind;
    for (const std::string& scope : DefaultScopes(kind)) {
      EXPECT_TRUE(IsKnownScope(kind, scope)) << kind << ": " << scope;
    }
  }
}

TEST(ScopeTable, AScopeIsKnownOnlyInItsOwnSpelling) {
  EXPECT_TRUE(IsKnownScope("api_token", "read:repository:bitbucket"));
  EXPECT_FALSE(IsKnownScope("api_token", "repository"));
  EXPECT_TRUE(IsKnownScope("app_password", "repository"));
  EXPECT_FALSE(IsKnownScope("app_password", "read:repository:bitbucket"));
  EXPECT_FALSE(IsKnownScope("access_token", "read:repository:bitbucket"));
  EXPECT_FALSE(IsKnownScope("api_token", "read:repositories:bitbucket"));
  EXPECT_FALSE(IsKnownScope("app_password", "Repository"));
  EXPECT_FALSE(IsKnownScope("app_password", ""));
}

TEST(ScopeTable, IdentityScopeIsTheOneGetUserNeeds) {
  EXPECT_EQ(IdentityScope("api_token"), "read:user:bitbucket");
  EXPECT_EQ(IdentityScope("app_password"), "account");
  EXPECT_EQ(IdentityScope("access_token"), "");
  EXPECT_TRUE(UsesGranularScopes("api_token"));
  EXPECT_FALSE(UsesGranularScopes("app_password"));
  EXPECT_FALSE(UsesGranularScopes("access_token"));
}

TEST(ScopeSpelling, OtherSpellingRoundTrips) {
  EXPECT_EQ(OtherSpelling("repository"), "read:repository:bitbucket");
  EXPECT_EQ(OtherSpelling("read:repository:bitbucket"), "repository");
  EXPECT_EQ(OtherSpelling("pullrequest:write"), "write:pullrequest:bitbucket");
  EXPECT_EQ(OtherSpelling("team"), "read:workspace:bitbucket");
  // Every classic default has a granular counterpart, and back again.
  for (const std::string& scope : DefaultScopes(kKindAppPassword)) {
    std::optional<std::string> other = OtherSpelling(scope);
    ASSERT_TRUE(other.has_value()) << scope;
    EXPECT_TRUE(IsKnownScope(kKindApiToken, *other)) << *other;
    EXPECT_EQ(OtherSpelling(*other), scope) << scope << " -> " << *other;
  }
  // Granular defaults that have one map back to a known classic name that maps to them.
  int granular_with_counterpart = 0;
  for (const std::string& scope : DefaultScopes(kKindApiToken)) {
    std::optional<std::string> other = OtherSpelling(scope);
    if (!other) continue;
    ++granular_with_counterpart;
    EXPECT_TRUE(IsKnownScope(kKindAppPassword, *other)) << *other;
    EXPECT_EQ(OtherSpelling(*other), scope) << scope << " -> " << *other;
  }
  EXPECT_EQ(granular_with_counterpart, 7);
}

TEST(ScopeSpelling, ScopesWithoutASingleCounterpartAreNullopt) {
  // Classic `webhook` answers for read, write and delete; it is the counterpart of the read.
  EXPECT_EQ(OtherSpelling("webhook"), "read:webhook:bitbucket");
  EXPECT_EQ(OtherSpelling("write:webhook:bitbucket"), std::nullopt);
  EXPECT_EQ(OtherSpelling("delete:webhook:bitbucket"), std::nullopt);
}

TEST(ScopeSpelling, NoCounterpartIsNullopt) {
  EXPECT_EQ(OtherSpelling("email"), std::nullopt);
  EXPECT_EQ(OtherSpelling("no-such-scope"), std::nullopt);
  EXPECT_EQ(OtherSpelling(""), std::nullopt);
}

// --- Comparing granted with required -----------------------------------------------------------

TEST(ScopeCompare, ExactGrantHasNothingMissingOrExtra) {
  ScopeComparison same =
      CompareScopes("api_token", DefaultScopes("api_token"), DefaultScopes("api_token"));
  EXPECT_TRUE(same.missing.empty());
  EXPECT_TRUE(same.extra.empty());
}

TEST(ScopeCompare, GranularNamesNeverImplyEachOther) {
  ScopeComparison c =
      CompareScopes("api_token", {"write:repository:bitbucket"}, {"read:repository:bitbucket"});
  EXPECT_EQ(c.missing, (Scopes{"read:repository:bitbucket"}));
  EXPECT_EQ(c.extra, (Scopes{"write:repository:bitbucket"}));

  ScopeComparison reverse =
      CompareScopes("api_token", {"read:repository:bitbucket"}, {"admin:repository:bitbucket"});
  EXPECT_EQ(reverse.missing, (Scopes{"admin:repository:bitbucket"}));
  EXPECT_EQ(reverse.extra, (Scopes{"read:repository:bitbucket"}));
}

TEST(ScopeCompare, ClassicWriteScopeCoversItsReadScope) {
  // pullrequest:write required; a token with it and pullrequest has nothing extra.
  ScopeComparison c =
      CompareScopes("app_password", {"pullrequest", "pullrequest:write"}, {"pullrequest:write"});
  EXPECT_TRUE(c.missing.empty()) << c.missing.front();
  EXPECT_TRUE(c.extra.empty()) << c.extra.front();

  // Required pullrequest is held by a granted pullrequest:write, which is more than required.
  ScopeComparison held = CompareScopes("app_password", {"pullrequest:write"}, {"pullrequest"});
  EXPECT_TRUE(held.missing.empty());
  EXPECT_EQ(held.extra, (Scopes{"pullrequest:write"}));

  // The read scope does not stand in for the write scope.
  ScopeComparison weaker = CompareScopes("app_password", {"pullrequest"}, {"pullrequest:write"});
  EXPECT_EQ(weaker.missing, (Scopes{"pullrequest:write"}));
}

TEST(ScopeCompare, ClassicPrefixMatchesWholeNamesOnly) {
  // `repository:write` includes `repository`, not every name that `repository` starts with.
  ScopeComparison c = CompareScopes("app_password", {"repository:write"}, {"repo"});
  EXPECT_EQ(c.missing, (Scopes{"repo"}));
  EXPECT_EQ(c.extra, (Scopes{"repository:write"}));
}

TEST(ScopeCompare, ExtraGrantedScopeIsReported) {
  Scopes granted = DefaultScopes("api_token");
  granted.push_back("admin:repository:bitbucket");
  ScopeComparison c = CompareScopes("api_token", granted, DefaultScopes("api_token"));
  EXPECT_TRUE(c.missing.empty());
  EXPECT_EQ(c.extra, (Scopes{"admin:repository:bitbucket"}));
}

TEST(ScopeCompare, DuplicatesAreReportedOnce) {
  ScopeComparison c = CompareScopes(
      "api_token", {"read:user:bitbucket", "write:user:bitbucket", "write:user:bitbucket"},
      {"read:user:bitbucket", "read:workspace:bitbucket", "read:workspace:bitbucket"});
  EXPECT_EQ(c.missing, (Scopes{"read:workspace:bitbucket"}));
  EXPECT_EQ(c.extra, (Scopes{"write:user:bitbucket"}));
}

// scopes.h: "Classic write and admin scopes include their read scope". `repository:delete` and
// `pipeline:variable` are neither, and the emulator (which lets only account:write and
// team:write stand in for a read scope) does not let them read repositories or pipelines.
TEST(ScopeCompare, ClassicScopesThatAreNeitherWriteNorAdminDoNotCoverTheReadScope) {
  ScopeComparison deleting = CompareScopes("app_password", {"repository:delete"}, {"repository"});
  EXPECT_EQ(deleting.missing, (Scopes{"repository"}));
  ScopeComparison variables = CompareScopes("app_password", {"pipeline:variable"}, {"pipeline"});
  EXPECT_EQ(variables.missing, (Scopes{"pipeline"}));
}

// --- Fingerprints and identifiers --------------------------------------------------------------

constexpr char kFingerprintSecret[] = "ATATT3xFINGERPRINT-CANARY-91d4";

TEST(Fingerprint, SameSecretAndSaltGiveTheSameFingerprint) {
  std::string salt = NewFingerprintSalt();
  EXPECT_EQ(Fingerprint(kFingerprintSecret, salt), Fingerprint(kFingerprintSecret, salt));
}

TEST(Fingerprint, AnotherSecretOrAnotherSaltGivesAnotherFingerprint) {
  std::string salt = "0123456789abcdef";
  std::string base = Fingerprint(kFingerprintSecret, salt);
  EXPECT_NE(base, Fingerprint(absl::StrCat(kFingerprintSecret, "x"), salt));
  EXPECT_NE(base, Fingerprint("", salt));
  EXPECT_NE(base, Fingerprint(kFingerprintSecret, "0123456789abcdee"));
  EXPECT_NE(base, Fingerprint(kFingerprintSecret, NewFingerprintSalt()));
}

TEST(Fingerprint, HasTheDocumentedFormatAndHidesTheSecret) {
  std::string fingerprint = Fingerprint(kFingerprintSecret, NewFingerprintSalt());
  EXPECT_TRUE(std::regex_match(fingerprint, std::regex("v1:[0-9a-f]{16}:[0-9a-f]{32}")))
      << fingerprint;
  EXPECT_FALSE(absl::StrContains(fingerprint, "CANARY")) << fingerprint;
  EXPECT_FALSE(absl::StrContains(fingerprint, "ATATT")) << fingerprint;
}

// Pins the algorithm: a stored fingerprint must still match its secret after an upgrade. The
// expected digest is PBKDF2-HMAC-SHA256("hunter2", salt = the 16 ASCII bytes of the salt's hex
// text, 100000 rounds), first 16 bytes, computed independently with Python's hashlib.
TEST(Fingerprint, KnownAnswer) {
  EXPECT_EQ(kFingerprintIterations, 100000);
  EXPECT_EQ(Fingerprint("hunter2", "0123456789abcdef"),
            "v1:0123456789abcdef:fb0c308bd80cfde00997bb9d6cd16e24");
}

TEST(Fingerprint, SaltRoundTrips) {
  std::string salt = NewFingerprintSalt();
  EXPECT_TRUE(std::regex_match(salt, std::regex("[0-9a-f]{16}"))) << salt;
  EXPECT_EQ(FingerprintSalt(Fingerprint(kFingerprintSecret, salt)), salt);
  EXPECT_NE(NewFingerprintSalt(), salt);
}

TEST(Fingerprint, SaltOfJunkIsNullopt) {
  const std::string digest(32, 'a');
  for (const std::string& junk : {
           std::string(),
           std::string("v1"),
           std::string(kFingerprintSecret),
           absl::StrCat("v1:0123456789abcdef"),
           absl::StrCat("v2:0123456789abcdef:", digest),
           absl::StrCat("V1:0123456789abcdef:", digest),
           absl::StrCat("v1:0123456789abcde:", digest),
           absl::StrCat("v1:0123456789abcdef0:", digest),
           absl::StrCat("v1:0123456789abcdef:", digest, ":extra"),
           absl::StrCat(":v1:0123456789abcdef:", digest),
       }) {
    EXPECT_EQ(FingerprintSalt(junk), std::nullopt) << junk;
  }
}

// credential_check.h: "The salt of a fingerprint this code wrote; nullopt for anything else."
// This code writes a hex salt and a 32-digit hex digest.
TEST(Fingerprint, SaltOfAMalformedV1FingerprintIsNullopt) {
  const std::string digest(32, 'a');
  EXPECT_EQ(FingerprintSalt(absl::StrCat("v1:zzzzzzzzzzzzzzzz:", digest)), std::nullopt);
  EXPECT_EQ(FingerprintSalt("v1:0123456789abcdef:"), std::nullopt);
  EXPECT_EQ(FingerprintSalt("v1:0123456789abcdef:not-a-digest"), std::nullopt);
}

TEST(CredentialId, IsThirtyTwoHexDigitsAndFreshEachTime) {
  std::set<std::string> seen;
  for (int i = 0; i < 8; ++i) {
    std::string id = NewCredentialId();
    EXPECT_TRUE(std::regex_match(id, std::regex("[0-9a-f]{32}"))) << id;
    EXPECT_TRUE(seen.insert(id).second) << id;
  }
}

// --- The principal, before any request ---------------------------------------------------------

std::string Summaries(const tf::Diagnostics& diagnostics) {
  std::string out;
  for (const tf::Diagnostic& d : diagnostics) absl::StrAppend(&out, "[", d.summary, "] ");
  return out;
}

std::string PathOf(const tf::Diagnostic& diagnostic) {
  return diagnostic.attribute ? diagnostic.attribute->ToString() : "(none)";
}

TEST(CredentialPrincipal, EachKindTakesItsOwnForm) {
  struct Case {
    const char* kind;
    std::optional<std::string> principal;
    const char* summary;  // "" when the principal fits
  };
  const Case cases[] = {
      {"api_token", "svc@example.test", ""},
      {"api_token", "arnica-svc", "Username Given Instead of E-mail"},
      {"api_token", std::nullopt, "Principal Required"},
      {"api_token", "", "Principal Required"},
      {"app_password", "arnica-svc", ""},
      {"app_password", "svc@example.test", "E-mail Given Instead of Username"},
      {"app_password", std::nullopt, "Principal Required"},
      {"access_token", std::nullopt, ""},
      {"access_token", "", ""},
      {"access_token", "svc@example.test", "Access Tokens Have No Principal"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(absl::StrCat(c.kind, " / ", c.principal.value_or("(null)")));
    tf::Diagnostics diagnostics;
    CheckPrincipal(c.kind, c.principal, diagnostics);
    if (std::string_view(c.summary).empty()) {
      EXPECT_TRUE(diagnostics.empty()) << Summaries(diagnostics);
      continue;
    }
    ASSERT_EQ(diagnostics.size(), 1u) << Summaries(diagnostics);
    EXPECT_EQ(diagnostics.items()[0].summary, c.summary);
    EXPECT_EQ(PathOf(diagnostics.items()[0]), "principal");
    EXPECT_TRUE(diagnostics.HasError());
  }
}

// --- VerifyCredential against the Bitbucket emulator -------------------------------------------

// Every secret in the seed contains this, so one search finds any of them in any diagnostic.
constexpr char kCanary[] = "CANARY-c3e9";

std::string Secret(const std::string& name) { return absl::StrCat(name, "-", kCanary); }

constexpr char kServiceUser[] = "{5d2a0c4e-1111-4a4a-8a8a-000000000001}";
constexpr char kServiceAccountId[] = "557058:arnica-svc";
constexpr char kServiceEmail[] = "arnica-svc@example.test";
constexpr char kServiceUsername[] = "arnica-svc";

json Seed() {
  return {{"users",
           {{{"uuid", kServiceUser},
             {"account_id", kServiceAccountId},
             {"username", kServiceUsername},
             {"emails", {{{"email", kServiceEmail}}}}}}},
          {"workspaces",
           {{{"uuid", "{7e000000-0000-4000-8000-000000000001}"},
             {"slug", "ws-1"},
             {"members", {{{"user", kServiceUser}}}}}}},
          {"credentials",
           {{{"id", "svc-token"},
             {"kind", "api_token"},
             {"user", kServiceUser},
             {"secret", Secret("ATATT3xSVC")},
             {"scopes", DefaultScopes("api_token")}},
            {{"id", "svc-app-password"},
             {"kind", "app_password"},
             {"user", kServiceUser},
             {"secret", Secret("app-pw")},
             {"scopes", DefaultScopes("app_password")}},
            {{"id", "ws-token"},
             {"kind", "access_token"},
             {"workspace", "ws-1"},
             {"token_type", "workspace"},
             {"secret", Secret("ATCTT3xWS")},
             {"scopes", DefaultScopes("access_token")}}}}};
}

CredentialCheck ApiTokenCheck() {
  return {.kind = "api_token",
          .principal = kServiceEmail,
          .secret = Secret("ATATT3xSVC"),
          .secret_attribute = "secret_wo",
          .required_scopes = DefaultScopes("api_token")};
}

CredentialCheck AppPasswordCheck() {
  return {.kind = "app_password",
          .principal = kServiceUsername,
          .secret = Secret("app-pw"),
          .secret_attribute = "secret_wo",
          .required_scopes = DefaultScopes("app_password")};
}

CredentialCheck AccessTokenCheck() {
  return {.kind = "access_token",
          .secret = Secret("ATCTT3xWS"),
          .secret_attribute = "secret_wo",
          .required_scopes = DefaultScopes("access_token")};
}

Scopes Sorted(Scopes scopes) {
  std::sort(scopes.begin(), scopes.end());
  return scopes;
}

Scopes Without(Scopes scopes, const std::string& scope) {
  scopes.erase(std::remove(scopes.begin(), scopes.end(), scope), scopes.end());
  return scopes;
}

Scopes With(Scopes scopes, const std::string& scope) {
  scopes.push_back(scope);
  return scopes;
}

class CredentialCheckTest : public testing::Test {
 protected:
  void SetUp() override {
    auto started = Emulators::Start({.seed = Seed()});
    ASSERT_TRUE(started.ok()) << started.status();
    emulators_ = *std::move(started);
  }

  void Apply(const json& op) {
    absl::Status status = emulators_->Apply(op);
    ASSERT_TRUE(status.ok()) << status << " for " << op.dump();
  }

  void SetScopes(const std::string& credential, const Scopes& scopes) {
    Apply({{"op", "set_scopes"}, {"credential", credential}, {"scopes", scopes}});
  }

  // Runs the check with a client that does not retry; every diagnostic is checked for the
  // canary here, whatever the test goes on to assert.
  std::optional<VerifiedCredential> Verify(const CredentialCheck& check) {
    diagnostics_ = tf::Diagnostics();
    auto http = std::make_shared<http::Client>(http::test_support::FastRetries(1));
    std::optional<VerifiedCredential> verified = VerifyCredential(
        std::move(http), emulators_->url(Service::kBitbucket), check, {}, diagnostics_);
    for (const tf::Diagnostic& d : diagnostics_) {
      EXPECT_FALSE(absl::StrContains(d.summary, kCanary)) << d.summary;
      EXPECT_FALSE(absl::StrContains(d.detail, kCanary)) << d.summary << ": " << d.detail;
    }
    return verified;
  }

  // The one error diagnostic a refused check gives; fails the test when there is not exactly one.
  const tf::Diagnostic& OnlyError() {
    static const tf::Diagnostic kNone;
    EXPECT_EQ(diagnostics_.size(), 1u) << Summaries(diagnostics_);
    if (diagnostics_.empty()) return kNone;
    EXPECT_EQ(diagnostics_.items()[0].severity, tf::Severity::kError);
    return diagnostics_.items()[0];
  }

  int UserCalls() const { return emulators_->Count(Service::kBitbucket, "GET", "/2.0/user"); }

  std::unique_ptr<Emulators> emulators_;
  tf::Diagnostics diagnostics_;
};

TEST_F(CredentialCheckTest, ApiTokenWithExactlyTheDefaultScopesIsVerified) {
  std::optional<VerifiedCredential> verified = Verify(ApiTokenCheck());
  ASSERT_TRUE(verified.has_value()) << Summaries(diagnostics_);
  EXPECT_TRUE(diagnostics_.empty()) << Summaries(diagnostics_);
  EXPECT_EQ(verified->credential_type, "api_token");
  EXPECT_EQ(verified->account_uuid, kServiceUser);
  EXPECT_EQ(verified->account_id, kServiceAccountId);
  EXPECT_EQ(verified->granted_scopes, Sorted(DefaultScopes("api_token")));
  EXPECT_EQ(UserCalls(), 1);
}

TEST_F(CredentialCheckTest, GrantedScopesAreSortedWithoutDuplicates) {
  Scopes scopes = DefaultScopes("api_token");
  std::reverse(scopes.begin(), scopes.end());
  scopes.push_back("read:user:bitbucket");
  SetScopes("svc-token", scopes);
  std::optional<VerifiedCredential> verified = Verify(ApiTokenCheck());
  ASSERT_TRUE(verified.has_value()) << Summaries(diagnostics_);
  EXPECT_EQ(verified->granted_scopes, Sorted(DefaultScopes("api_token")));
}

TEST_F(CredentialCheckTest, ExtraScopeIsRefusedAndNamed) {
  SetScopes("svc-token", With(DefaultScopes("api_token"), "admin:repository:bitbucket"));
  EXPECT_EQ(Verify(ApiTokenCheck()), std::nullopt);
  const tf::Diagnostic& d = OnlyError();
  EXPECT_EQ(d.summary, "Bitbucket Token Has More Scopes Than Required");
  EXPECT_EQ(PathOf(d), "secret_wo");
  EXPECT_TRUE(absl::StrContains(d.detail, "`admin:repository:bitbucket`")) << d.detail;
  EXPECT_FALSE(absl::StrContains(d.detail, "`read:user:bitbucket`")) << d.detail;
  EXPECT_TRUE(absl::StrContains(d.detail, "allow_extra_scopes")) << d.detail;
  EXPECT_TRUE(absl::StrContains(d.detail, "secret_wo_version")) << d.detail;
}

TEST_F(CredentialCheckTest, ExtraScopeIsAcceptedWhenAllowed) {
  SetScopes("svc-token", With(DefaultScopes("api_token"), "admin:repository:bitbucket"));
  CredentialCheck check = ApiTokenCheck();
  check.allow_extra_scopes = true;
  std::optional<VerifiedCredential> verified = Verify(check);
  ASSERT_TRUE(verified.has_value()) << Summaries(diagnostics_);
  EXPECT_TRUE(diagnostics_.empty()) << Summaries(diagnostics_);
  EXPECT_EQ(verified->granted_scopes,
            Sorted(With(DefaultScopes("api_token"), "admin:repository:bitbucket")));
  EXPECT_EQ(verified->account_uuid, kServiceUser);
}

TEST_F(CredentialCheckTest, MissingScopeIsRefusedAndNamed) {
  SetScopes("svc-token", Without(DefaultScopes("api_token"), "delete:webhook:bitbucket"));
  EXPECT_EQ(Verify(ApiTokenCheck()), std::nullopt);
  const tf::Diagnostic& d = OnlyError();
  EXPECT_EQ(d.summary, "Bitbucket Token Lacks Required Scopes");
  EXPECT_EQ(PathOf(d), "secret_wo");
  EXPECT_TRUE(absl::StrContains(d.detail, "`delete:webhook:bitbucket`")) << d.detail;
  EXPECT_FALSE(absl::StrContains(d.detail, "`write:webhook:bitbucket`")) << d.detail;
  EXPECT_TRUE(absl::StrContains(d.detail, "required_scopes(\"api_token\")")) << d.detail;
}

TEST_F(CredentialCheckTest, MissingScopeIsRefusedEvenWhenExtraScopesAreAllowed) {
  SetScopes("svc-token", With(Without(DefaultScopes("api_token"), "read:project:bitbucket"),
                              "write:repository:bitbucket"));
  CredentialCheck check = ApiTokenCheck();
  check.allow_extra_scopes = true;
  EXPECT_EQ(Verify(check), std::nullopt);
  const tf::Diagnostic& d = OnlyError();
  EXPECT_EQ(d.summary, "Bitbucket Token Lacks Required Scopes");
  EXPECT_TRUE(absl::StrContains(d.detail, "`read:project:bitbucket`")) << d.detail;
}

TEST_F(CredentialCheckTest, MissingAndExtraScopesAreBothReported) {
  SetScopes("svc-token", With(Without(DefaultScopes("api_token"), "read:project:bitbucket"),
                              "admin:project:bitbucket"));
  EXPECT_EQ(Verify(ApiTokenCheck()), std::nullopt);
  ASSERT_EQ(diagnostics_.size(), 2u) << Summaries(diagnostics_);
  EXPECT_EQ(diagnostics_.items()[0].summary, "Bitbucket Token Lacks Required Scopes");
  EXPECT_TRUE(absl::StrContains(diagnostics_.items()[0].detail, "`read:project:bitbucket`"));
  EXPECT_EQ(diagnostics_.items()[1].summary, "Bitbucket Token Has More Scopes Than Required");
  EXPECT_TRUE(absl::StrContains(diagnostics_.items()[1].detail, "`admin:project:bitbucket`"));
}

TEST_F(CredentialCheckTest, TokenThatCannotReadTheUserSaysWhichScopeToAdd) {
  SetScopes("svc-token", Without(DefaultScopes("api_token"), "read:user:bitbucket"));
  EXPECT_EQ(Verify(ApiTokenCheck()), std::nullopt);
  const tf::Diagnostic& d = OnlyError();
  EXPECT_EQ(d.summary, "Token Lacks read:user:bitbucket");
  EXPECT_EQ(PathOf(d), "secret_wo");
  // What the token grants, and what of required_scopes it lacks.
  EXPECT_TRUE(absl::StrContains(d.detail, "grants `delete:webhook:bitbucket`, ")) << d.detail;
  EXPECT_TRUE(absl::StrContains(d.detail, "`read:workspace:bitbucket`")) << d.detail;
  EXPECT_TRUE(absl::StrContains(d.detail, "it lacks `read:user:bitbucket`.")) << d.detail;
  // Bitbucket asked for exactly this scope, so there is no other name to explain.
  EXPECT_FALSE(absl::StrContains(d.detail, "own message names")) << d.detail;
  EXPECT_EQ(UserCalls(), 1);
}

TEST_F(CredentialCheckTest, RevokedTokenIsRefusedWithTheRotationSteps) {
  Apply({{"op", "revoke_credential"}, {"credential", "svc-token"}});
  EXPECT_EQ(Verify(ApiTokenCheck()), std::nullopt);
  const tf::Diagnostic& d = OnlyError();
  EXPECT_EQ(d.summary, "Bitbucket Refused the Credential");
  EXPECT_EQ(PathOf(d), "secret_wo");
  EXPECT_TRUE(absl::StrContains(d.detail, "revoked")) << d.detail;
  EXPECT_TRUE(absl::StrContains(d.detail, "expired")) << d.detail;
  EXPECT_TRUE(absl::StrContains(d.detail, "`secret_wo_version`")) << d.detail;
}

TEST_F(CredentialCheckTest, RevokedTokenInThePlainSecretAttributePointsThere) {
  Apply({{"op", "revoke_credential"}, {"credential", "svc-token"}});
  CredentialCheck check = ApiTokenCheck();
  check.secret_attribute = "secret";
  EXPECT_EQ(Verify(check), std::nullopt);
  const tf::Diagnostic& d = OnlyError();
  EXPECT_EQ(d.summary, "Bitbucket Refused the Credential");
  EXPECT_EQ(PathOf(d), "secret");
  EXPECT_TRUE(absl::StrContains(d.detail, "put it in `secret`")) << d.detail;
  EXPECT_FALSE(absl::StrContains(d.detail, "secret_wo")) << d.detail;
}

TEST_F(CredentialCheckTest, ApiTokenWithAUsernameIsRefusedWithoutARequest) {
  CredentialCheck check = ApiTokenCheck();
  check.principal = kServiceUsername;
  EXPECT_EQ(Verify(check), std::nullopt);
  const tf::Diagnostic& d = OnlyError();
  EXPECT_EQ(d.summary, "Username Given Instead of E-mail");
  EXPECT_EQ(PathOf(d), "principal");
  // Never quoted: a principal swapped with the secret would otherwise show the token.
  EXPECT_FALSE(absl::StrContains(d.detail, "arnica-svc")) << d.detail;
  EXPECT_EQ(UserCalls(), 0);
  EXPECT_TRUE(emulators_->Requests().empty());
}

TEST_F(CredentialCheckTest, AppPasswordIsRefusedWithTheRemovalDate) {
  EXPECT_EQ(Verify(AppPasswordCheck()), std::nullopt);
  const tf::Diagnostic& d = OnlyError();
  EXPECT_EQ(d.summary, "App Passwords No Longer Work");
  EXPECT_EQ(PathOf(d), "secret_wo");
  EXPECT_TRUE(absl::StrContains(d.detail, "2026-07-28")) << d.detail;
  EXPECT_TRUE(absl::StrContains(d.detail, "API token")) << d.detail;
  EXPECT_EQ(UserCalls(), 1);
}

TEST_F(CredentialCheckTest, AppPasswordWhereStillAcceptedIsVerifiedWithClassicScopes) {
  Apply({{"op", "set_option"}, {"name", "app_passwords"}, {"value", "accepted"}});
  SetScopes("svc-app-password", With(DefaultScopes("app_password"), "pullrequest"));
  std::optional<VerifiedCredential> verified = Verify(AppPasswordCheck());
  ASSERT_TRUE(verified.has_value()) << Summaries(diagnostics_);
  EXPECT_TRUE(diagnostics_.empty()) << Summaries(diagnostics_);
  EXPECT_EQ(verified->credential_type, "app_password");
  EXPECT_EQ(verified->account_uuid, kServiceUser);
  EXPECT_EQ(verified->granted_scopes, Sorted(With(DefaultScopes("app_password"), "pullrequest")));
}

TEST_F(CredentialCheckTest, AccessTokenGivenAsAnApiTokenIsExplained) {
  CredentialCheck check = ApiTokenCheck();
  check.secret = Secret("ATCTT3xWS");
  EXPECT_EQ(Verify(check), std::nullopt);
  const tf::Diagnostic& d = OnlyError();
  EXPECT_EQ(d.summary, "Access Token Given Where an Account Is Needed");
  EXPECT_EQ(PathOf(d), "secret_wo");
  EXPECT_TRUE(absl::StrContains(d.detail, "e-mail")) << d.detail;
  EXPECT_EQ(UserCalls(), 1);
}

TEST_F(CredentialCheckTest, ApiTokenGivenAsAnAccessTokenIsExplained) {
  CredentialCheck check = AccessTokenCheck();
  check.secret = Secret("ATATT3xSVC");
  EXPECT_EQ(Verify(check), std::nullopt);
  const tf::Diagnostic& d = OnlyError();
  EXPECT_EQ(d.summary, "API Token Given as an Access Token");
  EXPECT_EQ(PathOf(d), "secret_wo");
}

TEST_F(CredentialCheckTest, WorkspaceAccessTokenIsVerifiedFromTheRefusalsHeaders) {
  std::optional<VerifiedCredential> verified = Verify(AccessTokenCheck());
  ASSERT_TRUE(verified.has_value()) << Summaries(diagnostics_);
  EXPECT_TRUE(diagnostics_.empty()) << Summaries(diagnostics_);
  EXPECT_EQ(verified->credential_type, "workspace_access_token");
  EXPECT_TRUE(absl::EndsWith(verified->credential_type, "_access_token"));
  EXPECT_EQ(verified->account_uuid, std::nullopt);
  EXPECT_EQ(verified->account_id, std::nullopt);
  EXPECT_EQ(verified->granted_scopes, Sorted(DefaultScopes("access_token")));
}

TEST_F(CredentialCheckTest, RepositoryAccessTokenWithAnExtraScopeIsRefused) {
  Apply({{"op", "add_credential"},
         {"value",
          {{"id", "repo-token"},
           {"kind", "access_token"},
           {"workspace", "ws-1"},
           {"token_type", "repository"},
           {"secret", Secret("ATCTT3xREPO")},
           {"scopes", With(DefaultScopes("access_token"), "repository:admin")}}}});
  CredentialCheck check = AccessTokenCheck();
  check.secret = Secret("ATCTT3xREPO");
  EXPECT_EQ(Verify(check), std::nullopt);
  const tf::Diagnostic& d = OnlyError();
  EXPECT_EQ(d.summary, "Bitbucket Token Has More Scopes Than Required");
  EXPECT_TRUE(absl::StrContains(d.detail, "`repository:admin`")) << d.detail;

  check.compare_scopes = false;
  std::optional<VerifiedCredential> verified = Verify(check);
  ASSERT_TRUE(verified.has_value()) << Summaries(diagnostics_);
  EXPECT_EQ(verified->credential_type, "repo_access_token");
}

TEST_F(CredentialCheckTest, WithoutComparingScopesTheFactsComeBackWhateverTheScopes) {
  Scopes scopes = With(Without(DefaultScopes("api_token"), "read:project:bitbucket"),
                       "admin:workspace:bitbucket");
  SetScopes("svc-token", scopes);
  CredentialCheck check = ApiTokenCheck();
  check.compare_scopes = false;
  std::optional<VerifiedCredential> verified = Verify(check);
  ASSERT_TRUE(verified.has_value()) << Summaries(diagnostics_);
  EXPECT_TRUE(diagnostics_.empty()) << Summaries(diagnostics_);
  EXPECT_EQ(verified->granted_scopes, Sorted(scopes));
  EXPECT_EQ(verified->account_uuid, kServiceUser);
  EXPECT_EQ(verified->account_id, kServiceAccountId);
  EXPECT_EQ(verified->credential_type, "api_token");
}

TEST_F(CredentialCheckTest, ServerFailureIsReportedWithoutBlamingTheSecret) {
  auto fault = emulators::FaultFromJson({{"service", "bitbucket"}, {"path", "/2.0/user"}});
  ASSERT_TRUE(fault.ok()) << fault.status();
  emulators_->AddFault(*fault);
  EXPECT_EQ(Verify(ApiTokenCheck()), std::nullopt);
  const tf::Diagnostic& d = OnlyError();
  EXPECT_EQ(d.summary, "Cannot Verify the Bitbucket Credential");
  EXPECT_EQ(d.attribute, std::nullopt);
  EXPECT_TRUE(absl::StrContains(d.detail, "503")) << d.detail;
}

// The failures above once more, side by side, with two unknown secrets: none of their
// diagnostics quotes the secret (Verify checks every diagnostic for the canary).
TEST_F(CredentialCheckTest, NoDiagnosticQuotesTheSecret) {
  SetScopes("svc-token", With(Without(DefaultScopes("api_token"), "read:user:bitbucket"),
                              "admin:repository:bitbucket"));
  CredentialCheck lacks_identity = ApiTokenCheck();
  CredentialCheck username = ApiTokenCheck();
  username.principal = kServiceUsername;
  CredentialCheck access_as_api = ApiTokenCheck();
  access_as_api.secret = Secret("ATCTT3xWS");
  CredentialCheck api_as_access = AccessTokenCheck();
  api_as_access.secret = Secret("ATATT3xSVC");
  CredentialCheck unknown = ApiTokenCheck();
  unknown.secret = Secret("ATATT3xNOT-SEEDED");
  CredentialCheck unknown_access = AccessTokenCheck();
  unknown_access.secret = Secret("ATCTT3xNOT-SEEDED");

  int failures = 0;
  for (const CredentialCheck& check : {lacks_identity, username, access_as_api, api_as_access,
                                       unknown, unknown_access, AppPasswordCheck()}) {
    SCOPED_TRACE(absl::StrCat(check.kind, " / ", check.principal));
    EXPECT_EQ(Verify(check), std::nullopt);
    EXPECT_TRUE(diagnostics_.HasError());
    failures += diagnostics_.HasError() ? 1 : 0;
  }
  EXPECT_EQ(failures, 7);

  Apply({{"op", "set_scopes"},
         {"credential", "ws-token"},
         {"scopes", With(DefaultScopes("access_token"), "team")}});
  EXPECT_EQ(Verify(AccessTokenCheck()), std::nullopt);
  EXPECT_TRUE(diagnostics_.HasError());
}

// Found by trying the resource as a user: a token pasted into `principal` (not secret, so it
// would be stored in state) is refused before any request, without quoting it.
TEST_F(CredentialCheckTest, ATokenPastedAsPrincipalIsRefusedWithoutQuotingIt) {
  CredentialCheck check = ApiTokenCheck();
  check.principal = "ATATT3xPASTED-CANARY-c3e9";
  EXPECT_EQ(Verify(check), std::nullopt);
  const tf::Diagnostic& d = OnlyError();
  EXPECT_EQ(d.summary, "Token Given as Principal");
  EXPECT_EQ(PathOf(d), "principal");
  EXPECT_FALSE(absl::StrContains(d.detail, "PASTED")) << d.detail;
  EXPECT_TRUE(emulators_->Requests().empty());
}

}  // namespace
}  // namespace arnica::resources
