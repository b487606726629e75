#!/usr/bin/env bash
# Generates the registry pages of docs/ (index.md, resources/, data-sources/, functions/) with
# tfplugindocs, from the schema the real host reports for the provider binary plus the prose in
# templates/ and the examples in examples/. No Go build of the provider is involved: the
# provider is installed into a throwaway filesystem mirror, `tofu init` runs against it (no
# network), and `tofu providers schema -json` goes to tfplugindocs' --providers-schema.
#
#   scripts/generate-docs.sh [options] [OUT_DIR]   # write the pages into OUT_DIR (default docs/)
#   scripts/generate-docs.sh --check [options]     # fail, printing the diff, when docs/ differs
#
# Options (each also read from the environment variable in brackets):
#   --provider BINARY      the provider to document [ARNICA_PROVIDER]; default: build it in
#                          ARNICA_BUILD_DIR (default build/) and take build/bin/terraform-provider-arnica
#   --tofu BINARY          the host [ARNICA_TOFU]; default: scripts/install-tofu.sh
#   --tfplugindocs BINARY  the generator [ARNICA_TFPLUGINDOCS]; default: scripts/install-tfplugindocs.sh
#
# Only the pages tfplugindocs owns are written or compared; other files in docs/ (emulators.md,
# development.md) are never touched.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)

log() { printf 'generate-docs: %s\n' "$*" >&2; }
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

check=false
out=""
provider="${ARNICA_PROVIDER:-}"
tofu="${ARNICA_TOFU:-}"
tfplugindocs="${ARNICA_TFPLUGINDOCS:-}"
while (($#)); do
  case "$1" in
    --check) check=true ;;
    --provider) provider="${2?--provider needs a path}"; shift ;;
    --provider=*) provider="${1#*=}" ;;
    --tofu) tofu="${2?--tofu needs a path}"; shift ;;
    --tofu=*) tofu="${1#*=}" ;;
    --tfplugindocs) tfplugindocs="${2?--tfplugindocs needs a path}"; shift ;;
    --tfplugindocs=*) tfplugindocs="${1#*=}" ;;
    -h | --help) usage ;;
    -*) log "unknown option $1"; usage ;;
    *) [[ -z "$out" ]] || usage; out="$1" ;;
  esac
  shift
done
[[ -z "$out" ]] || ! $check || { log "--check compares docs/; it takes no OUT_DIR"; exit 2; }
out="${out:-$root/docs}"

# The top-level pages and directories tfplugindocs owns in a rendered website directory.
registry_entries=(index.md resources data-sources functions ephemeral-resources guides actions
  list-resources state-stores)

[[ -n "$tofu" ]] || tofu=$("$root/scripts/install-tofu.sh")
[[ -n "$tfplugindocs" ]] || tfplugindocs=$("$root/scripts/install-tfplugindocs.sh")
if [[ -z "$provider" ]]; then
  build="${ARNICA_BUILD_DIR:-$root/build}"
  [[ -f "$build/build.ninja" ]] ||
    cmake -S "$root" -B "$build" -G Ninja -DARNICA_TOFU="$tofu" -DARNICA_TFPLUGINDOCS="$tfplugindocs" >/dev/null
  cmake --build "$build" --target terraform-provider-arnica >&2
  provider="$build/bin/terraform-provider-arnica"
fi
for tool in "$provider" "$tofu" "$tfplugindocs"; do
  [[ -x "$tool" ]] || { log "not an executable: $tool"; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/arnica-docs.XXXXXX")
work=$(cd "$work" && pwd -P)
trap 'rm -rf "$work"' EXIT

# The provider in a filesystem mirror (the unpacked layout `tofu providers mirror` writes), and a
# CLI configuration that installs from it alone, so `tofu init` reaches no network.
version=$(sed -n 's/^project(terraform-provider-arnica VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
case "$(uname -m)" in
  x86_64) arch=amd64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) arch=$(uname -m) ;;
esac
package="$work/mirror/registry.opentofu.org/arnica/arnica/$version/linux_$arch"
mkdir -p "$package" "$work/config"
cp "$provider" "$package/terraform-provider-arnica_v$version"
cat >"$work/cli.tfrc" <<CONFIG
provider_installation {
  filesystem_mirror {
    path    = "$work/mirror"
    include = ["registry.opentofu.org/arnica/*"]
  }
}
CONFIG
cat >"$work/config/main.tf" <<'CONFIG'
terraform {
  required_providers {
    arnica = {
      source = "arnica/arnica"
    }
  }
}
CONFIG

# Nothing from the caller's host setup may take part (another CLI configuration, a plugin cache,
# a provider being debugged, extra arguments).
unset TF_DATA_DIR TF_PLUGIN_CACHE_DIR TF_REATTACH_PROVIDERS TF_CLI_ARGS TF_CLI_ARGS_init \
  TF_CLI_ARGS_providers TF_LOG TF_LOG_PROVIDER TF_LOG_PATH
export TF_CLI_CONFIG_FILE="$work/cli.tfrc" TF_IN_AUTOMATION=1
if ! (cd "$work/config" && "$tofu" init -input=false -no-color >"$work/init.log" 2>&1); then
  cat "$work/init.log" >&2
  log "tofu init from the filesystem mirror failed"
  exit 1
fi
(cd "$work/config" && "$tofu" providers schema -json >"$work/schema-host.json")

# tfplugindocs looks the provider up under its short name (or HashiCorp's registry address), so
# the host's key, registry.opentofu.org/arnica/arnica, becomes "arnica".
python3 - "$work/schema-host.json" "$work/schema.json" <<'PY'
import json, sys
schemas = json.load(open(sys.argv[1]))
providers = schemas.get("provider_schemas", {})
if list(providers) != ["registry.opentofu.org/arnica/arnica"]:
    sys.exit(f"generate-docs: expected one provider in the host's schema, got {list(providers)}")
schemas["provider_schemas"] = {"arnica": providers["registry.opentofu.org/arnica/arnica"]}
json.dump(schemas, open(sys.argv[2], "w"), indent=1)
PY

# Every environment variable a setting's description names must be in the provider page's
# table of environment variables (the template), which is written by hand.
missing=()
while read -r variable; do
  grep -q "\`$variable\`" "$root/templates/index.md.tmpl" || missing+=("$variable")
done < <(grep -o 'Environment: `[A-Z0-9_]*`' "$work/schema.json" | sed 's/.*`\(.*\)`/\1/' | sort -u)
if ((${#missing[@]})); then
  log "templates/index.md.tmpl does not name these environment variables: ${missing[*]}"
  exit 1
fi

# tfplugindocs resolves every directory against --provider-dir, so the output directory is given
# relative to the checkout; it lands in $work, never in docs/ directly.
rendered=$(realpath -m --relative-to="$root" "$work/site/docs")
(cd "$root" && "$tfplugindocs" generate \
  --provider-dir "$root" \
  --provider-name arnica \
  --rendered-provider-name Arnica \
  --providers-schema "$work/schema.json" \
  --examples-dir examples \
  --website-source-dir templates \
  --website-temp-dir "$work/website" \
  --rendered-website-dir "$rendered" >"$work/tfplugindocs.log" 2>&1) || {
  cat "$work/tfplugindocs.log" >&2
  log "tfplugindocs generate failed"
  exit 1
}
# The registry's own checks of the result: layout, front matter, a page for every resource.
"$tfplugindocs" validate --provider-dir "$work/site" --provider-name arnica \
  --providers-schema "$work/schema.json" >"$work/validate.log" 2>&1 || {
  cat "$work/validate.log" >&2
  log "tfplugindocs validate refused the generated pages"
  exit 1
}

if $check; then
  mkdir -p "$work/committed"
  for entry in "${registry_entries[@]}"; do
    if [[ -e "$root/docs/$entry" ]]; then cp -r "$root/docs/$entry" "$work/committed/"; fi
  done
  if ! (cd "$work" && diff -ru committed site/docs); then
    log "docs/ differs from what the generator produces (above: - committed, + generated)."
    log "Edit templates/, examples/ or the schema descriptions, then run scripts/generate-docs.sh and commit docs/."
    exit 1
  fi
  log "docs/ is up to date"
  exit 0
fi

mkdir -p "$out"
for entry in "${registry_entries[@]}"; do
  rm -rf "${out:?}/$entry"
  if [[ -e "$work/site/docs/$entry" ]]; then cp -r "$work/site/docs/$entry" "$out/"; fi
done
(cd "$work/site/docs" && find . -type f | sort) | while read -r file; do echo "$out/${file#./}"; done
