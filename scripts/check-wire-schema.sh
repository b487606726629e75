#!/usr/bin/env bash
# Checks that schema/*.proto match, fact for fact, the protocol files of the host under test:
# tfplugin6 against the OpenTofu release's docs/plugin-protocol, the go-plugin services against
# the go-plugin version that release builds with. Both come from the Go module proxy.
#
#   scripts/check-wire-schema.sh /path/to/tofu
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tofu=${1:?usage: check-wire-schema.sh TOFU_BINARY}
version=v$("$tofu" version -json 2>/dev/null | sed -n 's/.*"terraform_version": *"\([^"]*\)".*/\1/p')
work=$(mktemp -d)
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT

download() { (cd "$work" && go mod download -json "$1" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p'); }
tofu_src=$(download "github.com/opentofu/opentofu@$version")
plugin_version=$(awk '$1 == "github.com/hashicorp/go-plugin" {print $2}' "$tofu_src/go.mod")
plugin_src=$(download "github.com/hashicorp/go-plugin@$plugin_version")

# The newest protocol 6 file the release carries.
host_proto=$(ls "$tofu_src"/docs/plugin-protocol/tfplugin6*.proto | sort -V | tail -n 1)
echo "host: OpenTofu $version ($(basename "$host_proto")), go-plugin $plugin_version"

compile() {  # compile DIR FILE OUT
  protoc --proto_path="$1" --proto_path=/usr/include --descriptor_set_out="$3" "$1/$2"
}
status=0
check() {  # check OUR_FILE HOST_DIR HOST_FILE [renames...]
  local ours=$1 host_dir=$2 host_file=$3
  shift 3
  mkdir -p "$work/host"
  cp "$host_dir/$host_file" "$work/host/$ours"
  chmod u+w "$work/host/$ours"
  compile "$root/schema" "$ours" "$work/ours.pb"
  compile "$work/host" "$ours" "$work/theirs.pb"
  printf '%s: ' "$ours"
  /usr/bin/python3 "$root/scripts/wire_schema_diff.py" "$work/ours.pb" "$work/theirs.pb" "$@" ||
    status=1
}
check tfplugin6.proto "$(dirname "$host_proto")" "$(basename "$host_proto")" GetMetadata_=GetMetadata
check grpc_controller.proto "$plugin_src/internal/plugin" grpc_controller.proto
check grpc_stdio.proto "$plugin_src/internal/plugin" grpc_stdio.proto
exit $status
