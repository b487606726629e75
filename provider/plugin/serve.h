// Serving a provider the way go-plugin's host expects: the handshake, the listener, automatic
// mutual TLS, the go-plugin side services (health, controller, stdio) and an orderly exit.
#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <string>

namespace arnica::plugin {

struct ServeOptions {
  // Serve without TLS and print TF_REATTACH_PROVIDERS instead of the handshake line.
  bool debug = false;
  // The provider source address users write, used as the key of TF_REATTACH_PROVIDERS.
  std::string provider_address = "registry.opentofu.org/arnica/arnica";
  // Called when the host asks the whole process to stop (Shutdown or, in debug mode, a signal).
  std::function<void()> on_shutdown;
};

// Serves `provider` until the host shuts it down. Returns the process exit code.
int Serve(grpc::Service* provider, const ServeOptions& options);

}  // namespace arnica::plugin
