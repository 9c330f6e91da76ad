#!/usr/bin/env bash
# The whole test suite: Rust unit and CLI tests, then the Python interop,
# reference and batch tests (zarr-python, xarray, dask, scipy, the Dask peer,
# a real Slurm cluster) against the release binary. Installs the pinned
# Python packages into .venv and Slurm from Debian's packages.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r tests/requirements.txt

# A real single-node Slurm cluster for the job-array tests (installed from
# Debian's packages if missing), stopped when the suite ends.
HPC="$PWD/../shared/hpc"
[ -x "$HPC/start-slurm.sh" ] || { echo "tests/run.sh: $HPC/start-slurm.sh not found (the shared/ folder beside the repository)" >&2; exit 1; }
SLURM_DIR=${ATTR_SLURM_DIR:-${TMPDIR:-/tmp}/slurm-test}
SLURM_INSTALL=1 "$HPC/start-slurm.sh" "$SLURM_DIR" > /dev/null
trap '"$HPC/stop-slurm.sh" "$SLURM_DIR" --purge > /dev/null 2>&1 || true' EXIT
# shellcheck disable=SC1091
source "$SLURM_DIR/slurm.env"

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo build --release --quiet
cargo test --workspace --release --quiet   # reuses the release build of the dependencies

ATTR_BIN="$PWD/target/release/attr" .venv/bin/python -m pytest -q -W ignore::RuntimeWarning tests/python
