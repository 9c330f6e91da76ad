#!/usr/bin/env bash
# What crash safety costs: the same job with atomic chunk files + completion
# records (the default) and with ATTR_UNSAFE_IN_PLACE_WRITES=1 (in-place
# writes, no records), alternated REPEAT times on the bench volume.
#
#   bench/overhead.sh                   # after bench/bench.sh made the volume
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-/tmp/attr-bench}
SHAPE=${SHAPE:-512,512,1024}
CHUNKS=${CHUNKS:-64,64,64}
WORKERS=${WORKERS:-2}
REPEAT=${REPEAT:-3}
VOL="$WORK/vol_${SHAPE//,/x}_c${CHUNKS//,/x}.zarr"
[ -e "$VOL/zarr.json" ] || { echo "run bench/bench.sh first (it makes $VOL)" >&2; exit 1; }
[ -x target/release/attr ] || cargo build --release --quiet
for attr in ${ATTRS:-copy rms_amplitude}; do
    printf "input: %s\nworkers: %s\noutputs:\n  - {attribute: %s, path: %s/ovh.zarr}\n" "$VOL" "$WORKERS" "$attr" "$WORK" > "$WORK/ovh.yaml"
    safe=(); fast=()
    for _ in $(seq "$REPEAT"); do
        rm -rf "$WORK/ovh.zarr"
        t0=$(date +%s.%N); target/release/attr run "$WORK/ovh.yaml" -q; t1=$(date +%s.%N)
        safe+=("$(echo "$t1 - $t0" | bc -l)")
        rm -rf "$WORK/ovh.zarr"
        t0=$(date +%s.%N); ATTR_UNSAFE_IN_PLACE_WRITES=1 target/release/attr run "$WORK/ovh.yaml" -q; t1=$(date +%s.%N)
        fast+=("$(echo "$t1 - $t0" | bc -l)")
    done
    best() { printf "%s\n" "$@" | sort -g | head -1; }
    s=$(best "${safe[@]}"); f=$(best "${fast[@]}")
    printf "%s: atomic + records %.2f s, in place %.2f s (best of %s): overhead x%.3f\n" "$attr" "$s" "$f" "$REPEAT" "$(echo "$s/$f" | bc -l)"
done
rm -rf "$WORK/ovh.zarr"
