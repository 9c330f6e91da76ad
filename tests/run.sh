#!/usr/bin/env bash
# The whole test suite: Rust unit and CLI tests, then the Python interop and
# reference tests (zarr-python, xarray, dask, scipy, the Dask peer) against
# the release binary. Installs the pinned Python packages into .venv.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r tests/requirements.txt

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo build --release --quiet
cargo test --workspace --quiet

ATTR_BIN="$PWD/target/release/attr" .venv/bin/python -m pytest -q -W ignore::RuntimeWarning tests/python
