#!/usr/bin/env bash
# Survey scale on one machine: the same jobs on a 1 GiB and a 16 GiB
# `attr synth --full` volume (64³ chunks, 2 workers), one output at a time
# and deleted after, for time per GiB, peak memory and `status --verify`.
# Needs about 3 × the large volume free on WORK's disk.
#
#   bench/scale.sh
#   SHAPES="512,512,1024 1024,1024,1024" ATTRS="copy semblance" bench/scale.sh
set -uo pipefail
cd "$(dirname "$0")/.."
A=${BIN:-target/release/attr}
WORK=${WORK:-/tmp/attr-bench-scale}
SHAPES=${SHAPES:-"512,512,1024 2048,2048,1024"}
ATTRS=${ATTRS:-"copy semblance gst_planarity"}
mkdir -p "$WORK"
printf "| volume | GiB | job | s | s/GiB | peak MiB | plan MiB | status --verify s |\n|---|---|---|---|---|---|---|---|\n"
for s in $SHAPES; do
    v="$WORK/v_${s//,/x}.zarr"
    [ -e "$v/zarr.json" ] || "$A" synth "$v" --shape "$s" --chunks 64,64,64 --full -q
    gib=$(echo "$(echo "$s" | tr ',' '*') * 4 / 1073741824" | bc -l)
    for a in $ATTRS; do
        printf 'input: %s\nworkers: 2\noutputs:\n  - attribute: %s\n    path: %s/out.zarr\n' "$v" "$a" "$WORK" > "$WORK/job.yaml"
        rm -rf "$WORK/out.zarr"; sync
        line=$("$A" run "$WORK/job.yaml" 2>&1 | grep "done in")
        t=$(echo "$line" | sed -E 's/.*done in ([0-9.]+) s.*/\1/')
        peak=$(echo "$line" | sed -E 's/.*peak memory ([0-9]+) MiB.*/\1/')
        plan=$(echo "$line" | sed -E 's/.*plan: ([0-9]+) MiB.*/\1/')
        v0=$(date +%s.%N); "$A" status --verify "$WORK/out.zarr" > /dev/null; v1=$(date +%s.%N)
        printf "| %s | %.0f | %s | %.1f | %.2f | %s | %s | %.2f |\n" "$s" "$gib" "$a" "$t" "$(echo "$t / $gib" | bc -l)" \
            "$peak" "$plan" "$(echo "$v1 - $v0" | bc -l)"
        rm -rf "$WORK/out.zarr"
    done
done
