// resource "arnica_bitbucket_group_membership": one user in one group of one Bitbucket
// workspace (by default the Administrators group), through Bitbucket's 1.0 groups API, or the
// Atlassian Admin API for workspaces administered in admin.atlassian.com.
#pragma once

#include <memory>

#include "provider/tf/resource.h"

namespace arnica::resources {

std::shared_ptr<const tf::Resource> NewBitbucketGroupMembership();

}  // namespace arnica::resources
