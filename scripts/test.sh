#!/usr/bin/env bash
# Sets up (if needed) and runs every check: formatting, clippy (server and browser code),
# the Rust unit and integration tests, then Playwright against a fresh release build.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
./scripts/setup.sh
. scripts/env.sh

# Each step says when it starts (seconds since the script began), so a slow CI run shows
# where its time went.
step() { printf '\n\033[1m== %s\033[0m (at %d s)\n' "$*" "$SECONDS"; }

step "cargo fmt --check"
cargo fmt --all -- --check
cargo fmt --manifest-path end2end/embedder/Cargo.toml -- --check

step "the embedded site (server/site) was built from the current sources"
./scripts/site.sh check

step "clippy: server, app and tests"
cargo clippy --workspace --exclude sightline-frontend --all-targets -- -D warnings
step "clippy: browser build (wasm32, feature hydrate)"
cargo clippy -p sightline-frontend --target wasm32-unknown-unknown -- -D warnings

step "Rust unit and integration tests"
# The frontend is left out: with it, feature unification gives `app` both ssr and hydrate.
cargo test --workspace --exclude sightline-frontend

step "release build (server + WASM, split)"
# This server only serves the browser tests: optimised at level 1 it builds in far less
# time, and so does the outside app below, which shares its dependencies. The WASM's own
# profile (wasm-release) sets its level and is unaffected: it must equal server/site/.
export CARGO_PROFILE_RELEASE_OPT_LEVEL=1
cargo leptos build --release --split
./scripts/site.sh check --built

step "an app outside the workspace that depends on sightline alone"
# Its own lock file and workspace; the shared target directory saves compiling twice.
CARGO_TARGET_DIR="$ROOT/target" cargo build --release --locked \
  --manifest-path end2end/embedder/Cargo.toml

step "the crate as it would be published"
./scripts/package.sh

step "Playwright end-to-end tests (Chromium)"
(cd end2end && npx playwright test)
