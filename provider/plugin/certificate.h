// The server certificate for go-plugin's automatic mutual TLS.
//
// The host verifies our certificate as its own root for the name `localhost`, so it must be
// self-signed, a CA, carry the DNS name `localhost` and allow server authentication. A fresh key
// and certificate are made at every start and never written to disk.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace arnica::plugin {

struct ServerCertificate {
  std::string certificate_pem;
  std::string private_key_pem;
  std::string certificate_der;
};

// `subject_alt_names` in OpenSSL's configuration syntax; the plugin needs only `localhost`, the
// test emulators add `IP:127.0.0.1`.
absl::StatusOr<ServerCertificate> GenerateServerCertificate(
    const std::string& subject_alt_names = "DNS:localhost");

// Go's base64.RawStdEncoding: the standard alphabet without `=` padding, which is what the
// handshake line carries.
std::string Base64RawStd(const std::string& bytes);

}  // namespace arnica::plugin
