#!/usr/bin/env bash
# Sets up (if needed), builds the release server and site, and starts Sightline.
# Extra arguments go to the server, e.g. `./scripts/run.sh --addr 127.0.0.1:8080`.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
./scripts/setup.sh
. scripts/env.sh
cargo leptos build --release --precompress --split
# The site just built, which matches this checkout even before scripts/site.sh copies it
# into server/site/ for embedding.
exec target/release/sightline --site-root target/site "$@"
