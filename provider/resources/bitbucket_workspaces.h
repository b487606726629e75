// data "arnica_bitbucket_workspaces": every Bitbucket workspace the configured credential can
// see, read to the end of the listing.
#pragma once

#include <memory>

#include "provider/tf/resource.h"

namespace arnica::resources {

std::shared_ptr<const tf::DataSource> NewBitbucketWorkspaces();

}  // namespace arnica::resources
