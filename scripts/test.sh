#!/usr/bin/env bash
# Runs every test: installs what is missing (Debian packages, the OpenTofu build, cached outside
# the checkout), builds, and runs the unit and end-to-end suites with ctest. Fails if any test
# fails or if no test ran.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="${ARNICA_BUILD_DIR:-$root/build}"

"$root/scripts/install-deps.sh"
tofu=$("$root/scripts/install-tofu.sh")
goreleaser=$("$root/scripts/install-goreleaser.sh")
tfplugindocs=$("$root/scripts/install-tfplugindocs.sh")
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)

cmake -S "$root" -B "$build" -G Ninja -DARNICA_TOFU="$tofu" -DARNICA_GORELEASER="$goreleaser" -DARNICA_TFPLUGINDOCS="$tfplugindocs" -DARNICA_COMMIT="$commit" >/dev/null
cmake --build "$build"
ctest --test-dir "$build" --output-on-failure --no-tests=error -j "$(nproc)"
