#!/usr/bin/env bash
# Worker scaling: copy, semblance and gst_planarity with 1, 2, ... workers on
# one volume, each speed-up against 1 worker in the same run.
# Usage: bench/scaling.sh   (env: SHAPE=512,512,1024, CHUNKS=64,64,64,
# WORKER_COUNTS="1 2", ATTRS, WORK)
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-/tmp/attr-bench-scaling}
SHAPE=${SHAPE:-512,512,1024}
CHUNKS=${CHUNKS:-64,64,64}
WORKER_COUNTS=${WORKER_COUNTS:-"1 2"}
ATTRS=${ATTRS:-"copy semblance gst_planarity"}
cargo build --release --quiet
ATTR=${CARGO_TARGET_DIR:-target}/release/attr
mkdir -p "$WORK"
VOL="$WORK/vol_${SHAPE//,/x}.zarr"
[ -e "$VOL/zarr.json" ] || "$ATTR" synth "$VOL" --shape "$SHAPE" --chunks "$CHUNKS" --full -q
printf "volume %s, %s chunks, %s cores, loadavg %s\n" "$SHAPE" "$CHUNKS" "$(nproc)" "$(cut -d' ' -f1 /proc/loadavg)"
printf "| attribute |"; for w in $WORKER_COUNTS; do printf " %s workers s | speed-up |" "$w"; done; printf "\n"
printf "|---|"; for _ in $WORKER_COUNTS; do printf -- "---|---|"; done; printf "\n"
for a in $ATTRS; do
    printf "input: %s\nsample_interval: 4\noutputs:\n  - {attribute: %s, path: %s}\n" "$VOL" "$a" "$WORK/out.zarr" > "$WORK/job.yaml"
    printf "| %s |" "$a"
    one=
    for w in $WORKER_COUNTS; do
        s=$(date +%s.%N)
        "$ATTR" run "$WORK/job.yaml" --overwrite --quiet --workers "$w"
        t=$(echo "$(date +%s.%N) - $s" | bc -l)
        [ -n "$one" ] || one=$t
        printf " %.2f | %.2fx |" "$t" "$(echo "$one / $t" | bc -l)"
    done
    printf "\n"
    rm -rf "$WORK/out.zarr"
done
