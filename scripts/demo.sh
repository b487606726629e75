#!/usr/bin/env bash
# The main job, until the Bitbucket and Arnica resources exist: OpenTofu drives the provider's
# test build through the protocol-fixture example (plan, apply, a second plan that finds nothing
# to do, destroy) in a scratch directory. Installs what it needs first.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="${ARNICA_BUILD_DIR:-$root/build}"

"$root/scripts/install-deps.sh"
tofu=$("$root/scripts/install-tofu.sh")
cmake -S "$root" -B "$build" -G Ninja -DARNICA_TOFU="$tofu" >/dev/null
cmake --build "$build" --target terraform-provider-arnica-fixture

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$root/examples/fixture-demo/main.tf" "$work/"
mkdir "$work/store"
cat >"$work/cli.tfrc" <<CONFIG
provider_installation {
  dev_overrides {
    "arnica/arnica" = "$build/fixture-bin"
  }
  direct {}
}
CONFIG
export TF_CLI_CONFIG_FILE="$work/cli.tfrc" ARNICA_FIXTURE_STORE="$work/store" TF_IN_AUTOMATION=1
cd "$work"

# Colour only on a terminal; a log or CI page gets plain text.
color=()
[[ -t 1 ]] || color=(-no-color)
step() { printf '\n==> %s\n' "$*"; }
step "tofu plan"
"$tofu" plan "${color[@]}" -out=demo.tfplan
step "tofu apply"
"$tofu" apply "${color[@]}" demo.tfplan
step "tofu plan -detailed-exitcode (a second plan must find nothing to do)"
"$tofu" plan "${color[@]}" -detailed-exitcode
step "tofu destroy"
"$tofu" destroy "${color[@]}" -auto-approve
