#!/usr/bin/env bash
# Peak memory with few huge chunks (the Zarr V2, uncompressed, 360 MB-chunk
# layout many users start from), scaled down: a 345 MB volume in 4 chunks of
# 86 MB, 2 workers. Each attribute runs with the default memory budget and
# with MEMORY MiB, and its output is compared value for value with the same
# attribute on the same volume stored in 64^3 chunks.
# Usage: bench/big-chunks.sh   (env: WORK, MEMORY=1024, ATTRS, PY)
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-/tmp/attr-bench-big}
MEMORY=${MEMORY:-1024}
ATTRS=${ATTRS:-"copy semblance gst_planarity"}
PY=${PY:-$PWD/.venv/bin/python}
cargo build --release --quiet
ATTR=${CARGO_TARGET_DIR:-target}/release/attr
mkdir -p "$WORK"
[ -e "$WORK/big.zarr" ] || "$ATTR" synth "$WORK/big.zarr" --shape 448,448,430 --chunks 224,224,430 \
    --full --format 2 --compression none -q
[ -e "$WORK/small.zarr" ] || "$ATTR" synth "$WORK/small.zarr" --shape 448,448,430 --chunks 64,64,64 --full -q
job() { printf "input: %s\nsample_interval: 4\nworkers: 2\noutputs:\n  - {attribute: %s, path: %s}\n" "$1" "$2" "$3"; }
printf "volume 448x448x430 float32 (345 MB) in 4 chunks of 224x224x430 (86 MB), Zarr V2, no compressor; 2 workers, %s cores, loadavg %s\n" \
    "$(nproc)" "$(cut -d' ' -f1 /proc/loadavg)"
printf "| attribute | default budget: s | peak MiB | --memory %s: s | peak MiB | tiles | equal to 64^3 chunks |\n|---|---|---|---|---|---|---|\n" "$MEMORY"
for a in $ATTRS; do
    job "$WORK/big.zarr" "$a" "$WORK/d_$a.zarr" > "$WORK/d.yaml"
    job "$WORK/big.zarr" "$a" "$WORK/m_$a.zarr" > "$WORK/m.yaml"
    job "$WORK/small.zarr" "$a" "$WORK/s_$a.zarr" > "$WORK/s.yaml"
    /usr/bin/time -f "%e %M" -o "$WORK/t1" "$ATTR" run "$WORK/d.yaml" --overwrite --quiet
    /usr/bin/time -f "%e %M" -o "$WORK/t2" "$ATTR" run "$WORK/m.yaml" --overwrite --quiet --memory "$MEMORY"
    "$ATTR" run "$WORK/s.yaml" --overwrite --quiet
    tiles=$("$ATTR" plan "$WORK/m.yaml" --memory "$MEMORY" | grep -o 'tiles of \[[0-9, ]*\]' || echo "none")
    same=$("$PY" - "$WORK" "$a" <<'PY'
import sys, zarr, numpy as np
w, a = sys.argv[1:]
m = zarr.open_group(f"{w}/m_{a}.zarr", mode="r")[a][:]
s = zarr.open_group(f"{w}/s_{a}.zarr", mode="r")[a][:]
d = np.abs(m.astype(np.float64) - s)
print("identical" if np.array_equal(m, s, equal_nan=True) else f"max diff {np.nanmax(d):.1e}")
PY
)
    read -r s1 k1 < "$WORK/t1"; read -r s2 k2 < "$WORK/t2"
    printf "| %s | %.2f | %.0f | %.2f | %.0f | %s | %s |\n" "$a" "$s1" "$(echo "$k1/1024" | bc -l)" "$s2" "$(echo "$k2/1024" | bc -l)" "$tiles" "$same"
    rm -rf "$WORK"/d_"$a".zarr "$WORK"/m_"$a".zarr "$WORK"/s_"$a".zarr
done
