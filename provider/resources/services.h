// What the provider's Configure hands every object: the service clients, built once per provider
// process over one shared HTTP client, and the caches that let many objects share one listing.
//
// A client is absent when its block is not configured, or when some of its values are unknown
// until apply; `Require*` turn that into a diagnostic that names what to configure.
//
// Thread safety: the host calls objects concurrently; every member is safe to share.
#pragma once

#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "provider/clients/arnica.h"
#include "provider/clients/atlassian_admin.h"
#include "provider/clients/bitbucket.h"
#include "provider/http/client.h"
#include "provider/tf/diagnostics.h"

namespace arnica::resources {

// Why a client is missing, for the diagnostic: its block is absent or incomplete, or a value it
// needs is unknown until apply.
struct Missing {
  std::string summary;
  std::string detail;
  std::optional<tf::AttributePath> path;
};

// One listing of a group's members per provider process, shared by every object that needs it
// (a plan costs one call per workspace and group, not one per membership). Writes through this
// provider drop the cached listing; a failed listing is not kept, so the next caller retries.
class MemberCache {
 public:
  using Members = std::optional<std::vector<clients::BitbucketUser>>;  // nullopt: no such group

  absl::StatusOr<Members> Get(clients::BitbucketClient& client, const std::string& workspace,
                              const std::string& group, std::stop_token stop);
  // After a write through this provider: the next Get lists the group again.
  void Forget(const std::string& workspace, const std::string& group);

 private:
  using Key = std::pair<std::string, std::string>;
  std::mutex mutex_;
  std::map<Key, std::shared_future<absl::StatusOr<Members>>> listings_;  // guarded by mutex_
};

struct Services {
  std::shared_ptr<http::Client> http;
  int max_concurrency = 4;  // requests in flight per service host, as configured
  std::unique_ptr<clients::BitbucketClient> bitbucket;
  // Bitbucket's API root, for objects that bring their own credential (the credential
  // resource); nullopt while the provider configuration leaves it unknown.
  std::optional<std::string> bitbucket_base_url;
  std::unique_ptr<clients::AtlassianAdminClient> admin;
  std::unique_ptr<clients::ArnicaClient> arnica;
  std::optional<Missing> bitbucket_missing, admin_missing, arnica_missing;
  MemberCache members;

  // The client, or null with an error diagnostic saying what to configure.
  clients::BitbucketClient* RequireBitbucket(tf::Diagnostics& diagnostics) const;
  clients::AtlassianAdminClient* RequireAdmin(tf::Diagnostics& diagnostics) const;
  clients::ArnicaClient* RequireArnica(tf::Diagnostics& diagnostics) const;
};

// Runs fn(0) .. fn(count - 1) on up to `workers` threads and returns when all are done; for
// per-workspace reads, whose HTTP requests the client's per-host limit bounds anyway.
void ParallelFor(std::size_t count, int workers, const std::function<void(std::size_t)>& fn);

// A failed service call as a diagnostic: `summary`, then the status's own message (which says
// what the service answered and what to do; it never holds a secret).
void AddServiceError(tf::Diagnostics& diagnostics, const std::string& summary,
                     const absl::Status& status,
                     std::optional<tf::AttributePath> path = std::nullopt);

}  // namespace arnica::resources
