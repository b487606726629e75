#include "tests/e2e/quickstart_world.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace arnica::e2e {
namespace {

using nlohmann::json;

json SeedFile() {
  std::ifstream in(std::filesystem::path(ARNICA_SOURCE_DIR) /
                   "tests/emulators/seeds/quickstart.json");
  std::stringstream text;
  text << in.rdbuf();
  return json::parse(text.str());
}

}  // namespace

json QuickstartSeed(const QuickstartSecrets& secrets) {
  json seed = SeedFile();
  for (json& credential : seed["credentials"]) {
    if (credential["id"] == "svc-api-token") credential["secret"] = secrets.token;
    if (credential["kind"] == "oauth_consumer") credential["secret"] = secrets.consumer_secret;
  }
  seed["orgs"][0]["api_key"] = secrets.org_key;
  seed["arnica_tenants"][0]["tokens"][0]["token"] = secrets.arnica_key;
  return seed;
}

std::map<std::string, std::string> QuickstartEnvironment(const emulators::Emulators& emulators,
                                                         const QuickstartSecrets& secrets,
                                                         const std::string& token, int version) {
  using emulators::Service;
  static const json seed = SeedFile();
  std::string bitbucket = emulators.url(Service::kBitbucket);
  std::string consumer_id;
  for (const json& credential : seed["credentials"]) {
    if (credential["kind"] == "oauth_consumer") consumer_id = credential["client_id"];
  }
  return {{"BITBUCKET_API_BASE_URL", bitbucket},
          {"BITBUCKET_OAUTH_TOKEN_URL", bitbucket + "/site/oauth2/access_token"},
          {"BITBUCKET_OAUTH_CLIENT_ID", consumer_id},
          {"BITBUCKET_OAUTH_CLIENT_SECRET", secrets.consumer_secret},
          {"ATLASSIAN_ADMIN_BASE_URL", emulators.url(Service::kAtlassianAdmin)},
          {"ATLASSIAN_ADMIN_ORG_ID", seed["orgs"][0]["id"]},
          {"ATLASSIAN_ADMIN_API_KEY", secrets.org_key},
          {"ARNICA_API_BASE_URL", emulators.url(Service::kArnica)},
          {"ARNICA_API_TOKEN", secrets.arnica_key},
          {"TF_VAR_service_account_email", kQuickstartSvcEmail},
          {"TF_VAR_service_account_token", token},
          {"TF_VAR_service_account_token_version", std::to_string(version)}};
}

}  // namespace arnica::e2e
