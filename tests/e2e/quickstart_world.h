// The world the quickstart (examples/quickstart/main.tf) runs in during tests: the seed the main
// job uses (tests/emulators/seeds/quickstart.json) with the test's own secrets in it, and the
// environment that points the quickstart at the emulators. Shared by every test that applies the
// quickstart, so they all apply the same thing.
#pragma once

#include <map>
#include <string>

#include "nlohmann/json.hpp"
#include "tests/emulators/emulator.h"

namespace arnica::e2e {

struct QuickstartSecrets {
  std::string token;            // the service account's API token
  std::string consumer_secret;  // the admin's OAuth consumer
  std::string org_key;          // the Atlassian organisation's API key
  std::string arnica_key;       // the Arnica API key
};

inline constexpr char kQuickstartSvcEmail[] = "arnica-svc@example.com";

// The seed with `secrets` in place of the seed's fake ones.
nlohmann::json QuickstartSeed(const QuickstartSecrets& secrets);

// Every variable the quickstart reads, for `token` at `version`.
std::map<std::string, std::string> QuickstartEnvironment(const emulators::Emulators& emulators,
                                                         const QuickstartSecrets& secrets,
                                                         const std::string& token, int version);

}  // namespace arnica::e2e
