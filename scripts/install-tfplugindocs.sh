#!/usr/bin/env bash
# Builds tfplugindocs (the registry's documentation generator) from the Go module proxy with the
# machine's Go, once per version, into a cache outside the checkout, and prints the path of the
# binary on stdout.
#
#   scripts/install-tfplugindocs.sh                     # the pinned version below
#   TFPLUGINDOCS_VERSION=v0.24.0 scripts/install-tfplugindocs.sh
#
# The version is pinned rather than "newest": the generated docs are committed and a test
# compares them with a fresh generation, so a new tfplugindocs that lays pages out differently
# must be a deliberate change (bump the pin, run scripts/generate-docs.sh, commit both).
set -euo pipefail

cache_root="${ARNICA_TOOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/terraform-provider-arnica}"
module=github.com/hashicorp/terraform-plugin-docs
version="${TFPLUGINDOCS_VERSION:-v0.25.0}"

log() { printf 'install-tfplugindocs: %s\n' "$*" >&2; }

target="$cache_root/tfplugindocs/$version"
if [[ -x "$target/tfplugindocs" ]]; then
  echo "$target/tfplugindocs"
  exit 0
fi

command -v go >/dev/null || { log "Go is needed to build tfplugindocs; install golang first"; exit 1; }

log "building tfplugindocs $version into $target (under a minute, once)"
rm -rf "$target.tmp"
mkdir -p "$target.tmp"
# From / so that no go.mod around the caller takes part; the version stamp is what goreleaser
# would set in an upstream release.
(cd / && CGO_ENABLED=0 GOBIN="$target.tmp" go install -trimpath \
  -ldflags "-s -w -X $module/cmd/tfplugindocs/build.version=${version#v}" \
  "$module/cmd/tfplugindocs@$version")
"$target.tmp/tfplugindocs" --version >&2
rm -rf "$target"
mv "$target.tmp" "$target"
echo "$target/tfplugindocs"
