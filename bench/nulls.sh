#!/usr/bin/env bash
# The cost of null handling: the same jobs on a volume without nulls, run
# alternately by two builds of attr (BEFORE, e.g. a build of the commit
# before null support, and this tree's), and by this build on the same
# volume with 40 % of its traces missing (an outline staircase). Prints the
# best of REPEAT runs of each and the ratios.
#
#   BEFORE=/path/to/old/attr bench/nulls.sh
#   SHAPE=256,256,1024 ATTRS="semblance gst_planarity" BEFORE=... bench/nulls.sh
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
WORK=${WORK:-/tmp/attr-bench-nulls}
SHAPE=${SHAPE:-192,192,512}
CHUNKS=${CHUNKS:-64,64,64}
WORKERS=${WORKERS:-2}
REPEAT=${REPEAT:-2}
PY=${PY:-$REPO/.venv/bin/python}
AFTER=${AFTER:-$REPO/target/release/attr}
BEFORE=${BEFORE:?set BEFORE to the attr binary to compare with}
ATTRS=${ATTRS:-"copy envelope rms_amplitude bandpass semblance variance_edge gst_planarity curvature_mean mean_filter gaussian_smooth median_filter glcm_contrast"}
mkdir -p "$WORK"
"$PY" - "$WORK" "$SHAPE" "$CHUNKS" <<'PY'
import sys, numpy as np, zarr
work, shape, chunks = sys.argv[1], tuple(map(int, sys.argv[2].split(","))), tuple(map(int, sys.argv[3].split(",")))
for name, gaps in (("full", False), ("gappy", True)):
    path = f"{work}/{name}_{'x'.join(map(str, shape))}.zarr"
    try:
        zarr.open_group(path, mode="r")["amplitude"]
        continue
    except Exception:
        pass
    g = zarr.open_group(path, mode="w", zarr_format=3)
    a = g.create_array("amplitude", shape=shape, chunks=chunks, dtype="float32", fill_value=np.nan,
                       dimension_names=("inline", "crossline", "time"))
    i, x = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
    missing = x >= shape[1] - 1 - (i * 0.8).astype(int) if gaps else np.zeros(shape[:2], bool)
    rng = np.random.default_rng(0)
    k = np.arange(shape[2])
    for i0 in range(0, shape[0], chunks[0]):
        ii = np.arange(i0, min(i0 + chunks[0], shape[0]))[:, None, None]
        t = k[None, None, :] - 0.3 * ii - 0.2 * np.arange(shape[1])[None, :, None]
        block = (100 * np.sin(0.3 * t) + 20 * rng.standard_normal(t.shape)).astype(np.float32)
        block[missing[ii[:, 0, 0]]] = np.nan
        a[i0:i0 + len(ii)] = block
    if gaps:
        m = g.create_array("trace_mask", shape=shape[:2], chunks=shape[:2], dtype="uint8",
                           dimension_names=("inline", "crossline"))
        m[...] = (~missing).astype(np.uint8)
    g.attrs["sample_interval_ms"] = 4.0
PY
FULL="$WORK/full_${SHAPE//,/x}.zarr"
GAPPY="$WORK/gappy_${SHAPE//,/x}.zarr"

best() { # best wall time of REPEAT runs of: BIN VOLUME ATTR
    local bin=$1 vol=$2 attr=$3 t best=
    cat > "$WORK/job.yaml" <<YAML
input: $vol
workers: $WORKERS
outputs:
  - {attribute: $attr, path: $WORK/out.zarr}
YAML
    for _ in $(seq "$REPEAT"); do
        rm -rf "$WORK/out.zarr"
        /usr/bin/time -f "%e" -o "$WORK/time.txt" "$bin" run "$WORK/job.yaml" --overwrite --quiet >/dev/null 2>&1
        t=$(tail -1 "$WORK/time.txt")
        best=$(echo "${best:-$t} $t" | awk '{print ($2 < $1) ? $2 : $1}')
    done
    echo "$best"
}

printf "volume %s, %s chunks, %s workers, loadavg %s\n" "$SHAPE" "$CHUNKS" "$WORKERS" "$(cut -d' ' -f1 /proc/loadavg)"
printf "| attribute | before s (no nulls) | after s (no nulls) | after / before | after s (40 %% traces missing) |\n|---|---|---|---|---|\n"
for a in $ATTRS; do
    b=$(best "$BEFORE" "$FULL" "$a")
    n=$(best "$AFTER" "$FULL" "$a")
    g=$(best "$AFTER" "$GAPPY" "$a")
    printf "| %s | %.2f | %.2f | %.2f | %.2f |\n" "$a" "$b" "$n" "$(echo "$n/$b" | bc -l)" "$g"
done
