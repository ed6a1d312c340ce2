#!/usr/bin/env bash
# The dashboard's compiled site, embedded in the `sightline` crate from server/site/.
#
#   scripts/site.sh           build the site (cargo leptos, release, split) and copy it to
#                             server/site/ with brotli and gzip copies, and BUILT_FROM naming
#                             the sources' digest and the toolchain
#   scripts/site.sh check     fail unless server/site/ was built from the current sources
#   scripts/site.sh check --built
#                             also compare it byte for byte with target/site/, which a
#                             `cargo leptos build --release --split` just wrote (when built
#                             with the same toolchain: other compilers emit other bytes)
#
# The digest covers every input of the browser build: app/, frontend/, style/, public/, the
# workspace Cargo.toml (profiles, cargo-leptos settings), the wasm32 dependency tree and the
# pinned tool versions.
set -euo pipefail
shopt -s inherit_errexit
export LC_ALL=C
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
. scripts/env.sh

SITE=server/site
BUILT=target/site

sources_digest() {
  local files tree
  # Tracked and new (not ignored) files, by content: the same on every clone.
  files=$(git ls-files -co --exclude-standard -- app frontend style public \
    | xargs -d '\n' sha256sum)
  # Versions and features of every crate in the browser build; path crates without
  # their location on this machine.
  tree=$(cargo tree --locked -q -p sightline-frontend --target wasm32-unknown-unknown \
    -e normal,build --prefix none -f '{p} {f}' | sed -e 's/ (\*)$//' -e 's| ([^)]*/[^)]*)||' | sort -u)
  {
    echo "$files"
    sha256sum Cargo.toml scripts/versions.env scripts/env.sh
    echo "$tree"
    grep -A2 '"node_modules/binaryen"' end2end/package-lock.json | grep '"version"'
  } | sha256sum | cut -c1-64
}

toolchain() {
  rustc --version
  wasm-bindgen --version 2>/dev/null || echo "wasm-bindgen: not installed"
  wasm-opt --version 2>/dev/null || echo "wasm-opt: not installed"
}

# Files that make the site: everything but the stamp, wasm-bindgen's TypeScript types and
# the compressed copies (made here, from these).
site_files() {
  (cd "$1" && find . -type f -not -name BUILT_FROM -not -name '*.d.ts' -not -name '*.br' \
    -not -name '*.gz' | sed 's|^\./||' | sort)
}

# brotli (best) and gzip (best, no name or time) copies of every file: reproducible.
compress() {
  site_files "$SITE" | while read -r f; do
    brotli -q 11 -f -o "$SITE/$f.br" "$SITE/$f"
    gzip -9 -n -c "$SITE/$f" >"$SITE/$f.gz"
  done
}

# Every committed compressed copy decompresses to its file.
copies_match() {
  site_files "$SITE" | while read -r f; do
    cmp -s <(brotli -d -c "$SITE/$f.br") "$SITE/$f" || { echo "site: $f.br is not $f" >&2; return 1; }
    cmp -s <(gzip -d -c "$SITE/$f.gz") "$SITE/$f" || { echo "site: $f.gz is not $f" >&2; return 1; }
  done
}

# Whether a built file equals the committed one. The split loader and its manifest list the
# same names in an order that changes from build to build.
same_file() {
  local a="$SITE/$1" b="$BUILT/$1"
  case "$1" in
    *__wasm_split*) cmp -s <(tr -s ',{}[]\n\t ' '\n' <"$a" | sort) <(tr -s ',{}[]\n\t ' '\n' <"$b" | sort) ;;
    *) cmp -s "$a" "$b" ;;
  esac
}

case "${1:-build}" in
  build)
    # The browser side only: the server build embeds server/site, which is being made.
    cargo leptos build --release --split --frontend-only
    rm -rf "$SITE"
    mkdir -p "$SITE"
    site_files "$BUILT" | while read -r f; do
      mkdir -p "$SITE/$(dirname "$f")"
      cp "$BUILT/$f" "$SITE/$f"
    done
    compress
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
    copies_match
    echo "site: $SITE matches the sources ($want); its compressed copies match its files"
    if [ "${2:-}" = --built ]; then
      if ! diff <(site_files "$SITE") <(site_files "$BUILT") >/dev/null; then
        echo "site: $SITE and $BUILT hold different files:" >&2
        diff <(site_files "$SITE") <(site_files "$BUILT") >&2 || true
        exit 1
      fi
      if [ "$(grep -v '^sources ' "$SITE/BUILT_FROM")" != "$(toolchain)" ]; then
        echo "site: not compared byte for byte: $SITE was built with another toolchain:"
        grep -v '^sources ' "$SITE/BUILT_FROM" | sed 's/^/site:   /'
        exit 0
      fi
      differ=()
      while read -r f; do same_file "$f" || differ+=("$f"); done < <(site_files "$SITE")
      if [ ${#differ[@]} -gt 0 ]; then
        echo "site: the fresh build differs from $SITE in: ${differ[*]}" >&2
        echo "site: run scripts/site.sh and commit $SITE." >&2
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
