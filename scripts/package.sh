#!/usr/bin/env bash
# `sightline` as crates.io would get it: the file list must hold the embedded site and
# nothing from target/; then both crates are packaged (sightline-app first, as a
# dependency crates.io accepts) and the .crate sizes printed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
. scripts/env.sh

fail() { echo "package: $*" >&2; exit 1; }
list=$(cargo package -p sightline --list --allow-dirty) || fail "cargo package --list failed (above)"
for f in site/pkg/sightline.wasm site/pkg/sightline.wasm.br site/pkg/sightline.wasm.gz \
  site/pkg/sightline.js site/pkg/sightline.js.br site/pkg/sightline.css site/pkg/sightline.css.br \
  site/favicon.svg build.rs src/lib.rs README.md; do
  grep -qx "$f" <<<"$list" || fail "the package of sightline lacks $f"
done
if grep -E '^(target|tests|benches)/' <<<"$list"; then fail "the package holds files it must not (above)"; fi
echo "package: sightline lists $(wc -l <<<"$list") files, the embedded site among them"

cargo package -p sightline-app -p sightline --allow-dirty --no-verify --offline -q
for crate in target/package/sightline-app-*.crate target/package/sightline-[0-9]*.crate; do
  printf 'package: %s %s bytes\n' "$(basename "$crate")" "$(stat -c %s "$crate")"
done
