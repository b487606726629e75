#include "tests/emulators/emulator.h"

namespace arnica::emulators {

void AddBitbucketRoutes(Router&) {}

}  // namespace arnica::emulators
