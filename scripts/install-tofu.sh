#!/usr/bin/env bash
# Builds OpenTofu from the Go module proxy with the machine's Go, once per version, into a cache
# outside the checkout, and prints the path of the binary on stdout.
#
#   scripts/install-tofu.sh            # newest release the proxy serves (>= 1.11)
#   TOFU_VERSION=v1.12.6 scripts/install-tofu.sh
#
# OpenTofu's go.mod carries a replace directive, so `go install module@version` refuses it; we
# download the module source and build ./cmd/tofu inside a writable copy instead.
set -euo pipefail

cache_root="${ARNICA_TOOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/terraform-provider-arnica}"
module=github.com/opentofu/opentofu
minimum=v1.11.0

log() { printf 'install-tofu: %s\n' "$*" >&2; }

command -v go >/dev/null || { log "Go is needed to build OpenTofu; install golang first"; exit 1; }

version="${TOFU_VERSION:-}"
if [[ -z "$version" ]]; then
  # Reuse the newest cached build when the proxy cannot be asked (offline re-runs).
  if ! versions=$(cd / && GOFLAGS=-mod=mod go list -m -versions "$module" 2>/dev/null); then
    cached=$(ls -1 "$cache_root/tofu" 2>/dev/null | sort -V | tail -n 1 || true)
    [[ -n "$cached" && -x "$cache_root/tofu/$cached/tofu" ]] || { log "cannot list $module versions"; exit 1; }
    echo "$cache_root/tofu/$cached/tofu"
    exit 0
  fi
  version=$(tr ' ' '\n' <<<"$versions" | grep -E '^v[0-9]+\.[0-9]+\.[0-9]+$' | sort -V | tail -n 1)
fi
if [[ "$(printf '%s\n%s\n' "$minimum" "$version" | sort -V | head -n 1)" != "$minimum" ]]; then
  log "OpenTofu $version is older than $minimum (write-only attributes need 1.11)"; exit 1
fi

target="$cache_root/tofu/$version"
if [[ -x "$target/tofu" ]]; then
  echo "$target/tofu"
  exit 0
fi

log "building OpenTofu $version into $target (a few minutes, once)"
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
src=$(cd "$work" && go mod download -json "$module@$version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
[[ -d "$src" ]] || { log "go mod download did not give a source directory"; exit 1; }
cp -r "$src" "$work/src"
chmod -R u+w "$work/src"
mkdir -p "$target.tmp"
(cd "$work/src" && CGO_ENABLED=0 go build -trimpath \
  -ldflags "-s -w -X github.com/opentofu/opentofu/version.dev=no" \
  -o "$target.tmp/tofu" ./cmd/tofu)
"$target.tmp/tofu" version >&2
rm -rf "$target"
mv "$target.tmp" "$target"
echo "$target/tofu"
