#!/usr/bin/env bash
# Side-by-side benchmark: attr vs the Dask baseline (bench/dask_baseline.py)
# on the same >= 1 GiB volume, same threads. Prints a table of wall times,
# throughput ratios, decodes per input chunk and peak memory.
#
#   bench/bench.sh                     # 512x512x1024 float32 (1 GiB), 64^3 chunks, 2 workers
#   SHAPE=1024,1024,1024 WORKERS=16 bench/bench.sh
#
# Env: WORK (scratch dir, default /tmp/attr-bench), SHAPE, CHUNKS, WORKERS,
# PY (python with tests/requirements.txt; default .venv/bin/python),
# ATTRS (default: all pairs below).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
WORK=${WORK:-/tmp/attr-bench}
SHAPE=${SHAPE:-512,512,1024}
CHUNKS=${CHUNKS:-64,64,64}
WORKERS=${WORKERS:-2}
PY=${PY:-$REPO/.venv/bin/python}
ATTRS=${ATTRS:-"copy:copy envelope:envelope instantaneous_phase:inst_phase instantaneous_frequency:inst_freq rms_amplitude:rms semblance:semblance"}
mkdir -p "$WORK"
VOL="$WORK/vol_${SHAPE//,/x}_c${CHUNKS//,/x}.zarr"

[ -x target/release/attr ] || cargo build --release --quiet
if [ ! -e "$VOL/zarr.json" ]; then
    echo "generating $VOL ..." >&2
    target/release/attr synth "$VOL" --shape "$SHAPE" --chunks "$CHUNKS" --full --overwrite -q
fi
BYTES=$("$PY" -c "import zarr,sys; z=zarr.open_array(sys.argv[1],path='amplitude',mode='r'); print(z.nbytes)" "$VOL")

# run CMD..., print "wall_s peak_rss_mib" (from /usr/bin/time)
measure() {
    local log=$WORK/time.log
    /usr/bin/time -f "%e %M" -o "$log" "$@" > "$WORK/last.out" 2> "$WORK/last.err" || { cat "$WORK/last.err" >&2; return 1; }
    awk '{printf "%s %.0f\n", $1, $2/1024}' "$log"
}

printf "volume %s, %s chunks, %.2f GiB, %s workers, %s, loadavg %s\n" "$SHAPE" "$CHUNKS" \
    "$(echo "$BYTES/1073741824" | bc -l)" "$WORKERS" "$(nproc) cores" "$(cut -d' ' -f1 /proc/loadavg)"
printf "| attribute | dask s | attr s | speed-up | dask MB/s | attr MB/s | attr decodes/chunk | dask peak MiB | attr peak MiB |\n"
printf "|---|---|---|---|---|---|---|---|---|\n"
for pair in $ATTRS; do
    ours=${pair%%:*}; theirs=${pair##*:}
    rm -rf "$WORK/dask_$theirs.zarr" "$WORK/attr_$ours.zarr"
    read -r dw dm < <(measure "$PY" bench/dask_baseline.py "$theirs" "$VOL" "$WORK/dask_$theirs.zarr" --variable amplitude --workers "$WORKERS" --dt 0.004)
    cat > "$WORK/job_$ours.yaml" <<YAML
input: $VOL
sample_interval: 4
workers: $WORKERS
outputs:
  - {attribute: $ours, path: $WORK/attr_$ours.zarr}
YAML
    read -r aw am < <(measure target/release/attr run "$WORK/job_$ours.yaml" --overwrite)
    dec=$(grep -o '([0-9.]* per chunk)' "$WORK/last.err" | tr -d '()' | cut -d' ' -f1)
    printf "| %s | %.2f | %.2f | **%.1fx** | %.0f | %.0f | %s | %s | %s |\n" "$ours" "$dw" "$aw" \
        "$(echo "$dw/$aw" | bc -l)" "$(echo "$BYTES/$dw/1000000" | bc -l)" "$(echo "$BYTES/$aw/1000000" | bc -l)" "$dec" "$dm" "$am"
    rm -rf "$WORK/dask_$theirs.zarr" "$WORK/attr_$ours.zarr"
done
