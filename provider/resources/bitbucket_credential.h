// resource "arnica_bitbucket_credential": the service account's Bitbucket credential, taken as
// input (no public API creates one), verified against Bitbucket at every plan and apply, and held
// to least privilege; and provider::arnica::required_scopes(kind), the default scope set.
#pragma once

#include <memory>

#include "provider/tf/resource.h"

namespace arnica::resources {

std::shared_ptr<const tf::Resource> NewBitbucketCredential();
std::shared_ptr<const tf::Function> NewRequiredScopesFunction();

}  // namespace arnica::resources
