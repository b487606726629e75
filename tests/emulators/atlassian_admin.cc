#include "tests/emulators/emulator.h"

namespace arnica::emulators {

void AddAtlassianAdminRoutes(Router&) {}

}  // namespace arnica::emulators
