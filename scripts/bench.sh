#!/usr/bin/env bash
# Sets up (if needed) and runs Sightline's benchmarks; arguments pick some of them:
# record | sampler | overhead | fanout | history | events | flood | cluster | proxy
# (e.g. `scripts/bench.sh flood`).
# Results go to stdout as Markdown tables.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
./scripts/setup.sh >&2
. scripts/env.sh
cargo bench -p sightline --bench sightline -- "$@"
