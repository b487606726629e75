#include "provider/plugin/handshake.h"

#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "provider/plugin/certificate.h"

namespace arnica::plugin {
namespace {

std::optional<std::string> Env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

}  // namespace

HandshakeEnvironment HandshakeEnvironment::FromProcess() {
  HandshakeEnvironment environment;
  environment.magic_cookie = Env(kMagicCookieKey);
  environment.protocol_versions = Env("PLUGIN_PROTOCOL_VERSIONS");
  environment.client_certificate_pem = Env("PLUGIN_CLIENT_CERT");
  environment.unix_socket_dir = Env("PLUGIN_UNIX_SOCKET_DIR");
  environment.unix_socket_group = Env("PLUGIN_UNIX_SOCKET_GROUP");
  environment.min_port = Env("PLUGIN_MIN_PORT");
  environment.max_port = Env("PLUGIN_MAX_PORT");
  return environment;
}

std::string NotAPluginMessage() {
  return "This binary is a plugin for OpenTofu and Terraform: the terraform-provider-arnica "
         "provider. It is not meant to be run directly.\n"
         "Declare it in a configuration's required_providers block and run `tofu init` (or "
         "`terraform init`); the host starts it when it needs it.\n"
         "To debug it, run it with --debug and follow the instructions it prints.\n";
}

bool MagicCookieMatches(const HandshakeEnvironment& environment) {
  return environment.magic_cookie.has_value() && *environment.magic_cookie == kMagicCookieValue;
}

absl::StatusOr<int> NegotiateProtocolVersion(const HandshakeEnvironment& environment) {
  // go-plugin's own default when the client sends no list is the plugin's lowest version.
  if (!environment.protocol_versions.has_value() || environment.protocol_versions->empty()) {
    return kProtocolVersion;
  }
  for (absl::string_view part : absl::StrSplit(*environment.protocol_versions, ',')) {
    int version = 0;
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(part), &version) &&
        version == kProtocolVersion) {
      return kProtocolVersion;
    }
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "the host offers plugin protocol versions ", *environment.protocol_versions,
      " but this provider speaks only version 6; use OpenTofu 1.0 or Terraform 1.0 or newer"));
}

absl::StatusOr<PortRange> ParsePortRange(const HandshakeEnvironment& environment) {
  PortRange range;
  if (environment.min_port && !absl::SimpleAtoi(*environment.min_port, &range.min)) {
    return absl::InvalidArgumentError("PLUGIN_MIN_PORT is not a number");
  }
  if (environment.max_port && !absl::SimpleAtoi(*environment.max_port, &range.max)) {
    return absl::InvalidArgumentError("PLUGIN_MAX_PORT is not a number");
  }
  if (range.min < 1 || range.max > 65535 || range.min > range.max) {
    return absl::InvalidArgumentError(
        absl::StrCat("plugin port range ", range.min, "..", range.max, " is not usable"));
  }
  return range;
}

std::string HandshakeLine(int protocol_version, const std::string& network,
                          const std::string& address, const std::string& certificate_der) {
  return absl::StrCat(kCoreProtocolVersion, "|", protocol_version, "|", network, "|", address,
                      "|grpc|", certificate_der.empty() ? "" : Base64RawStd(certificate_der), "\n");
}

}  // namespace arnica::plugin
