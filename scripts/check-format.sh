#!/usr/bin/env bash
# Fails, listing the files, when any tracked C++ source differs from what .clang-format asks.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mapfile -t files < <(git ls-files '*.cc' '*.h' 2>/dev/null || find provider tests bench -name '*.cc' -o -name '*.h')
((${#files[@]} > 0)) || { echo "no sources found" >&2; exit 1; }
clang-format --dry-run --Werror "${files[@]}"
echo "${#files[@]} files formatted as .clang-format asks"
