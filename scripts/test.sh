#!/usr/bin/env bash
# Runs the whole test suite, installing what the tests need first:
# formatting and lint checks, unit tests, and the integration tests against
# moto, promtool, amtool, hadolint, Prometheus and Alertmanager; then every
# fuzz target for a short time (FUZZ_CI_SECONDS each, default 20; 0 skips).
#
# The fuzz build (nightly, AddressSanitizer) keeps its target directory in
# FUZZ_TARGET_DIR, by default under ~/.cache, so that a later run on the same
# machine only recompiles the exporter itself.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-test-deps.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --all-targets --locked -- -D warnings

echo "== test harness self-test"
PYTHONDONTWRITEBYTECODE=1 .venv/bin/python -m unittest discover -s tests/harness

echo "== cargo test"
cargo test --all-targets --locked "$@"

fuzz_seconds="${FUZZ_CI_SECONDS:-20}"
if [ "${fuzz_seconds}" != "0" ]; then
    echo "== fuzz: ${fuzz_seconds}s per target"
    started=$(date +%s)
    FUZZ_TARGET_DIR="${FUZZ_TARGET_DIR:-${XDG_CACHE_HOME:-${HOME}/.cache}/iam-credentials-exporter/fuzz-target}" \
        scripts/fuzz.sh -t "${fuzz_seconds}"
    echo "   fuzz step took $(($(date +%s) - started))s"
fi
