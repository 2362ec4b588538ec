#!/usr/bin/env bash
# Runs the whole test suite, installing what the tests need first:
# formatting and lint checks, unit tests, and the integration tests against
# moto, promtool, amtool, hadolint, Prometheus and Alertmanager.
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
