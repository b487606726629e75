#include "provider/clients/ip_allowlist.h"

#include "absl/strings/str_cat.h"
#include "provider/clients/bitbucket.h"

namespace arnica::clients {
namespace {

template <std::size_t N>
std::string Join(const std::array<std::string_view, N>& addresses) {
  std::string out;
  for (std::string_view address : addresses) {
    if (!out.empty()) out += ", ";
    out += address;
  }
  return out;
}

}  // namespace

bool IsIpAllowlistRefusal(const http::ServiceError& error) { return error.kind == "ip_allowlist"; }

std::string IpAllowlistSettingsUrl(std::string_view workspace) {
  std::string segment = workspace.empty() || CanonicalUuid(workspace)
                            ? std::string("<workspace-slug>")
                            : EncodeSegment(workspace);
  return absl::StrCat("https://bitbucket.org/", segment, "/workspace/settings/access-controls");
}

std::string IpAllowlistAdvice(std::string_view workspace) {
  // The name may come from another service's answer: quote it cleaned, like any server text.
  std::string name = http::CleanServerText(workspace, 100);
  if (name.empty()) name = "(unnamed)";
  return absl::StrCat(
      "Every address that calls Bitbucket for the workspace ", name,
      " must be on its IP allowlist, which an administrator of ", name, " can change at ",
      IpAllowlistSettingsUrl(workspace),
      ". Add the public IP address of the machine running OpenTofu, for the provider's own "
      "calls, and Arnica's published addresses, from which Arnica reads the workspace (without "
      "them Arnica cannot read ",
      name, "): Arnica US ", Join(kArnicaUsAddresses), "; Arnica EU ", Join(kArnicaEuAddresses),
      ".");
}

}  // namespace arnica::clients
