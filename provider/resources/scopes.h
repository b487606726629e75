// The Bitbucket scopes of the service account's credential: the least-privilege set the Arnica
// integration is given by default, in one table with both spellings (API tokens carry granular
// names such as `read:repository:bitbucket`; app passwords and access tokens carry classic names
// such as `repository`), and how granted scopes compare with required ones.
//
// Arnica does not publish the list it needs (../shared/reference/arnica.md §7), so the table is
// our reading of what its Bitbucket Cloud integration does: identify the account, discover the
// workspaces and their members, read projects, repositories and pull requests, comment on pull
// requests, and keep its webhooks. docs/resources/bitbucket_credential.md explains each line.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace arnica::resources {

// The credential kinds the credential resource accepts.
inline constexpr char kKindApiToken[] = "api_token";
inline constexpr char kKindAccessToken[] = "access_token";
inline constexpr char kKindAppPassword[] = "app_password";

bool IsCredentialKind(std::string_view kind);
// Whether `kind` carries granular scope names (only API tokens do).
bool UsesGranularScopes(std::string_view kind);

// One thing Arnica does with Bitbucket and the scopes it takes in each spelling.
struct ScopeNeed {
  std::string_view purpose;
  std::vector<std::string_view> granular;
  std::vector<std::string_view> classic;
  // Account-level needs (who the account is, its workspaces): access tokens act for no account
  // and cannot hold these.
  bool account_level = false;
};

const std::vector<ScopeNeed>& ArnicaScopeNeeds();

// The default `required_scopes` of `kind`, in table order; empty for an unknown kind.
std::vector<std::string> DefaultScopes(std::string_view kind);

// The scope `kind` needs to answer GET /2.0/user, the call that verifies it; empty for access
// tokens, which that call refuses whatever their scopes.
std::string_view IdentityScope(std::string_view kind);

// Whether `scope` is a scope name Bitbucket documents in the spelling `kind` uses.
bool IsKnownScope(std::string_view kind, std::string_view scope);
// The same permission in the other spelling, for hints: `repository` -> `read:repository:
// bitbucket` and back; nullopt when there is no single counterpart.
std::optional<std::string> OtherSpelling(std::string_view scope);

struct ScopeComparison {
  std::vector<std::string> missing;  // required, not granted (nor implied by a granted scope)
  std::vector<std::string> extra;    // granted, neither required nor implied by a required one
};

// Granular scopes never imply one another. A classic `x:write` or `x:admin` includes `x`
// (`account:write` grants `account`), so a token with `pullrequest:write` and `pullrequest` has
// nothing extra when `pullrequest:write` is required; no other scope includes another.
ScopeComparison CompareScopes(std::string_view kind, const std::vector<std::string>& granted,
                              const std::vector<std::string>& required);

}  // namespace arnica::resources
