// resource "arnica_bitbucket_group_memberships": one user in one group across many Bitbucket
// workspaces, by default every workspace the configured credential administers, found at plan
// time, so that a new workspace shows up in the next plan.
#pragma once

#include <memory>

#include "provider/tf/resource.h"

namespace arnica::resources {

std::shared_ptr<const tf::Resource> NewBitbucketGroupMemberships();

}  // namespace arnica::resources
