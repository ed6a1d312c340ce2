# Source this (`. scripts/env.sh`) before running cargo or cargo-leptos by hand.
# It selects a Rust toolchain that can build wasm32-unknown-unknown and puts the
# project's tools (wasm-opt, playwright) on PATH. It changes nothing on disk.

SIGHTLINE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$SIGHTLINE_ROOT/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"

# True when the given toolchain (empty: the active one) has the wasm32 standard library.
sightline_has_wasm_std() {
  local sysroot
  sysroot=$(RUSTUP_TOOLCHAIN="${1:-${RUSTUP_TOOLCHAIN:-}}" rustc --print sysroot 2>/dev/null) || return 1
  compgen -G "$sysroot/lib/rustlib/wasm32-unknown-unknown/lib/libstd-*.rlib" >/dev/null
}

# A normal rustup machine with the wasm32 target keeps its own toolchain. Otherwise use
# Debian's rustc-web, linked into rustup as `debian` by scripts/setup.sh.
if [ -z "${RUSTUP_TOOLCHAIN:-}" ] && ! sightline_has_wasm_std \
  && command -v rustup >/dev/null 2>&1 && rustup toolchain list 2>/dev/null | grep -q '^debian'; then
  export RUSTUP_TOOLCHAIN=debian
fi

# The browser build records source paths (panic locations); name them after the project and
# the registry rather than this machine's directories, so the site is the same bytes from
# any clone and says nothing about where it was built.
SIGHTLINE_CARGO_HOME=${CARGO_HOME:-$HOME/.cargo}
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="--remap-path-prefix=$SIGHTLINE_ROOT=/sightline --remap-path-prefix=$SIGHTLINE_CARGO_HOME=/cargo"
