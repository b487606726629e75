#!/usr/bin/env bash
# Builds the open-source goreleaser from the Go module proxy with the machine's Go, once per
# version, into a cache outside the checkout, and prints the path of the binary on stdout.
#
#   scripts/install-goreleaser.sh                            # the pinned version below
#   GORELEASER_VERSION=v2.15.1 scripts/install-goreleaser.sh
#
# Only `goreleaser check` runs in the tests; a release runs `goreleaser release` with this binary
# (see README.md, "Releasing").
set -euo pipefail

cache_root="${ARNICA_TOOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/terraform-provider-arnica}"
module=github.com/goreleaser/goreleaser/v2
# Pinned: newer releases may need a newer Go than the machines have.
version="${GORELEASER_VERSION:-v2.17.0}"

log() { printf 'install-goreleaser: %s\n' "$*" >&2; }

command -v go >/dev/null || { log "Go is needed to build goreleaser; install golang first"; exit 1; }

target="$cache_root/goreleaser/$version"
if [[ -x "$target/goreleaser" ]]; then
  echo "$target/goreleaser"
  exit 0
fi

log "building goreleaser $version into $target (a few minutes, once)"
mkdir -p "$target.tmp"
trap 'rm -rf "$target.tmp"' EXIT
# Outside any module, so that no go.mod nearby changes what is built; GOFLAGS from the caller
# (e.g. -mod=vendor) would not apply to module@version installs either.
(cd / && GOFLAGS= CGO_ENABLED=0 GOBIN="$target.tmp" go install -trimpath \
  -ldflags "-s -w -X main.version=${version#v} -X main.builtBy=install-goreleaser.sh" \
  "$module@$version")
"$target.tmp/goreleaser" --version >&2
rm -rf "$target"
mv "$target.tmp" "$target"
trap - EXIT
echo "$target/goreleaser"
