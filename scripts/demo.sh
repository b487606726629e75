#!/usr/bin/env bash
# The main job. Builds the provider and the bundled emulators, starts the emulators (on
# 127.0.0.1 only) with a world of four Bitbucket Cloud workspaces, one of them administered in
# admin.atlassian.com, and an Arnica tenant; installs the provider from a local filesystem
# mirror, the way users install a release; and runs the quickstart (examples/quickstart):
# tofu init, plan, apply, then a second plan that must find nothing to do. The emulators keep
# running afterwards so the result can be inspected; the script ends by saying where to look and
# how to stop them. Installs what it needs first.
#
# ARNICA_BUILD_DIR: the build directory (default build/). ARNICA_DEMO_DIR: where the demo works
# (default: a new directory under /tmp).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="${ARNICA_BUILD_DIR:-$root/build}"

"$root/scripts/install-deps.sh"
tofu=$("$root/scripts/install-tofu.sh")
cmake -S "$root" -B "$build" -G Ninja -DARNICA_TOFU="$tofu" >/dev/null
cmake --build "$build" --target terraform-provider-arnica arnica-emulators

version=$(sed -n 's/^project(terraform-provider-arnica VERSION \([0-9.]*\).*/\1/p' \
  "$root/CMakeLists.txt")
case "$(uname -m)" in
  x86_64) arch=amd64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) arch=$(uname -m) ;;
esac
work="${ARNICA_DEMO_DIR:-$(mktemp -d /tmp/arnica-demo.XXXXXX)}"
mkdir -p "$work"
work=$(cd "$work" && pwd)

# The emulators, with the seed the quickstart's end-to-end test uses. Stopped again if the demo
# fails; left running when it succeeds.
ready="$work/emulators.json"
rm -f "$ready"
"$build/emulators/arnica-emulators" --seed "$root/tests/emulators/seeds/quickstart.json" \
  --ready-file "$ready" >/dev/null 2>"$work/emulators.log" &
emulators_pid=$!
stop_on_failure() { kill "$emulators_pid" 2>/dev/null || true; }
trap stop_on_failure ERR INT TERM
for _ in $(seq 300); do
  [[ -s "$ready" ]] && break
  if ! kill -0 "$emulators_pid" 2>/dev/null; then
    echo "The emulators did not start; see $work/emulators.log" >&2
    exit 1
  fi
  sleep 0.1
done
[[ -s "$ready" ]] || { echo "The emulators did not become ready in 30 s" >&2; stop_on_failure; exit 1; }
url() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" "$ready"; }
bitbucket=$(url bitbucket)
admin=$(url atlassian_admin)
arnica=$(url arnica)

# The provider from a filesystem mirror (the layout `tofu providers mirror` writes), and no
# other installation source, so `tofu init` reaches no network.
package="$work/mirror/registry.opentofu.org/arnica/arnica/$version/linux_$arch"
mkdir -p "$package"
cp "$build/bin/terraform-provider-arnica" "$package/terraform-provider-arnica_v$version"
cat >"$work/cli.tfrc" <<CONFIG
provider_installation {
  filesystem_mirror {
    path    = "$work/mirror"
    include = ["registry.opentofu.org/arnica/*"]
  }
}
CONFIG

# Everything the quickstart reads from the environment. The secrets are the seed's fake ones.
cat >"$work/env.sh" <<ENV
export TF_CLI_CONFIG_FILE="$work/cli.tfrc" TF_IN_AUTOMATION=1
export BITBUCKET_API_BASE_URL="$bitbucket"
export BITBUCKET_OAUTH_TOKEN_URL="$bitbucket/site/oauth2/access_token"
export BITBUCKET_OAUTH_CLIENT_ID=FAKEoauthClientId0001
export BITBUCKET_OAUTH_CLIENT_SECRET=FAKEoauthClientSecret-0001-not-a-real-secret
export ATLASSIAN_ADMIN_BASE_URL="$admin"
export ATLASSIAN_ADMIN_ORG_ID=0f0a0000-0000-4000-8000-0000000000f1
export ATLASSIAN_ADMIN_API_KEY=ATCOFAKEFAKEFAKE-acme-org-api-key-0001
export ARNICA_API_BASE_URL="$arnica"
export ARNICA_API_TOKEN=arnica-FAKE-api-key-0001-not-a-real-key
export TF_VAR_service_account_email=arnica-svc@example.com
export TF_VAR_service_account_token=ATATT3xFAKEFAKEFAKE-arnica-svc-api-token-0001
ENV
# shellcheck source=/dev/null
source "$work/env.sh"

mkdir -p "$work/quickstart"
cp "$root/examples/quickstart/main.tf" "$work/quickstart/"
cd "$work/quickstart"

# Colour only on a terminal; a log or CI page gets plain text.
color=()
[[ -t 1 ]] || color=(-no-color)
step() { printf '\n==> %s\n' "$*"; }
step "tofu init (from the local mirror)"
"$tofu" init "${color[@]}" -input=false
step "tofu plan"
"$tofu" plan "${color[@]}" -input=false -out=quickstart.tfplan
step "tofu apply"
"$tofu" apply "${color[@]}" -input=false quickstart.tfplan
step "tofu plan -detailed-exitcode (a second plan must find nothing to do)"
"$tofu" plan "${color[@]}" -input=false -detailed-exitcode

trap - ERR INT TERM
cat <<DONE

==> Done: every workspace's Administrators group holds the service account, and Arnica's
    Bitbucket Cloud integration covers every workspace.

Where to look:
  the configuration and its state:
    $work/quickstart
  the emulated world (Bitbucket, the Atlassian Admin API and Arnica share it):
    curl -s $bitbucket/_emulator/state
  every request the provider made to Arnica (and the same route on the other two):
    curl -s $arnica/_emulator/requests
  operations that simulate drift, and faults: docs/emulators.md

Try drift yourself: remove the service account from acme-mobile's Administrators group, plan
(exit code 2, one change), apply, plan again (no changes):
  curl -s -X POST $bitbucket/_emulator/ops -d '{"op":"remove_group_member","workspace":"acme-mobile","group":"administrators","user":"{5e1c0a00-0000-4000-8000-00000000a001}"}'
  source $work/env.sh && cd $work/quickstart
  $tofu plan -detailed-exitcode; $tofu apply

Stop the emulators:
  kill $emulators_pid
DONE
