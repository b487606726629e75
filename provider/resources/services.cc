#include "provider/resources/services.h"

#include <algorithm>
#include <atomic>
#include <thread>

namespace arnica::resources {
namespace {

template <class Client>
Client* Require(const std::unique_ptr<Client>& client, const std::optional<Missing>& missing,
                tf::Diagnostics& diagnostics) {
  if (client) return client.get();
  if (missing) diagnostics.AddError(missing->summary, missing->detail, missing->path);
  return nullptr;
}

}  // namespace

absl::StatusOr<MemberCache::Members> MemberCache::Get(clients::BitbucketClient& client,
                                                      const std::string& workspace,
                                                      const std::string& group,
                                                      std::stop_token stop) {
  std::promise<absl::StatusOr<Members>> promise;
  std::shared_future<absl::StatusOr<Members>> listing;
  bool mine = false;
  {
    std::lock_guard lock(mutex_);
    auto [it, inserted] = listings_.try_emplace({workspace, group});
    if (inserted) it->second = promise.get_future().share();
    listing = it->second;
    mine = inserted;
  }
  if (mine) {
    absl::StatusOr<Members> members = client.ListGroupMembers(workspace, group, stop);
    if (!members.ok()) {
      std::lock_guard lock(mutex_);
      listings_.erase({workspace, group});  // a failure is not cached: the next caller retries
    }
    promise.set_value(std::move(members));
  }
  return listing.get();
}

void MemberCache::Forget(const std::string& workspace, const std::string& group) {
  std::lock_guard lock(mutex_);
  listings_.erase({workspace, group});
}

clients::BitbucketClient* Services::RequireBitbucket(tf::Diagnostics& diagnostics) const {
  return Require(bitbucket, bitbucket_missing, diagnostics);
}

clients::AtlassianAdminClient* Services::RequireAdmin(tf::Diagnostics& diagnostics) const {
  return Require(admin, admin_missing, diagnostics);
}

clients::ArnicaClient* Services::RequireArnica(tf::Diagnostics& diagnostics) const {
  return Require(arnica, arnica_missing, diagnostics);
}

void ParallelFor(std::size_t count, int workers, const std::function<void(std::size_t)>& fn) {
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i = next++; i < count; i = next++) fn(i);
  };
  std::vector<std::thread> threads;
  std::size_t extra = std::min<std::size_t>(count, std::max(1, workers)) - (count > 0 ? 1 : 0);
  for (std::size_t t = 0; t < extra; ++t) threads.emplace_back(work);
  work();
  for (auto& thread : threads) thread.join();
}

void AddServiceError(tf::Diagnostics& diagnostics, const std::string& summary,
                     const absl::Status& status, std::optional<tf::AttributePath> path) {
  diagnostics.AddError(summary, std::string(status.message()), std::move(path));
}

}  // namespace arnica::resources
