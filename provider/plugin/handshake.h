// go-plugin's handshake, as the host runs it: the environment it hands the plugin, the version
// negotiation, and the single line the plugin prints on stdout to say where it listens.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace arnica::plugin {

inline constexpr char kMagicCookieKey[] = "TF_PLUGIN_MAGIC_COOKIE";
inline constexpr char kMagicCookieValue[] =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
inline constexpr int kCoreProtocolVersion = 1;
inline constexpr int kProtocolVersion = 6;
// go-plugin's client defaults when the host sets no range.
inline constexpr int kDefaultMinPort = 10000;
inline constexpr int kDefaultMaxPort = 25000;

// What the host told us through the environment.
struct HandshakeEnvironment {
  std::optional<std::string> magic_cookie;
  std::optional<std::string> protocol_versions;  // "5,6" or "6,5" or "6"
  std::optional<std::string> client_certificate_pem;
  std::optional<std::string> unix_socket_dir;
  std::optional<std::string> unix_socket_group;
  std::optional<std::string> min_port;
  std::optional<std::string> max_port;

  static HandshakeEnvironment FromProcess();
};

// What a person running the binary by hand sees on stderr.
std::string NotAPluginMessage();

bool MagicCookieMatches(const HandshakeEnvironment& environment);

// Picks protocol 6 from the host's list; an error explains a host that cannot speak it.
absl::StatusOr<int> NegotiateProtocolVersion(const HandshakeEnvironment& environment);

struct PortRange {
  int min = kDefaultMinPort;
  int max = kDefaultMaxPort;
};
absl::StatusOr<PortRange> ParsePortRange(const HandshakeEnvironment& environment);

// `network` is "unix" or "tcp"; `address` a bare socket path or host:port; `certificate_der`
// empty when TLS is off.
std::string HandshakeLine(int protocol_version, const std::string& network,
                          const std::string& address, const std::string& certificate_der);

}  // namespace arnica::plugin
