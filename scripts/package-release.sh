#!/usr/bin/env bash
# Builds the release binary and writes exactly the artifacts the Terraform and OpenTofu registries
# take for one version, for the platform this runs on:
#
#   terraform-provider-arnica_VERSION_OS_ARCH.zip     holding terraform-provider-arnica_vVERSION
#   terraform-provider-arnica_VERSION_manifest.json   {"version":1,"metadata":{"protocol_versions":["6.0"]}}
#   terraform-provider-arnica_VERSION_SHA256SUMS      sha256sum of the zip and the manifest
#   terraform-provider-arnica_VERSION_SHA256SUMS.sig  detached binary GPG signature of the sums
#
# usage: scripts/package-release.sh [--skip-signing] [--binary PATH] VERSION [OUT_DIR]
#
#   VERSION          1.2.3 or 1.2.3-rc.1 (a leading v is dropped)
#   OUT_DIR          where the artifacts go (default build-release/dist); this version's earlier
#                    artifacts there are replaced, nothing else is touched
#   --skip-signing   write no .sig (for trying the packaging; the registries need the signature)
#   --binary PATH    package this release binary instead of building one; it must report VERSION
#                    (the tests use the one the normal build links)
#
# Environment:
#   ARNICA_GPG_KEY            the signing key (fingerprint, key id or e-mail), required unless
#                             --skip-signing; the registries take RSA and DSA keys
#   GNUPGHOME                 the keyring holding it (gpg's default otherwise)
#   ARNICA_RELEASE_BUILD_DIR  build directory (default build-release/ in the checkout)
#   SOURCE_DATE_EPOCH         time stamped on the file in the zip (default: the commit's time), so
#                             the same binary always gives the same zip
#   CMAKE_BUILD_PARALLEL_LEVEL  build jobs, as for any cmake --build
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
name=terraform-provider-arnica

log() { printf 'package-release: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
usage() { sed -n 's/^# usage: //p' "${BASH_SOURCE[0]}" >&2; exit 2; }

sign=1
binary=""
args=()
while (($#)); do
  case "$1" in
    --skip-signing) sign=0 ;;
    --binary) (($# >= 2)) || usage; binary="$2"; shift ;;
    -h | --help) usage ;;
    -*) log "unknown option $1"; usage ;;
    *) args+=("$1") ;;
  esac
  shift
done
((${#args[@]} >= 1 && ${#args[@]} <= 2)) || usage
version="${args[0]#v}"
out="${args[1]:-$root/build-release/dist}"
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] ||
  die "VERSION must look like 1.2.3 or 1.2.3-rc.1, not '${args[0]}'"

for tool in zip sha256sum readelf; do
  command -v "$tool" >/dev/null || die "$tool is needed"
done

# Refuse early, before any build, when the signature could not be made.
if ((sign)); then
  [[ -n "${ARNICA_GPG_KEY:-}" ]] ||
    die "set ARNICA_GPG_KEY to the signing key (and GNUPGHOME to its keyring), or pass --skip-signing"
  command -v gpg >/dev/null || die "gpg is needed to sign"
  gpg --batch --list-secret-keys "$ARNICA_GPG_KEY" >/dev/null 2>&1 ||
    die "no secret key '$ARNICA_GPG_KEY' in ${GNUPGHOME:-the default keyring}"
fi

case "$(uname -s)" in
  Linux) os=linux ;;
  Darwin) os=darwin ;;
  *) die "unsupported OS $(uname -s)" ;;
esac
case "$(uname -m)" in
  x86_64 | amd64) arch=amd64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) die "unsupported architecture $(uname -m)" ;;
esac

commit=$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [[ "$commit" != unknown && -n "$(git -C "$root" status --porcelain --untracked-files=no)" ]]; then
  commit="$commit-dirty"
fi

if [[ -z "$binary" ]]; then
  build="${ARNICA_RELEASE_BUILD_DIR:-$root/build-release}"
  "$root/scripts/install-deps.sh"
  log "building $name $version ($commit) in $build"
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DARNICA_STATIC_RELEASE=ON \
    -DARNICA_VERSION="$version" -DARNICA_COMMIT="$commit" >/dev/null
  cmake --build "$build" --target "$name-release"
  binary="$build/release/$name"
fi
[[ -x "$binary" ]] || die "no release binary at $binary"

# The binary must be the one for this version, and must need nothing but glibc and libcurl.
reported=$("$binary" --version 2>&1 || true)
[[ "$reported" == "$name $version "* ]] ||
  die "$binary reports '$reported', not version $version"
while read -r needed; do
  [[ "$needed" =~ ^(libc|libm|libpthread|libdl|librt|libcurl)\.so\.[0-9]+$ ||
    "$needed" =~ ^ld-linux-[-_a-z0-9]+\.so\.[0-9]+$ ]] ||
    die "$binary needs $needed at run time: link it with -DARNICA_STATIC_RELEASE=ON"
done < <(readelf -d "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')

mkdir -p "$out"
out=$(cd "$out" && pwd)
prefix="${name}_${version}"
zip_file="${prefix}_${os}_${arch}.zip"
manifest="${prefix}_manifest.json"
sums="${prefix}_SHA256SUMS"
rm -f "$out/$zip_file" "$out/$manifest" "$out/$sums" "$out/$sums.sig"

# The zip: one file, fixed mode and time, no extra fields (-X), no directory entries (-D), times
# read in UTC, so the same binary gives the same bytes.
epoch="${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || echo 315532800)}"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp "$binary" "$stage/${name}_v${version}"
chmod 0755 "$stage/${name}_v${version}"
touch -d "@$epoch" "$stage/${name}_v${version}"
(cd "$stage" && TZ=UTC zip -q -X -D "$out/$zip_file" "${name}_v${version}")

printf '{"version":1,"metadata":{"protocol_versions":["6.0"]}}\n' >"$out/$manifest"

(cd "$out" && sha256sum "$zip_file" "$manifest" >"$sums")

if ((sign)); then
  gpg --batch --yes --local-user "$ARNICA_GPG_KEY" --detach-sign --output "$out/$sums.sig" \
    "$out/$sums"
  gpg --batch --verify "$out/$sums.sig" "$out/$sums" 2>/dev/null ||
    die "the signature just made does not verify"
fi

written=("$zip_file" "$manifest" "$sums")
((sign)) && written+=("$sums.sig")
log "wrote to $out:"
(cd "$out" && ls -l "${written[@]}" >&2)
