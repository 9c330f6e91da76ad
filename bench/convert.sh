#!/usr/bin/env bash
# SEG-Y -> Zarr: `attr convert segy` against the segyio + zarr-python
# conversion a Python user writes (bench/segyio_to_zarr.py), side by side in
# one run, on >= 0.5 GB files (`attr synth` exported as SEG-Y) in IEEE
# (format 5) and IBM (format 1) floats,
# 128^3 chunks, no compression and zstd level 3 in both. Prints wall time,
# peak RSS and the ratio. Usage: [REPEAT=3] bench/convert.sh [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-/tmp/attr-bench-convert}
mkdir -p "$WORK"
[ -x .venv/bin/python ] || { python3 -m venv .venv && .venv/bin/pip install -q -r tests/requirements.txt; }
PY=.venv/bin/python
cargo build --release -q
ATTR=${CARGO_TARGET_DIR:-target}/release/attr
# wall seconds and peak RSS (MiB) of a command writing OUT: the fastest of
# REPEAT runs (default 3; the machine is shared and its disk writeback is
# bursty), both converters alike. Usage: measure OUT CMD...
measure() {
    local out=$1 best= i
    shift
    for ((i = 0; i < ${REPEAT:-3}; i++)); do
        rm -rf "$out"
        /usr/bin/time -f "%e %M" -o "$WORK/time.txt" "$@" >/dev/null 2>&1
        read -r wall kb < "$WORK/time.txt"
        best=$(echo "$best" | awk -v w="$wall" -v m="$((kb / 1024))" '{ if ($1 == "" || w < $1 + 0) print w, m; else print }')
    done
    echo "$best"
}
printf "%-6s %-6s %22s %22s %8s\n" format codec "attr s / MiB" "segyio+zarr s / MiB" speed-up
for fmt in 5 1; do
    src="$WORK/syn$fmt.sgy"
    if [ ! -f "$src" ]; then
        [ -d "$WORK/syn.zarr" ] || $ATTR synth "$WORK/syn.zarr" --shape 300,300,1500 --full --chunks 64,64,1500 -q
        $ATTR export segy "$WORK/syn.zarr" "$src" --format $fmt
    fi
    for codec in none zstd; do
        attr_codec=$([ $codec = zstd ] && echo zstd:3 || echo none)
        rm -rf "$WORK/a.zarr" "$WORK/p.zarr"
        read -r ta ma < <(measure "$WORK/a.zarr" $ATTR convert segy "$src" "$WORK/a.zarr" --chunks 128,128,128 --compression "$attr_codec" -q)
        read -r tp mp < <(measure "$WORK/p.zarr" $PY bench/segyio_to_zarr.py "$src" "$WORK/p.zarr" 128 $codec)
        # same numbers in both
        $PY - "$WORK/a.zarr" "$WORK/p.zarr" <<'PYEOF'
import sys, zarr, numpy as np
a = zarr.open_group(sys.argv[1], mode="r")["amplitude"]
p = zarr.open_group(sys.argv[2], mode="r")["seismic"]
assert a.shape == p.shape and np.array_equal(a[::37], p[::37]), "outputs differ"
PYEOF
        printf "%-6s %-6s %14s / %5s %14s / %5s %7.2fx\n" $fmt $codec "$ta" "$ma" "$tp" "$mp" "$(echo "$tp / $ta" | bc -l)"
    done
done
echo "file size: $(du -m "$WORK/syn5.sgy" | cut -f1) MB; $(nproc) cores"
