#!/usr/bin/env bash
# Installs what Sightline's build and tests need, on Debian 12 or a normal rustup machine.
# Idempotent: a second run only checks, and takes seconds.
#
#   - Rust that builds wasm32-unknown-unknown: the active toolchain if it already can;
#     otherwise Debian's rustc-web, with a wasm32 std built once into its sysroot;
#   - cargo-leptos and wasm-bindgen-cli at the versions in scripts/versions.env;
#   - Debian's chromium and wrk; the end2end npm packages from package-lock.json.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=versions.env
. "$ROOT/scripts/versions.env"

say() { printf '\033[1msetup:\033[0m %s\n' "$*"; }
die() { printf '\033[1;31msetup: error:\033[0m %s\n' "$*" >&2; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# --- 0. The pinned wasm-bindgen CLI must match the crate in Cargo.lock. -------------------
lock_wbg=$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock")
if [ "$lock_wbg" != "$WASM_BINDGEN_VERSION" ]; then
  die "Cargo.lock has wasm-bindgen $lock_wbg but scripts/versions.env pins wasm-bindgen-cli $WASM_BINDGEN_VERSION; make them equal (and the \"=\" pin in Cargo.toml)."
fi

# --- 1. Decide the Rust route. ------------------------------------------------------------
. "$ROOT/scripts/env.sh"
route=native
if [ "${RUSTUP_TOOLCHAIN:-}" = debian ] || ! sightline_has_wasm_std; then
  command -v apt-get >/dev/null 2>&1 \
    || die "the active Rust toolchain cannot build wasm32-unknown-unknown; run: rustup target add wasm32-unknown-unknown"
  route=debian
fi

# --- 2. Debian packages, only those missing. ----------------------------------------------
packages=(chromium wrk brotli redis-server postgresql openssl nginx python3)
if [ "$route" = debian ]; then
  packages+=(rustc-web cargo-web rust-web-src rust-web-llvm lld-22 rust-web-clippy rustfmt-web)
fi
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
if command -v dpkg-query >/dev/null 2>&1; then
  missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  fi
  # Debian's wasm-opt 108 breaks wasm-bindgen 0.2.130 output; npm's binaryen is used instead.
  if dpkg-query -W -f='${Status}' binaryen 2>/dev/null | grep -q 'install ok installed'; then
    say "note: Debian's binaryen is installed; end2end/node_modules/.bin/wasm-opt takes precedence"
  fi
fi

# --- 3. The Debian toolchain, linked into rustup, with a wasm32 std. ----------------------
if [ "$route" = debian ]; then
  if command -v rustup >/dev/null 2>&1; then
    rustup toolchain list | grep -q '^debian' || rustup toolchain link debian /usr
    export RUSTUP_TOOLCHAIN=debian
  fi
  sysroot=$(rustc --print sysroot)
  dest="$sysroot/lib/rustlib/wasm32-unknown-unknown/lib"
  stamp="$dest/.built-by-sightline"
  want=$(rustc -vV | sha256sum | cut -c1-16)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "building the wasm32 standard library for $(rustc --version) (about a minute)"
    scratch=$(mktemp -d)
    trap 'rm -rf "$scratch"' EXIT
    cargo new --lib --vcs none --name wasm_std_seed "$scratch/seed" >/dev/null 2>&1
    # embed-bitcode lets the `lto = true` wasm-release profile optimise through std.
    (cd "$scratch/seed" && RUSTC_BOOTSTRAP=1 RUSTFLAGS=-Cembed-bitcode=yes CARGO_TARGET_DIR="$scratch/target" \
      cargo build -q --release --target wasm32-unknown-unknown -Zbuild-std=std,panic_abort,test)
    as_root mkdir -p "$dest"
    as_root find "$dest" -maxdepth 1 -name '*.rlib' -delete
    for rlib in "$scratch"/target/wasm32-unknown-unknown/release/deps/*.rlib; do
      case "$(basename "$rlib")" in libwasm_std_seed-*) continue ;; esac
      as_root cp "$rlib" "$dest/"
    done
    echo "$want" | as_root tee "$stamp" >/dev/null
  fi
  sightline_has_wasm_std || die "the wasm32 std was built but $(rustc --print sysroot) still lacks it"
fi
say "Rust: $(rustc --version) (${route} route)"

# --- 4. cargo-leptos and wasm-bindgen-cli, at the pinned versions. -------------------------
if [ "$(cargo-leptos --version 2>/dev/null)" != "cargo-leptos $CARGO_LEPTOS_VERSION" ]; then
  say "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 15 minutes on two cores)"
  # Without LTO and at optimisation level 1 the install takes a fraction of the memory and
  # time; a build tool that mostly waits on cargo and wasm-opt loses nothing by it.
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_OPT_LEVEL=1 \
    cargo install --locked cargo-leptos --version "$CARGO_LEPTOS_VERSION" --features no_downloads
fi
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 4 minutes)"
  # No --locked: its lock file names a webpki-roots release some registries do not serve.
  cargo install --force wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi
installed_wbg=$(wasm-bindgen --version | awk '{print $2}')
[ "$installed_wbg" = "$lock_wbg" ] \
  || die "wasm-bindgen-cli on PATH is $installed_wbg but Cargo.lock has wasm-bindgen $lock_wbg"

# --- 5. end2end npm packages (Playwright, wasm-opt), from the lock file. -------------------
lock_sum=$(sha256sum "$ROOT/end2end/package-lock.json" | cut -c1-16)
if [ "$(cat "$ROOT/end2end/node_modules/.lock-sum" 2>/dev/null)" != "$lock_sum" ]; then
  say "installing end2end npm packages"
  (cd "$ROOT/end2end" && npm ci --no-fund --no-audit --loglevel=error)
  echo "$lock_sum" > "$ROOT/end2end/node_modules/.lock-sum"
fi

say "ready"
