#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need, and nothing else. Idempotent: when
# every package is already present it changes nothing and does not touch the network.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libgrpc++-dev protobuf-compiler-grpc protobuf-compiler libprotobuf-dev
  libcurl4-openssl-dev libssl-dev nlohmann-json3-dev libmsgpack-cxx-dev libcpp-httplib-dev
  libgtest-dev libgmock-dev
  python3-protobuf python3-yaml clang-format clang-tidy
  zip unzip gnupg
  golang-go
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# The machine's own Go (not Debian's) is fine for building OpenTofu when it is new enough.
if command -v go >/dev/null; then
  missing=("${missing[@]/golang-go}")
fi
read -r -a missing <<<"${missing[*]}"
if ((${#missing[@]} == 0)); then
  exit 0
fi

sudo=()
((EUID == 0)) || sudo=(sudo)
printf 'install-deps: installing %s\n' "${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq >&2
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
