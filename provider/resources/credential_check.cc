#include "provider/resources/credential_check.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "provider/clients/bitbucket.h"
#include "provider/http/bitbucket_errors.h"
#include "provider/resources/scopes.h"

namespace arnica::resources {
namespace {

using tf::AttributePath;

// Token prefixes Atlassian documents: API tokens start ATATT, Bitbucket access tokens ATCTT.
// Used only to explain a refusal, never to refuse.
constexpr char kApiTokenPrefix[] = "ATATT";
constexpr char kAccessTokenPrefix[] = "ATCTT";

constexpr char kApiTokensPage[] = "https://id.atlassian.com/manage-profile/security/api-tokens";

// `a`, `b` and `c`
std::string Listed(const std::vector<std::string>& items) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) absl::StrAppend(&out, i + 1 == items.size() ? " and " : ", ");
    absl::StrAppend(&out, "`", items[i], "`");
  }
  return out.empty() ? "none" : out;
}

std::string Rotate(const CredentialCheck& check) {
  return check.secret_attribute == "secret_wo"
             ? "put it in `secret_wo` and increase `secret_wo_version`"
             : "put it in `secret`";
}

std::string ScopesHint(const CredentialCheck& check) {
  return absl::StrCat("provider::arnica::required_scopes(\"", check.kind,
                      "\") gives the default set");
}

clients::BitbucketCredential CredentialOf(const CredentialCheck& check) {
  if (check.kind == kKindAccessToken) return clients::AccessToken{check.secret};
  if (check.kind == kKindAppPassword) return clients::AppPassword{check.principal, check.secret};
  return clients::ApiToken{check.principal, check.secret};
}

void ExplainRefusal(const CredentialCheck& check, const absl::Status& status,
                    tf::Diagnostics& diagnostics) {
  AttributePath path = AttributePath::Root(check.secret_attribute);
  if (check.kind == kKindApiToken && absl::StartsWith(check.secret, kAccessTokenPrefix)) {
    diagnostics.AddError(
        "Access Token Given Where an Account Is Needed",
        absl::StrCat(
            "This secret has the form of a Bitbucket workspace, project or repository access "
            "token, and Bitbucket refused it as an API token (HTTP 401). An access token "
            "belongs to one workspace, project or repository and acts for no account, so it "
            "cannot join the Administrators group or give Arnica every workspace. Create an "
            "Atlassian API token with scopes for the service account (",
            kApiTokensPage, "), ", Rotate(check),
            ", and set `principal` to the account's e-mail address."),
        path);
    return;
  }
  if (check.kind == kKindAccessToken && absl::StartsWith(check.secret, kApiTokenPrefix)) {
    diagnostics.AddError(
        "API Token Given as an Access Token",
        "This secret has the form of an Atlassian API token, which Bitbucket accepts only with "
        "the account's e-mail address (HTTP Basic), not as a bearer access token. Set "
        "`kind = \"api_token\"` and `principal` to the account's e-mail address.",
        path);
    return;
  }
  if (check.kind == kKindAppPassword) {
    diagnostics.AddError("App Passwords No Longer Work", std::string(status.message()), path);
    return;
  }
  diagnostics.AddError(
      "Bitbucket Refused the Credential",
      absl::StrCat(status.message(),
                   " If it was revoked or has expired, create a new one with the required "
                   "scopes and ",
                   Rotate(check), "."),
      path);
}

// A 401, explained; as warnings when the caller treats a refusal as drift.
void Refused(const CredentialCheck& check, const absl::Status& status,
             tf::Diagnostics& diagnostics) {
  tf::Diagnostics found;
  ExplainRefusal(check, status, found);
  for (tf::Diagnostic diagnostic : found) {
    if (check.refusal == tf::Severity::kWarning) {
      diagnostic.severity = tf::Severity::kWarning;
      absl::StrAppend(&diagnostic.detail,
                      " The plan shows `fingerprint` changing because the token in state no "
                      "longer works; apply fails until a working one is configured.");
    }
    diagnostics.Add(std::move(diagnostic));
  }
}

// A working account credential without the scope GET /2.0/user needs. Bitbucket's message
// lists what that endpoint accepts, which for API tokens may be another scope's name; the
// diagnostic names the one to add.
void CannotIdentify(const CredentialCheck& check, const http::ServiceError& error,
                    tf::Diagnostics& diagnostics) {
  std::string identity(IdentityScope(check.kind));
  std::string named;
  if (!error.required_scopes.empty() && error.required_scopes != std::vector{identity}) {
    named = absl::StrCat(" (Bitbucket's own message names ", Listed(error.required_scopes),
                         ", but for this kind of credential the scope is `", identity, "`)");
  }
  std::vector<std::string> granted = error.granted_scopes;
  std::sort(granted.begin(), granted.end());
  ScopeComparison comparison = CompareScopes(check.kind, granted, check.required_scopes);
  diagnostics.AddError(
      absl::StrCat("Token Lacks ", identity),
      absl::StrCat(
          "Bitbucket accepted the credential but refused GET /2.0/user, because it lacks `",
          identity, "`", named,
          ". That call tells which account a token acts for: this provider verifies the "
          "credential with it, and Arnica identifies the service account with it. The token "
          "grants ",
          Listed(granted), "; of `required_scopes` it lacks ", Listed(comparison.missing),
          ". Scopes cannot be added to an existing token: create a new one with every scope "
          "in `required_scopes` (",
          ScopesHint(check), ") and ", Rotate(check), "."),
      AttributePath::Root(check.secret_attribute));
}

bool TypeFits(std::string_view kind, std::string_view type) {
  if (type.empty()) return true;  // Bitbucket did not say
  if (kind == kKindAccessToken) return type.ends_with("_access_token");
  return type == kind;
}

std::string Hex(const unsigned char* bytes, std::size_t size) {
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(bytes), size));
}

std::string RandomHex(std::size_t bytes) {
  std::vector<unsigned char> buffer(bytes);
  if (RAND_bytes(buffer.data(), static_cast<int>(buffer.size())) != 1) {
    // OpenSSL's generator does not fail once seeded; if it ever does, refusing is better than
    // a predictable value.
    std::abort();
  }
  return Hex(buffer.data(), buffer.size());
}

}  // namespace

std::optional<VerifiedCredential> VerifyCredential(std::shared_ptr<http::Client> http,
                                                   const std::string& base_url,
                                                   const CredentialCheck& check,
                                                   std::stop_token stop,
                                                   tf::Diagnostics& diagnostics) {
  CheckPrincipal(check.kind, check.principal, diagnostics);
  if (diagnostics.HasError()) return std::nullopt;
  clients::BitbucketClient client(std::move(http),
                                  {.base_url = base_url, .credential = CredentialOf(check)});
  absl::StatusOr<clients::CurrentUser> user = client.GetCurrentUser(stop);

  VerifiedCredential verified;
  if (user.ok()) {
    if (check.kind == kKindAccessToken) {
      diagnostics.AddError(
          "Not an Access Token",
          absl::StrCat("Bitbucket answered GET /2.0/user with this bearer token for account ",
                       user->user.uuid, " (credential type `", user->credential.type,
                       "`), so it acts for an account and is not a workspace, project or "
                       "repository access token. Set `kind` to the credential's kind."),
          AttributePath::Root("kind"));
      return std::nullopt;
    }
    verified.credential_type = user->credential.type;
    verified.granted_scopes = user->credential.scopes;
    verified.account_uuid = user->user.uuid;
    verified.account_id = user->user.account_id;
  } else {
    std::optional<http::ServiceError> error = http::ServiceErrorOf(user.status());
    bool access_token_answer =
        error && error->credential_type && absl::EndsWith(*error->credential_type, "_access_token");
    if (error && error->status == 401) {
      Refused(check, user.status(), diagnostics);
      return std::nullopt;
    }
    if (error && error->status == 403 && check.kind == kKindAccessToken && access_token_answer) {
      // Access tokens act for no user: Bitbucket refuses them here and still sends the headers.
      verified.credential_type = *error->credential_type;
      verified.granted_scopes = error->granted_scopes;
    } else if (error && error->status == 403 && check.kind != kKindAccessToken &&
               error->kind == "missing_scope") {
      CannotIdentify(check, *error, diagnostics);
      return std::nullopt;
    } else {
      diagnostics.AddError(
          "Cannot Verify the Bitbucket Credential",
          absl::StrCat("GET /2.0/user with the credential failed: ", user.status().message()));
      return std::nullopt;
    }
  }

  if (!TypeFits(check.kind, verified.credential_type)) {
    diagnostics.AddError(
        "Credential Kind Mismatch",
        absl::StrCat("`kind` is \"", check.kind, "\", but Bitbucket reports the credential as `",
                     verified.credential_type, "`. Set `kind` to match the credential."),
        AttributePath::Root("kind"));
    return std::nullopt;
  }

  std::vector<std::string>& granted = verified.granted_scopes;
  std::sort(granted.begin(), granted.end());
  granted.erase(std::unique(granted.begin(), granted.end()), granted.end());
  if (!check.compare_scopes) return verified;
  ScopeComparison comparison = CompareScopes(check.kind, granted, check.required_scopes);
  AttributePath secret = AttributePath::Root(check.secret_attribute);
  if (!comparison.missing.empty()) {
    diagnostics.AddError(
        "Bitbucket Token Lacks Required Scopes",
        absl::StrCat("The credential lacks ", Listed(comparison.missing),
                     ", which `required_scopes` lists. Scopes cannot be added to an existing "
                     "token: create a new one with every scope in `required_scopes` (",
                     ScopesHint(check), ") and ", Rotate(check), "."),
        secret);
  }
  if (!comparison.extra.empty() && !check.allow_extra_scopes) {
    diagnostics.AddError(
        "Bitbucket Token Has More Scopes Than Required",
        absl::StrCat("The credential also grants ", Listed(comparison.extra),
                     ", which `required_scopes` does not list. This resource holds the service "
                     "account's credential to least privilege: create a token with exactly the "
                     "required scopes and ",
                     Rotate(check),
                     "; or, if Arnica needs them, add them to `required_scopes` or set "
                     "`allow_extra_scopes = true`."),
        secret);
  }
  if (diagnostics.HasError()) return std::nullopt;
  return verified;
}

void CheckPrincipal(std::string_view kind, const std::optional<std::string>& principal,
                    tf::Diagnostics& diagnostics) {
  AttributePath path = AttributePath::Root("principal");
  bool given = principal.has_value() && !principal->empty();
  if (kind == kKindAccessToken) {
    if (given) {
      diagnostics.AddError(
          "Access Tokens Have No Principal",
          "A workspace, project or repository access token is sent alone (as a bearer token) "
          "and acts for no account; remove `principal`.",
          path);
    }
    return;
  }
  if (!given) {
    diagnostics.AddError(
        "Principal Required",
        kind == kKindAppPassword
            ? "An app password authenticates with the Bitbucket username: set `principal`."
            : "An Atlassian API token authenticates with the account's e-mail address: set "
              "`principal` to it.",
        path);
    return;
  }
  if (absl::StartsWith(*principal, kApiTokenPrefix) ||
      absl::StartsWith(*principal, kAccessTokenPrefix)) {
    diagnostics.AddError(
        "Token Given as Principal",
        "`principal` has the form of an Atlassian token. It is not secret and would be stored "
        "in state and shown in plans: put the token in `secret_wo`, and the account's e-mail "
        "address in `principal`.",
        path);
    return;
  }
  bool email = absl::StrContains(*principal, '@');
  if (kind == kKindApiToken && !email) {
    diagnostics.AddError(
        "Username Given Instead of E-mail",
        "`principal` is not an e-mail address. Atlassian API tokens authenticate with the "
        "account's e-mail address; with a Bitbucket username Bitbucket answers only a generic "
        "HTTP 401 (the username works for git over HTTPS, not for the API). Set `principal` to "
        "the service account's e-mail address.",
        path);
  } else if (kind == kKindAppPassword && email) {
    diagnostics.AddError(
        "E-mail Given Instead of Username",
        "App passwords authenticate with the Bitbucket username, and `principal` is an "
        "e-mail address. Bitbucket removed app passwords on 2026-07-28, though: use "
        "`kind = \"api_token\"` with an Atlassian API token, which does take the e-mail "
        "address.",
        path);
  }
}

std::string NewFingerprintSalt() { return RandomHex(8); }

std::string Fingerprint(std::string_view secret, std::string_view salt) {
  unsigned char digest[16];
  PKCS5_PBKDF2_HMAC(secret.data(), static_cast<int>(secret.size()),
                    reinterpret_cast<const unsigned char*>(salt.data()),
                    static_cast<int>(salt.size()), kFingerprintIterations, EVP_sha256(),
                    sizeof(digest), digest);
  return absl::StrCat("v1:", std::string(salt), ":", Hex(digest, sizeof(digest)));
}

std::optional<std::string> FingerprintSalt(std::string_view fingerprint) {
  std::string text(fingerprint);
  std::vector<absl::string_view> parts = absl::StrSplit(text, ':');
  auto hex = [](absl::string_view part, std::size_t size) {
    return part.size() == size &&
           std::all_of(part.begin(), part.end(), [](char c) { return absl::ascii_isxdigit(c); });
  };
  if (parts.size() != 3 || parts[0] != "v1" || !hex(parts[1], 16) || !hex(parts[2], 32)) {
    return std::nullopt;
  }
  return std::string(parts[1]);
}

std::string NewCredentialId() { return RandomHex(16); }

const char* SecretAttribute(const tf::Value& config) {
  return config.GetAttr("secret_wo").is_null() ? "secret" : "secret_wo";
}

bool LooksLikeAccessToken(std::string_view secret) {
  return secret.starts_with(kAccessTokenPrefix);
}

void ValidateSecretInputs(const tf::Value& config, tf::Diagnostics& diagnostics,
                          bool account_token) {
  tf::Value wo = config.GetAttr("secret_wo");
  tf::Value plain = config.GetAttr("secret");
  tf::Value version = config.GetAttr("secret_wo_version");
  // An unknown value (a variable or a conditional not yet known) may turn out null: judge only
  // known values here; the plan validates again with them known.
  if (wo.is_known_non_null() && plain.is_known_non_null()) {
    diagnostics.AddError("Conflicting Secrets",
                         "Set exactly one of `secret_wo` (recommended) and `secret`.",
                         AttributePath::Root("secret"));
  } else if (wo.is_null() && plain.is_null()) {
    diagnostics.AddError(
        "Secret Missing",
        "Set `secret_wo` to the token (write-only: never stored), with `secret_wo_version`, "
        "or, on hosts older than OpenTofu/Terraform 1.11, `secret`.",
        AttributePath::Root("secret_wo"));
  }
  for (const char* name : {"secret_wo", "secret"}) {
    tf::Value value = config.GetAttr(name);
    if (!value.is_known_non_null()) continue;
    const std::string& text = value.AsString();
    if (text.empty()) {
      diagnostics.AddError(
          "Empty Secret",
          absl::StrCat("`", name, "` must not be empty: set it to the token, or remove it."),
          AttributePath::Root(name));
    } else if (absl::ascii_isspace(text.front()) || absl::ascii_isspace(text.back())) {
      diagnostics.AddError(
          "Secret Has Surrounding Whitespace",
          absl::StrCat("`", name,
                       "` begins or ends with whitespace, which no Bitbucket token does (a "
                       "copy-and-paste slip, or a file read without trimming: wrap it in "
                       "trimspace())."),
          AttributePath::Root(name));
    } else if (account_token && LooksLikeAccessToken(text)) {
      diagnostics.AddError(
          "Access Token Given Where an Account Is Needed",
          absl::StrCat("`", name,
                       "` holds a Bitbucket access token, which belongs to no account, so "
                       "Arnica cannot act as the service account with it. Give the service "
                       "account's Atlassian API token (it starts with ATATT)."),
          AttributePath::Root(name));
    }
  }
  if (!version.is_null() && wo.is_null() && !plain.is_null()) {
    diagnostics.AddError("Version Without Write-Only Secret",
                         "`secret_wo_version` tells rotations of `secret_wo` apart; with "
                         "`secret` it has no meaning. Remove it, or move the token to "
                         "`secret_wo`.",
                         AttributePath::Root("secret_wo_version"));
  }
  if (!plain.is_null() && wo.is_null()) {
    diagnostics.AddWarning(
        "Secret Kept in State",
        "`secret` is sensitive, so it is hidden in plan output, but it is stored in the state "
        "file in plain text. On OpenTofu or Terraform 1.11 and newer use `secret_wo` with "
        "`secret_wo_version` instead, which is never stored.",
        AttributePath::Root("secret"));
  }
}

}  // namespace arnica::resources
