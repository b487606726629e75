// The `arnica` provider: its configuration schema and the objects it offers.
#pragma once

#include <memory>

#include "provider/tf/resource.h"

namespace arnica::resources {

// The provider with every resource, data source and function of this release registered.
std::shared_ptr<tf::Provider> NewArnicaProvider();

}  // namespace arnica::resources
