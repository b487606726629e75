// data "arnica_bitbucket_user": one Bitbucket user, found by UUID, by Atlassian account id, or by
// e-mail address among the members of a workspace.
#pragma once

#include <memory>

#include "provider/tf/resource.h"

namespace arnica::resources {

std::shared_ptr<const tf::DataSource> NewBitbucketUser();

}  // namespace arnica::resources
