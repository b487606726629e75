// The Arnica client: the public API (token check, repository inventory) and the modelled
// Bitbucket Cloud integration endpoints (provider/clients/arnica_paths.h says which is which).
// Authenticates with an Arnica API token (Bearer). Arnica answers 403, not 401, for a bad or
// expired token and for a missing scope; errors carry an http::ServiceError whose service is
// "Arnica".
//
// Thread safety: an ArnicaClient may be shared by any number of threads.
#pragma once

#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "provider/clients/arnica_paths.h"
#include "provider/http/client.h"

namespace arnica::clients {

struct ArnicaOptions {
  std::string base_url = arnica_paths::kDefaultBaseUrl;  // a trailing "/" is ignored
  std::string api_token;
};

struct ArnicaTokenInfo {
  std::string org_id;
  std::string key_id;
};

struct InventoryRepo {
  std::string id;
  std::string name;
  std::string full_name;
  std::string url;
  std::string scm_type;      // bitbucket-cloud, github, ...
  std::string organization;  // for Bitbucket: the workspace slug
  std::string project;
};

struct ArnicaIntegration {
  std::string id;
  std::string name;
  std::string principal;
  std::string status;  // connected | invalid
  std::string reason;  // why it is invalid
  std::vector<std::string> workspaces;
};

class ArnicaClient {
 public:
  ArnicaClient(std::shared_ptr<http::Client> http, ArnicaOptions options);

  // GET /v1/auth/token: which Arnica organisation and key the token is.
  absl::StatusOr<ArnicaTokenInfo> CheckToken(std::stop_token stop = {});
  // GET /v1/inventory/repos, every page.
  absl::StatusOr<std::vector<InventoryRepo>> ListInventoryRepos(std::stop_token stop = {});

  // Modelled integration endpoints. Register and rotate send the secret in the request body
  // only; Arnica validates it against Bitbucket and answers InvalidArgument with its reason.
  absl::StatusOr<ArnicaIntegration> RegisterIntegration(std::string_view name,
                                                        std::string_view principal,
                                                        std::string_view secret,
                                                        std::stop_token stop = {});
  // nullopt when Arnica has no such integration.
  absl::StatusOr<std::optional<ArnicaIntegration>> GetIntegration(std::string_view id,
                                                                  std::stop_token stop = {});
  absl::StatusOr<std::vector<ArnicaIntegration>> ListIntegrations(std::stop_token stop = {});
  absl::StatusOr<ArnicaIntegration> RotateIntegration(std::string_view id,
                                                      std::string_view principal,
                                                      std::string_view secret,
                                                      std::stop_token stop = {});
  // Re-runs Arnica's ingestion of the covered workspaces (validating the credential first), which
  // fills the inventory with their repositories; nullopt when Arnica has no such integration.
  // Repeating it is harmless, so it is retried like a read.
  absl::StatusOr<std::optional<ArnicaIntegration>> SyncIntegration(std::string_view id,
                                                                   std::stop_token stop = {});
  // NotFound when Arnica has no such integration.
  absl::Status RemoveIntegration(std::string_view id, std::stop_token stop = {});

 private:
  absl::StatusOr<http::Response> Send(std::string method, std::string path, std::string body,
                                      std::stop_token stop, bool repeatable = false);
  absl::Status ErrorFor(const http::Response& response, std::string_view what) const;

  std::shared_ptr<http::Client> http_;
  ArnicaOptions options_;
};

}  // namespace arnica::clients
