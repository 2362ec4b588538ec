#!/usr/bin/env bash
# Benchmarks: scrape cost, memory, and the Python prometheus_client reference,
# for synthetic reports of 500, 5,000 and 50,000 users (two keys each).
#
#   bench/run.sh                      # all sizes, rewrites BENCHMARKS.md sections
#   BENCH_SIZES=500,5000 bench/run.sh # fewer sizes
#
# Needs the test venv (scripts/install-test-deps.sh) for prometheus_client.
# Builds the exporter in release mode, and the benchmark tool (bench/main.rs)
# into target/bench. Run on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

cargo build --release --locked
cargo build --release --manifest-path bench/Cargo.toml --target-dir target/bench
exec .venv/bin/python bench/run.py "$@"
