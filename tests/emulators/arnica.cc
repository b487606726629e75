#include "tests/emulators/emulator.h"

namespace arnica::emulators {

void AddArnicaRoutes(Router&) {}

}  // namespace arnica::emulators
