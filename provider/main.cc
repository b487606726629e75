// terraform-provider-arnica: started by OpenTofu or Terraform, never by hand (except with
// --debug or --version).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "provider/plugin/log.h"
#include "provider/plugin/log_keys.h"
#include "provider/plugin/serve.h"
#include "provider/protocol/provider_service.h"
#include "provider/resources/arnica_provider.h"
#ifdef ARNICA_WITH_FIXTURES
#include "tests/fixture/fixture.h"
#endif

namespace {

constexpr char kUsage[] =
    "usage: terraform-provider-arnica [--debug | --version]\n"
    "\n"
    "OpenTofu and Terraform start this program themselves. Run it by hand only with\n"
    "  --debug    serve without TLS and print TF_REATTACH_PROVIDERS for attaching a host\n"
    "  --version  print the version and exit\n";

}  // namespace

int main(int argc, char** argv) {
  arnica::plugin::ServeOptions options;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--debug" || arg == "-debug") {
      options.debug = true;
    } else if (arg == "--version" || arg == "-version") {
      // Not stdout: it belongs to the handshake, even here, so a host never misreads it.
      std::fprintf(stderr, "terraform-provider-arnica %s (%s)\n", ARNICA_VERSION, ARNICA_COMMIT);
      return 0;
    } else {
      std::fputs(kUsage, stderr);
      return 2;
    }
  }

  arnica::plugin::Log::Init();
  arnica::plugin::Log::Info("Starting provider",
                            {{arnica::plugin::log_keys::kVersion, ARNICA_VERSION},
                             {arnica::plugin::log_keys::kCommit, ARNICA_COMMIT}});
  std::shared_ptr<arnica::tf::Provider> provider = arnica::resources::NewArnicaProvider();
#ifdef ARNICA_WITH_FIXTURES
  provider = arnica::fixture::WithFixtures(std::move(provider));
#endif
  arnica::protocol::ProviderService service(std::move(provider));
  int code = arnica::plugin::Serve(&service, options);
  // Exit without running static destructors: gRPC's background threads may still be winding
  // down, and the host only waits two seconds for us to go.
  std::fflush(stderr);
  std::_Exit(code);
}
