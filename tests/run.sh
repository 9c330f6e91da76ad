#!/usr/bin/env bash
# The whole test suite: formatting and lints, the Rust unit and CLI tests,
# then the Python interop, reference and batch tests (zarr-python, xarray,
# segyio, scipy, Dask, a real single-node Slurm cluster) against the release
# binary. Installs the pinned Python packages into .venv (git-ignored) and
# Slurm from Debian's packages where it can.
#
# What this machine cannot run (Slurm without root, say) is skipped and
# named in the last lines. ATTR_REQUIRE_ALL=1 (set by .ci/run) makes any
# such skip a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r tests/requirements.txt

NOT_RUN=$(mktemp)
SLURM_DIR=${ATTR_SLURM_DIR:-${TMPDIR:-/tmp}/attr-slurm-test.$$}
trap 'tests/hpc/slurm.sh down "$SLURM_DIR" > /dev/null 2>&1 || true; rm -f "$NOT_RUN"' EXIT

# A throw-away Slurm cluster for the job-array tests, when this machine allows one.
if [ "$(id -u)" != 0 ]; then
    export ATTR_NO_SLURM="needs root to install and run Slurm's daemons"
elif ! tests/hpc/slurm.sh up "$SLURM_DIR" 2> "$SLURM_DIR.log"; then
    export ATTR_NO_SLURM="the test cluster did not start: $(tail -n 1 "$SLURM_DIR.log")"
else
    # shellcheck disable=SC1091
    source "$SLURM_DIR/slurm.env"
fi
rm -f "$SLURM_DIR.log"
if [ -n "${ATTR_NO_SLURM:-}" ] && [ "${ATTR_REQUIRE_ALL:-}" = 1 ]; then
    echo "tests/run.sh: batch under Slurm and LSF cannot run: $ATTR_NO_SLURM (ATTR_REQUIRE_ALL=1)" >&2
    exit 1
fi

cargo fmt --all -- --check
cargo clippy --release --workspace --all-targets --quiet -- -D warnings   # the release build reuses its C libraries
RUSTDOCFLAGS="-D warnings" cargo doc --release --no-deps --workspace --quiet   # the library's documentation (reuses clippy's release metadata)
cargo build --release --quiet
cargo test --workspace --release --quiet   # reuses the release build of the dependencies

ATTR_BIN="$PWD/target/release/attr" ATTR_NOT_RUN="$NOT_RUN" \
    .venv/bin/python -m pytest -q -rs -W ignore::RuntimeWarning tests/python

if [ -s "$NOT_RUN" ]; then
    echo "tests/run.sh: passed, but these groups did not run on this machine:"
    sort "$NOT_RUN" | uniq -c | sed 's/^ *\([0-9]*\) \(.*\)/  NOT RUN: \2 (\1 tests)/'
    if [ "${ATTR_REQUIRE_ALL:-}" = 1 ]; then exit 1; fi
else
    echo "tests/run.sh: every group ran"
fi
