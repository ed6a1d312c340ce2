#!/usr/bin/env bash
# The dashboard's compiled site, embedded in the `sightline` crate from server/site/.
#
#   scripts/site.sh           build the site (cargo leptos, release, precompressed) and copy
#                             it to server/site/, with BUILT_FROM naming the sources' digest
#   scripts/site.sh check     fail unless server/site/ was built from the current sources
#   scripts/site.sh check --built
#                             also compare it byte for byte with target/site/, which a
#                             `cargo leptos build --release --precompress --split` just wrote
#
# The digest covers every input of the browser build: app/, frontend/, style/, public/, the
# workspace Cargo.toml (profiles, cargo-leptos settings), the wasm32 dependency tree and the
# pinned tool versions. BUILT_FROM also records the toolchain, for information.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
. scripts/env.sh

SITE=server/site
BUILT=target/site

sources_digest() {
  {
    find app frontend style public -type f -not -name '*~' -print0 | sort -z | xargs -0 sha256sum
    sha256sum Cargo.toml scripts/versions.env
    cargo tree --locked --offline -q -p sightline-frontend --target wasm32-unknown-unknown \
      -e normal,build --prefix none -f '{p} {f}' | sed 's/ (\*)$//' | sort -u
    grep -A2 '"node_modules/binaryen"' end2end/package-lock.json | grep '"version"'
  } | sha256sum | cut -c1-64
}

toolchain() {
  rustc --version
  wasm-bindgen --version 2>/dev/null || echo "wasm-bindgen: not installed"
  wasm-opt --version 2>/dev/null || echo "wasm-opt: not installed"
}

# Files that make the site: everything but the stamp and wasm-bindgen's TypeScript types.
site_files() {
  (cd "$1" && find . -type f -not -name BUILT_FROM -not -name '*.d.ts' -not -name '*.d.ts.*' \
    | sed 's|^\./||' | sort)
}

case "${1:-build}" in
  build)
    # The browser side only: the server build embeds server/site, which is being made.
    cargo leptos build --release --precompress --split --frontend-only
    rm -rf "$SITE"
    mkdir -p "$SITE"
    (cd "$BUILT" && site_files . | while read -r f; do
      mkdir -p "$ROOT/$SITE/$(dirname "$f")"
      cp "$f" "$ROOT/$SITE/$f"
    done)
    { echo "sources $(sources_digest)"; toolchain; } >"$SITE/BUILT_FROM"
    echo "site: $SITE updated:"
    du -b "$SITE"/pkg/* | sort -k2
    ;;
  check)
    want=$(sources_digest)
    have=$(awk '$1 == "sources" { print $2 }' "$SITE/BUILT_FROM" 2>/dev/null || true)
    if [ "$want" != "$have" ]; then
      echo "site: $SITE was not built from the current sources (digest $have, sources $want)." >&2
      echo "site: run scripts/site.sh and commit $SITE." >&2
      exit 1
    fi
    echo "site: $SITE matches the sources ($want)"
    if [ "${2:-}" = --built ]; then
      if ! diff <(site_files "$SITE") <(site_files "$BUILT") >/dev/null; then
        echo "site: $SITE and $BUILT hold different files:" >&2
        diff <(site_files "$SITE") <(site_files "$BUILT") >&2 || true
        exit 1
      fi
      differ=()
      while read -r f; do cmp -s "$SITE/$f" "$BUILT/$f" || differ+=("$f"); done < <(site_files "$SITE")
      if [ ${#differ[@]} -gt 0 ]; then
        echo "site: the fresh build differs from $SITE in: ${differ[*]}" >&2
        echo "site: $SITE was built with:" >&2
        grep -v '^sources ' "$SITE/BUILT_FROM" >&2
        echo "site: this build used:" >&2
        toolchain >&2
        exit 1
      fi
      echo "site: the fresh build equals $SITE byte for byte"
    fi
    ;;
  *)
    echo "usage: scripts/site.sh [build | check [--built]]" >&2
    exit 2
    ;;
esac
