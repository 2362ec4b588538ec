#!/usr/bin/env bash
# Runs the cargo-fuzz targets in fuzz/, each for a given time.
#
#   scripts/fuzz.sh [-t SECONDS] [-n] [TARGET...]
#
# With no TARGET, runs every target in turn (`scripts/fuzz.sh -l` lists
# them). Each target starts from its corpus in fuzz/corpus/TARGET (kept
# between runs, not committed) plus its seeds: the committed fuzz/seeds/TARGET
# and, for the credential report, the fixtures in tests/fixtures/reports,
# tests/fixtures/e2e, tests/golden and examples/. New interesting inputs are
# written to fuzz/corpus/TARGET only. -n runs the binaries of the last build
# without building (for a second run alongside a first one).
#
# Exits non-zero as soon as a target crashes (panic, sanitizer error,
# timeout or out of memory), after printing the input that did it, escaped,
# and the path of the artifact under fuzz/artifacts/TARGET/. Reproduce with
#   cargo +nightly fuzz run TARGET fuzz/artifacts/TARGET/crash-...
# and turn it into a regression test next to the parser.
#
# Needs a nightly toolchain and cargo-fuzz (scripts/install-test-deps.sh
# installs the pinned version).
#
# Environment:
#   FUZZ_SECONDS     time per target when -t is not given (default 60)
#   FUZZ_TOOLCHAIN   rustup toolchain (default nightly)
#   FUZZ_SANITIZER   address (default) or none: without ASan the build is
#                    quicker and runs faster, and still catches every panic
#   FUZZ_TARGET_DIR  cargo target directory of the fuzz build (default
#                    fuzz/target); keep it between runs to rebuild only the
#                    exporter
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${repo}"

seconds="${FUZZ_SECONDS:-60}"
toolchain="${FUZZ_TOOLCHAIN:-nightly}"
sanitizer="${FUZZ_SANITIZER:-address}"
build_args=(--sanitizer "${sanitizer}")
[ -z "${FUZZ_TARGET_DIR:-}" ] || build_args+=(--target-dir "${FUZZ_TARGET_DIR}")

all_targets=(report_parse report_fields rfc3339 duration_flag bytes_flag web_config)

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
    exit 2
}

build=1
while getopts "t:nlh" opt; do
    case "${opt}" in
    t) seconds="${OPTARG}" ;;
    n) build=0 ;;
    l)
        printf '%s\n' "${all_targets[@]}"
        exit 0
        ;;
    *) usage ;;
    esac
done
shift $((OPTIND - 1))
[[ "${seconds}" =~ ^[1-9][0-9]*$ ]] || {
    echo "fuzz.sh: -t needs a whole number of seconds, got ${seconds:?}" >&2
    exit 2
}
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=("${all_targets[@]}")
for target in "${targets[@]}"; do
    [[ " ${all_targets[*]} " == *" ${target} "* ]] || {
        echo "fuzz.sh: unknown target ${target} (targets: ${all_targets[*]})" >&2
        exit 2
    }
done

cargo "+${toolchain}" fuzz --version >/dev/null 2>&1 || {
    echo "fuzz.sh: cargo-fuzz or the ${toolchain} toolchain is missing; run scripts/install-test-deps.sh" >&2
    exit 2
}

# Per target: dictionary, largest input, and the directories its seeds come from.
dict_of() {
    case "$1" in
    report_parse | report_fields) echo report ;;
    rfc3339) echo rfc3339 ;;
    duration_flag) echo duration ;;
    bytes_flag) echo bytes ;;
    web_config) echo web_config ;;
    esac
}
max_len_of() {
    case "$1" in
    report_parse | report_fields) echo 16384 ;;
    web_config) echo 8192 ;;
    *) echo 256 ;;
    esac
}
seeds_of() {
    local dirs=()
    [ -d "fuzz/seeds/$1" ] && dirs+=("fuzz/seeds/$1")
    case "$1" in
    report_parse) dirs+=(tests/fixtures/reports tests/fixtures/e2e tests/golden examples) ;;
    web_config) dirs+=(tests/fixtures/web) ;;
    esac
    [ "${#dirs[@]}" -eq 0 ] || printf '%s\n' "${dirs[@]}"
}

# Prints a crash input as a Rust byte-string literal, ready for a regression test.
print_input() {
    local file="$1"
    printf 'input (%s bytes) as a Rust byte string:\n  b"' "$(wc -c <"${file}")"
    od -An -v -tu1 "${file}" | awk '{
        for (i = 1; i <= NF; i++) {
            c = $i + 0
            if (c == 34) printf "\\\""
            else if (c == 92) printf "\\\\"
            else if (c == 10) printf "\\n"
            else if (c == 13) printf "\\r"
            else if (c == 9) printf "\\t"
            else if (c >= 32 && c < 127) printf "%c", c
            else printf "\\x%02x", c
        }
    }'
    printf '"\n'
}

[ "${build}" = 0 ] || echo "== fuzz build (${toolchain}, sanitizer ${sanitizer})"
host="$(rustc "+${toolchain}" -vV | sed -n 's/^host: //p')"
bin_dir="${FUZZ_TARGET_DIR:-fuzz/target}/${host}/release"
if [ "${build}" = 1 ]; then
    build_log="$(mktemp)"
    build_started=$(date +%s)
    if ! cargo "+${toolchain}" fuzz build "${build_args[@]}" >"${build_log}" 2>&1; then
        cat "${build_log}" >&2
        rm -f "${build_log}"
        echo "fuzz.sh: the fuzz build failed" >&2
        exit 1
    fi
    rm -f "${build_log}"
    echo "   built in $(($(date +%s) - build_started))s"
fi

status=0
for target in "${targets[@]}"; do
    corpus="fuzz/corpus/${target}"
    artifacts="fuzz/artifacts/${target}"
    mkdir -p "${corpus}" "${artifacts}"
    mapfile -t seeds < <(seeds_of "${target}")
    log="$(mktemp)"
    started=$(date +%s)
    echo "== fuzz ${target}: ${seconds}s (corpus ${corpus}, seeds ${seeds[*]})"
    set +e
    # The binary the build made, run directly: `cargo fuzz run` would check
    # (and in some checkouts redo) the build once per target.
    ASAN_OPTIONS="${ASAN_OPTIONS:+${ASAN_OPTIONS}:}detect_odr_violation=0" \
        "${bin_dir}/${target}" "${corpus}" "${seeds[@]}" \
        -max_total_time="${seconds}" \
        -dict="fuzz/dict/$(dict_of "${target}").dict" \
        -max_len="$(max_len_of "${target}")" \
        -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="${artifacts}/" \
        -print_final_stats=1 >"${log}" 2>&1
    rc=$?
    set -e
    elapsed=$(($(date +%s) - started))
    runs="$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "${log}" | grep -Eo '[0-9]+$' | tail -n 1 || true)"
    echo "   ${target}: exit ${rc} after ${elapsed}s, ${runs:-?} executions, corpus $(find "${corpus}" -type f | wc -l) files"
    if [ "${rc}" -ne 0 ]; then
        status=1
        echo "!! fuzz ${target} failed; its output ends with:" >&2
        grep -v '^#[0-9]' "${log}" | tail -n 40 >&2
        artifact="$(grep -Eo "${artifacts}/(crash|oom|timeout|leak|slow-unit)-[0-9a-f]+" "${log}" | tail -n 1 || true)"
        if [ -n "${artifact}" ] && [ -f "${artifact}" ]; then
            echo "artifact: ${artifact}" >&2
            print_input "${artifact}" >&2
        fi
        rm -f "${log}"
        exit "${status}"
    fi
    rm -f "${log}"
done
exit "${status}"
