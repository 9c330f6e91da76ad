#!/usr/bin/env bash
# The plan's memory estimate against the measured peak (VmHWM), over a
# table of jobs: every heavy attribute, several outputs in one job, small
# input chunks, small output chunks, one huge output chunk, and a
# classification. The volumes are noisy synthetic surveys with an outline
# of missing traces, made here by `attr synth`.
#
#   bench/memory.sh                      # the whole table
#   WORKERS=2 ROWS="copy semblance" bench/memory.sh
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-/tmp/attr-bench-memory}
WORKERS=${WORKERS:-2}
BIN=${BIN:-target/release/attr}
SHAPE=${SHAPE:-192,192,512}
mkdir -p "$WORK"
for c in 64 32; do
    [ -e "$WORK/v$c.zarr/zarr.json" ] ||
        "$BIN" synth "$WORK/v$c.zarr" --shape "$SHAPE" --chunks "$c,$c,$c" --noise 0.5 --seed 7 -q
done
printf "volumes %s (noise 0.5, outline), %s workers\n" "$SHAPE" "$WORKERS"
printf "| job | input chunks | output chunks | peak MiB, median (range) of 3 | peak MiB, pages purged | plan MiB | plan / peak | plan / purged |\n|---|---|---|---|---|---|---|---|\n"

# one job: NAME INPUT-CHUNKS OUTPUT-CHUNKS ATTRIBUTE...
row() {
    local name=$1 c=$2 out=$3; shift 3
    local job="$WORK/mem.yaml"
    printf 'input: %s/v%s.zarr\nworkers: %s\noutputs:\n' "$WORK" "$c" "$WORKERS" > "$job"
    for a in "$@"; do
        if [ "$out" = "-" ]; then
            printf '  - {attribute: %s, path: %s/mem.zarr}\n' "$a" "$WORK" >> "$job"
        else
            printf '  - {attribute: %s, path: %s/mem.zarr, chunks: [%s]}\n' "$a" "$WORK" "$out" >> "$job"
        fi
    done
    measure "$name" "$c" "$out" "$job"
}

# the median of three runs' peaks (a peak depends on how the workers'
# phases happen to overlap: runs differ by up to 20 %), and one run with
# freed pages handed back at once (MIMALLOC_PURGE_DELAY=0): what the run
# holds, without the pages the allocator keeps for reuse
measure() {
    local peaks plan live line median range
    peaks=$(for _ in 1 2 3; do peak_of "$4"; done | sort -n)
    line=$("$BIN" run "$4" --overwrite 2>&1 | grep "peak memory")
    plan=$(echo "$line" | sed -E 's/.*plan: ([0-9]+) MiB.*/\1/')
    live=$(MIMALLOC_PURGE_DELAY=0 peak_of "$4")
    median=$(echo "$peaks" | sed -n 2p)
    range="$(echo "$peaks" | head -1)-$(echo "$peaks" | tail -1)"
    printf "| %s | %s | %s | %s (%s) | %s | %s | %.2f | %.2f |\n" "$1" "$2" "$3" "$median" "$range" "$live" "$plan" \
        "$(echo "$plan/$median" | bc -l)" "$(echo "$plan/$live" | bc -l)"
}

peak_of() {
    "$BIN" run "$1" --overwrite 2>&1 | grep "peak memory" | sed -E 's/.*peak memory ([0-9]+) MiB.*/\1/'
}

ROWS=${ROWS:-"copy envelope rms_amplitude bandpass semblance eigenstructure_coherence gst_planarity curvature_mean median_filter glcm_contrast peak_frequency dip_steered_mean"}
for a in $ROWS; do row "$a" 64 - "$a"; done
row "envelope+semblance+rms+inst_freq" 64 - envelope semblance rms_amplitude instantaneous_frequency
row "13 structure-tensor outputs" 64 - gst_planarity gst_linearity chaos inline_dip crossline_dip curvature_mean curvature_gaussian curvature_maximum curvature_minimum curvature_most_positive curvature_most_negative shape_index curvedness
for a in copy envelope semblance gst_planarity; do row "$a" 32 - "$a"; done
for a in copy rms_amplitude semblance; do row "$a" 64 "16,16,64" "$a"; done
row "copy" 64 "8,8,32" copy
IFS=, read -r n0 n1 n2 <<< "$SHAPE"
for a in copy envelope semblance; do row "$a (one chunk)" 64 "$n0,$n1,$n2" "$a"; done
printf 'input: %s/v64.zarr\nworkers: %s\nclassify:\n  features: [amplitude, {attribute: envelope}, {attribute: semblance}]\n  clusters: 6\n  seed: 1\n  path: %s/mem.zarr\n' \
    "$WORK" "$WORKERS" "$WORK" > "$WORK/classify.yaml"
measure "classify (3 features)" 64 - "$WORK/classify.yaml"
