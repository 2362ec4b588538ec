#!/usr/bin/env bash
# Installs everything the test suite needs beyond the Rust toolchain:
#
#   * Debian packages: prometheus (promtool), prometheus-alertmanager (amtool),
#     wrk (load generator), jsonnet (renders the monitoring mixin in mixin/),
#     binutils (readelf: the binary's glibc needs against the image's),
#     and python3 + python3-venv when they are missing;
#   * kubectl is not installed here but expected on the machine (its kustomize
#     renders deploy/kubernetes in tests/deploy/kubernetes.rs; Debian's
#     kubernetes-client is 1.20, whose kustomize is too old for the overlays):
#     this script says so when it is missing;
#   * a Python virtual environment at <repo>/.venv with the pinned packages of
#     tests/harness/requirements.txt (moto, boto3, prometheus_client,
#     grafana-foundation-sdk, ...);
#   * the Node packages of dashboards/ (@grafana/data and global-jsdom, which
#     tests/dashboards.rs runs the panels through), pinned by
#     dashboards/package-lock.json, with `npm ci` and Node.js 20 or later;
#   * cargo-fuzz, pinned, for the fuzz targets in fuzz/ (scripts/fuzz.sh and
#     the fuzz step of scripts/test.sh), which also need a nightly toolchain.
#
# Idempotent and fast when everything is already in place: apt-get runs only
# when a package is missing (and `apt-get update` only then), and the venv is
# rebuilt only when tests/harness/requirements.txt or the Python version
# changed (tracked by a stamp file inside the venv), and node_modules only
# when dashboards/package-lock.json or the Node.js version changed (a stamp
# file inside node_modules).
#
# Works non-interactively (CI=true, no stdin) as root on Debian 12; as a
# non-root user it uses sudo for apt-get when sudo is available.
#
# Environment:
#   PYTHON                 interpreter used to create the venv (default python3)
#   IAM_EXPORTER_SKIP_APT  set to 1 to skip the Debian package step
#   IAM_EXPORTER_SKIP_FUZZ set to 1 to skip installing cargo-fuzz
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv_dir="${repo_root}/.venv"
requirements="${repo_root}/tests/harness/requirements.txt"
stamp="${venv_dir}/.requirements.stamp"
python_bin="${PYTHON:-python3}"

log() { printf 'install-test-deps: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------------------
# Debian packages
# ---------------------------------------------------------------------------
deb_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

install_debs() {
    local wanted=(prometheus prometheus-alertmanager wrk jsonnet binutils)
    # The venv needs python3 with ensurepip; on Debian that is python3-venv.
    if ! command -v "${python_bin}" >/dev/null 2>&1 ||
        ! "${python_bin}" -c 'import venv, ensurepip' >/dev/null 2>&1; then
        wanted+=(python3 python3-venv)
    fi

    local missing=()
    local pkg
    for pkg in "${wanted[@]}"; do
        deb_installed "${pkg}" || missing+=("${pkg}")
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        log "Debian packages present: ${wanted[*]}"
        return 0
    fi

    command -v apt-get >/dev/null 2>&1 ||
        die "missing packages (${missing[*]}) and apt-get is not available; install them by hand"

    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || die "missing packages (${missing[*]}); run as root or install sudo"
        sudo=(sudo -n)
    fi

    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq </dev/null >&2
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >&2
}

if [ "${IAM_EXPORTER_SKIP_APT:-0}" = "1" ]; then
    log "skipping Debian packages (IAM_EXPORTER_SKIP_APT=1)"
else
    install_debs
fi

# ---------------------------------------------------------------------------
# cargo-fuzz (needs the nightly toolchain to run, not to install)
# ---------------------------------------------------------------------------
cargo_fuzz_version="0.13.2"

install_cargo_fuzz() {
    if [ "$(cargo fuzz --version 2>/dev/null)" = "cargo-fuzz ${cargo_fuzz_version}" ]; then
        log "cargo-fuzz ${cargo_fuzz_version} present"
    else
        log "installing cargo-fuzz ${cargo_fuzz_version}"
        cargo install cargo-fuzz --locked --version "${cargo_fuzz_version}" </dev/null >&2
    fi
    if ! cargo +nightly --version >/dev/null 2>&1; then
        log "warning: no nightly toolchain: scripts/fuzz.sh needs one (rustup toolchain install nightly)"
    fi
}

if [ "${IAM_EXPORTER_SKIP_FUZZ:-0}" = "1" ]; then
    log "skipping cargo-fuzz (IAM_EXPORTER_SKIP_FUZZ=1)"
else
    command -v cargo >/dev/null 2>&1 || die "cargo not found"
    install_cargo_fuzz
fi

command -v kubectl >/dev/null 2>&1 ||
    log "warning: kubectl not found: tests/deploy/kubernetes.rs will fail (install kubectl 1.28+ or set KUBECTL)"

# ---------------------------------------------------------------------------
# Node packages of dashboards/
# ---------------------------------------------------------------------------
dashboards_dir="${repo_root}/dashboards"
node_stamp="${dashboards_dir}/node_modules/.package-lock.stamp"

install_node_packages() {
    command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
        die "node and npm not found: the dashboard test needs Node.js 20 or later"
    local node_version
    node_version="$(node --version)"
    [ "$(node -p 'process.versions.node.split(".")[0] >= 20')" = "true" ] ||
        die "Node.js ${node_version} is too old: the dashboard test needs 20 or later"
    local wanted
    wanted="node=${node_version} lock=$(sha256sum "${dashboards_dir}/package-lock.json" | cut -d' ' -f1)"
    if [ -f "${node_stamp}" ] && [ "$(cat "${node_stamp}")" = "${wanted}" ]; then
        log "Node packages up to date: ${dashboards_dir}/node_modules"
        return 0
    fi
    log "installing the Node packages of dashboards/ (npm ci)"
    (cd "${dashboards_dir}" && npm ci --no-audit --no-fund --ignore-scripts </dev/null >&2)
    printf '%s\n' "${wanted}" >"${node_stamp}"
}

install_node_packages

# After a python3 install via apt, plain python3 may now resolve.
command -v "${python_bin}" >/dev/null 2>&1 || die "${python_bin} not found"

# ---------------------------------------------------------------------------
# Python virtual environment
# ---------------------------------------------------------------------------
[ -f "${requirements}" ] || die "${requirements} not found"

version_of() { "$1" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])'; }
requirements_sum="$(sha256sum "${requirements}" | cut -d' ' -f1)"

# An existing venv is kept whichever python3 made it, as long as its
# interpreter still runs and it was filled from the current requirements.
if [ -x "${venv_dir}/bin/python" ] && [ -f "${stamp}" ] &&
    venv_version="$(version_of "${venv_dir}/bin/python" 2>/dev/null)" &&
    [ "$(cat "${stamp}")" = "python=${venv_version} requirements=${requirements_sum}" ]; then
    log "venv up to date: ${venv_dir} (Python ${venv_version})"
    exit 0
fi

python_version="$(version_of "${python_bin}")"
log "creating venv ${venv_dir} (Python ${python_version})"
rm -f "${stamp}"
"${python_bin}" -m venv --clear "${venv_dir}"

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
"${venv_dir}/bin/python" -m pip install --quiet -r "${requirements}" </dev/null

# Quick smoke check of what the suite imports.
"${venv_dir}/bin/python" - <<'PY'
import boto3, grafana_foundation_sdk, kubernetes_validate, moto, yaml  # noqa: F401
from moto.server import ThreadedMotoServer  # noqa: F401
from prometheus_client.openmetrics.parser import text_string_to_metric_families  # noqa: F401
PY

printf 'python=%s requirements=%s\n' "$(version_of "${venv_dir}/bin/python")" "${requirements_sum}" >"${stamp}"
log "venv ready: ${venv_dir}"
