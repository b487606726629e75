// resource "arnica_bitbucket_integration": Arnica's Bitbucket Cloud integration, bound to the
// service account's credential. Arnica validates the credential against Bitbucket when it is
// registered or rotated; every refresh reads Arnica's status and checks, through the public
// inventory API, that each expected workspace has repositories in Arnica, so a lapse shows as
// drift and apply repairs it (re-sending the credential, re-running ingestion).
//
// The integration endpoints are our model of the product's flow (Arnica publishes none); see
// provider/clients/arnica_paths.h and docs/resources/bitbucket_integration.md.
#pragma once

#include <memory>

#include "provider/tf/resource.h"

namespace arnica::resources {

std::shared_ptr<const tf::Resource> NewBitbucketIntegration();

}  // namespace arnica::resources
