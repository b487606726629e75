// Bitbucket workspaces with an IP allowlist: the one place that knows Arnica's published
// addresses and what to tell a user whose call a workspace's allowlist refused.
//
// Two parties call Bitbucket for a workspace, and a workspace with an IP allowlist must let
// both through: the machine running OpenTofu (the provider's own calls) and Arnica, which reads
// the workspace from its published addresses below.
//
// BitbucketClient already turns an allowlist refusal of any workspace-scoped call into
// IpAllowlistAdvice(workspace); other callers (for example when Arnica reports that Bitbucket
// refused it for a workspace) call IpAllowlistAdvice themselves.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "provider/http/bitbucket_errors.h"

namespace arnica::clients {

// Where Arnica fetches SCM data from (API and git, TLS 1.2 and above), per Arnica's
// On-Premises integrations page,
// https://docs.arnica.io/arnica-documentation/getting-started/on-premises-integrations
// (../shared/reference/arnica.md §3.6). Update both lists together with that page.
inline constexpr std::array<std::string_view, 8> kArnicaUsAddresses = {
    "18.221.115.1", "3.14.104.231", "3.14.211.193", "3.23.28.237",
    "13.58.11.157", "3.143.46.92",  "18.221.211.0", "3.23.227.208"};
inline constexpr std::array<std::string_view, 3> kArnicaEuAddresses = {
    "18.199.13.52", "3.126.241.142", "52.59.152.69"};

// Whether `error` is a workspace's IP allowlist refusing the caller's address
// (kind "ip_allowlist", as http::ParseBitbucketError classifies Bitbucket's 403).
bool IsIpAllowlistRefusal(const http::ServiceError& error);

// The settings page where a workspace's administrators manage its IP allowlist:
// https://bitbucket.org/<workspace>/workspace/settings/access-controls. A workspace given by
// UUID (or not at all) gets a `<workspace-slug>` placeholder instead: the page is addressed by
// slug.
std::string IpAllowlistSettingsUrl(std::string_view workspace);

// What to do about an allowlist refusal for `workspace` (a slug, or a UUID when that is all
// the caller has), as complete sentences to follow a caller's own first sentence saying who was
// refused: names the workspace and its settings page, says that the machine running OpenTofu
// must be on the allowlist for the provider's calls, and lists Arnica's addresses, which must be
// on it too or Arnica cannot read the workspace. Holds no request data and no secret.
std::string IpAllowlistAdvice(std::string_view workspace);

}  // namespace arnica::clients
