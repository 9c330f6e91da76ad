#!/usr/bin/env bash
# The plan's memory estimate against the measured peak (VmHWM), per job,
# on the volume bench/nulls.sh generates (run that first, or set VOL).
#
#   bench/memory.sh
#   VOL=/path/vol.zarr WORKERS=2 ATTRS="envelope semblance" bench/memory.sh
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-/tmp/attr-bench-nulls}
VOL=${VOL:-$WORK/full_192x192x512.zarr}
WORKERS=${WORKERS:-2}
ATTRS=${ATTRS:-"copy envelope rms_amplitude bandpass semblance eigenstructure_coherence gst_planarity curvature_mean median_filter glcm_contrast peak_frequency dip_steered_mean"}
BIN=${BIN:-target/release/attr}
printf "volume %s, %s workers\n| job | measured peak MiB | plan MiB | plan / measured |\n|---|---|---|---|\n" "$VOL" "$WORKERS"
run() {
    local name=$1; shift
    printf 'input: %s\nworkers: %s\noutputs:\n' "$VOL" "$WORKERS" > "$WORK/mem.yaml"
    for a in "$@"; do printf '  - {attribute: %s, path: %s/mem.zarr}\n' "$a" "$WORK" >> "$WORK/mem.yaml"; done
    line=$("$BIN" run "$WORK/mem.yaml" --overwrite 2>&1 | grep "peak memory")
    peak=$(echo "$line" | sed -E 's/.*peak memory ([0-9]+) MiB.*/\1/')
    plan=$(echo "$line" | sed -E 's/.*plan: ([0-9]+) MiB.*/\1/')
    printf "| %s | %s | %s | %.2f |\n" "$name" "$peak" "$plan" "$(echo "$plan/$peak" | bc -l)"
}
for a in $ATTRS; do run "$a" "$a"; done
run "envelope+semblance+rms+inst_freq" envelope semblance rms_amplitude instantaneous_frequency
run "13 structure-tensor outputs" gst_planarity gst_linearity chaos inline_dip crossline_dip curvature_mean curvature_gaussian curvature_maximum curvature_minimum curvature_most_positive curvature_most_negative shape_index curvedness
