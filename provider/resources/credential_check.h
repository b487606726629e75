// Verifying the service account's credential against Bitbucket, and telling rotations apart
// without keeping the secret.
//
// The check is one GET /2.0/user made with the credential itself: its answer names the account,
// and its x-credential-type and x-oauth-scopes headers say what kind of credential Bitbucket saw
// and which scopes it carries (access tokens are refused there, but the headers still come).
// Every mistake users are known to make gets its own diagnostic; none quotes the secret.
#pragma once

#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "provider/http/client.h"
#include "provider/tf/diagnostics.h"
#include "provider/tf/value.h"

namespace arnica::resources {

struct CredentialCheck {
  std::string kind;       // api_token | access_token | app_password
  std::string principal;  // e-mail (API token), username (app password), empty (access token)
  std::string secret;
  std::string secret_attribute;  // "secret_wo" or "secret": where diagnostics point
  std::vector<std::string> required_scopes;
  bool allow_extra_scopes = false;
  // false: report only whether the credential works and what it holds (refresh).
  bool compare_scopes = true;
  // How a refused credential (HTTP 401) is reported. kWarning when it is drift of a credential
  // that worked before: the plan must still succeed, so that it shows the drift and so that
  // OpenTofu's destroy, which plans normally first, can remove it.
  tf::Severity refusal = tf::Severity::kError;
};

struct VerifiedCredential {
  std::string credential_type;              // x-credential-type, e.g. api_token
  std::vector<std::string> granted_scopes;  // sorted, without duplicates
  // The account the credential acts for; nullopt for access tokens, which act for none.
  std::optional<std::string> account_uuid;  // braced, lower-case
  std::optional<std::string> account_id;
};

// Calls Bitbucket at `base_url` with the credential and, when asked, compares its scopes with the
// required ones. Returns the facts when the credential works and holds exactly the required
// scopes (or more, when allowed); otherwise nullopt with diagnostics that say what to do (errors,
// except for a refusal reported as `refusal` asks).
std::optional<VerifiedCredential> VerifyCredential(std::shared_ptr<http::Client> http,
                                                   const std::string& base_url,
                                                   const CredentialCheck& check,
                                                   std::stop_token stop,
                                                   tf::Diagnostics& diagnostics);

// The principal's form for its kind, before any request: an API token needs the account's
// e-mail, an app password the Bitbucket username, an access token neither. The principal is
// never quoted: a user who swapped it with the secret must not see the token in a diagnostic.
void CheckPrincipal(std::string_view kind, const std::optional<std::string>& principal,
                    tf::Diagnostics& diagnostics);

// Fingerprints: "v1:<salt>:<digest>", where salt is 8 random bytes as 16 hex digits and digest
// is PBKDF2-HMAC-SHA256 of the secret, salted with that hex text, kFingerprintIterations
// rounds, cut to 16 bytes and written as 32 hex digits. The salt
// is chosen when the resource is created and kept, so the fingerprint changes exactly when the
// secret does; the same secret in two configurations gives two unrelated fingerprints.
inline constexpr int kFingerprintIterations = 100000;
std::string NewFingerprintSalt();
std::string Fingerprint(std::string_view secret, std::string_view salt);
// The salt of a fingerprint this code wrote; nullopt for anything else.
std::optional<std::string> FingerprintSalt(std::string_view fingerprint);

// The secret inputs shared by every resource that takes the service account's token:
// `secret_wo` (write-only) with `secret_wo_version`, or `secret` (kept in state). Exactly one
// of the two, neither empty nor padded with whitespace, and a version only with `secret_wo`;
// a warning for `secret`. With `account_token`, an access token (which acts for no account) is
// an error too.
void ValidateSecretInputs(const tf::Value& config, tf::Diagnostics& diagnostics,
                          bool account_token = false);
// Which of them the configuration uses: "secret_wo" when set, else "secret".
const char* SecretAttribute(const tf::Value& config);
// A Bitbucket workspace, project or repository access token (prefix ATCTT), which acts for no
// account.
bool LooksLikeAccessToken(std::string_view secret);

// A fresh random identifier (32 hex digits) for a new credential object.
std::string NewCredentialId();

}  // namespace arnica::resources
