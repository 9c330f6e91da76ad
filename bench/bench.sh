#!/usr/bin/env bash
# Side-by-side benchmark: attr vs the Dask baseline (bench/dask_baseline.py)
# on the same volume, same threads, in one run. Prints a table of wall
# times, speed-ups over Dask, each attr job's cost in attr `copy` jobs (the
# I/O floor), decodes per input chunk and peak memory; then two multi-output
# jobs against the sum of their single-output jobs, each beside the same
# number of copies in one job against as many copy jobs (the floor of its
# ratio: what writing that many outputs in one process costs here).
#
#   bench/bench.sh                     # 512x512x1024 float32 (1 GiB), 64^3 chunks, 2 workers
#   SHAPE=1024,1024,1024 WORKERS=16 bench/bench.sh
#   OUT=/dev/shm/attr-bench bench/bench.sh   # outputs on tmpfs: the engine, not the disk
#
# Env: WORK (scratch dir for the input volume, default /tmp/attr-bench),
# OUT (where every job, attr's and Dask's, writes; default WORK), SHAPE,
# CHUNKS, WORKERS, REPEAT (runs of each job, the fastest kept; default 3),
# PY (python with tests/requirements.txt; default .venv/bin/python),
# ATTRS (default: all pairs below; OURS:- runs attr alone), SHARDING
# (every attr output written in shards: a shape such as [128,128,128], or
# auto), MULTI (the multi-output rows to run; default all, NO_MULTI none).
#
# "x attr copy" is not divided by one copy time: each run of an attr job
# comes right after a run of the copy job, and the column is the median of
# those REPEAT ratios, so a disturbance that slows a stretch of the run
# (the host, the file system's writeback) slows both sides of a ratio.
# The multi-output table pairs the same way: each repetition runs the
# single jobs and then the one job, and the ratio is the median.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
WORK=${WORK:-/tmp/attr-bench}
SHAPE=${SHAPE:-512,512,1024}
CHUNKS=${CHUNKS:-64,64,64}
WORKERS=${WORKERS:-2}
OUT=${OUT:-$WORK}
REPEAT=${REPEAT:-3}
PY=${PY:-$REPO/.venv/bin/python}
ATTRS=${ATTRS:-"copy:copy envelope:envelope instantaneous_phase:inst_phase instantaneous_frequency:inst_freq rms_amplitude:rms semblance:semblance gst_planarity:gst_coherence inline_dip:- curvature_mean:- glcm_contrast:- glcm_energy:- peak_frequency:- eigenstructure_coherence:- dip_steered_mean:- median_filter:-"}
mkdir -p "$WORK" "$OUT"
VOL="$WORK/vol_${SHAPE//,/x}_c${CHUNKS//,/x}.zarr"

cargo build --release --quiet
ATTR=${CARGO_TARGET_DIR:-target}/release/attr
if [ ! -e "$VOL/zarr.json" ]; then
    echo "generating $VOL ..." >&2
    "$ATTR" synth "$VOL" --shape "$SHAPE" --chunks "$CHUNKS" --full --overwrite -q
fi
BYTES=$("$PY" -c "import zarr,sys; z=zarr.open_array(sys.argv[1],path='amplitude',mode='r'); print(z.nbytes)" "$VOL")

# one run of CMD: "wall_s peak_rss_mib" (from /usr/bin/time)
once() {
    /usr/bin/time -f "%e %M" -o "$WORK/time.log" "$@" > "$WORK/last.out" 2> "$WORK/last.err" || { cat "$WORK/last.err" >&2; return 1; }
    awk '{printf "%s %.0f\n", $1, $2/1024}' "$WORK/time.log"
}
# run CMD... REPEAT times, print "wall_s peak_rss_mib" of the fastest run:
# the machine is shared, and the least disturbed run is the one that says
# what the program costs. Dask and attr are measured alike.
measure() {
    local best= w m i
    for ((i = 0; i < REPEAT; i++)); do
        read -r w m < <(once "$@")
        if [ -z "$best" ] || (($(echo "$w < ${best%% *}" | bc -l))); then best="$w $m"; fi
    done
    echo "$best"
}
# the median of its arguments
median() { printf "%s\n" "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

printf "volume %s, %s chunks%s, %.2f GiB, %s workers, %s, loadavg %s, outputs on %s (%s)\n" "$SHAPE" "$CHUNKS" \
    "${SHARDING:+, outputs in shards $SHARDING}" \
    "$(echo "$BYTES/1073741824" | bc -l)" "$WORKERS" "$(nproc) cores" "$(cut -d' ' -f1 /proc/loadavg)" \
    "$OUT" "$(stat -f -c %T "$OUT")"
printf "| attribute | dask s | attr s | speed-up | x attr copy | dask MB/s | attr MB/s | attr decodes/chunk | dask peak MiB | attr peak MiB |\n"
printf "|---|---|---|---|---|---|---|---|---|---|\n"
# write the job file of an attr job with OUTPUTS (yaml list items), to $OUT/attr_$1.zarr
attr_yaml() {
    local name=$1; shift
    { printf "input: %s\nsample_interval: 4\nworkers: %s\noutputs:\n" "$VOL" "$WORKERS"
      for a in "$@"; do
          # ATTRIBUTE=NAME names the output (the same attribute twice in one dataset)
          local shard=${SHARDING:+, sharding: $SHARDING}
          if [[ $a == *=* ]]; then
              printf "  - {attribute: %s, name: %s, path: %s%s}\n" "${a%%=*}" "${a#*=}" "$OUT/attr_$name.zarr" "$shard"
          else
              printf "  - {attribute: %s, path: %s%s}\n" "$a" "$OUT/attr_$name.zarr" "$shard"
          fi
      done
    } > "$WORK/job_$name.yaml"
}
# one run of attr job NAME (its file written), from an empty output
attr_once() {
    rm -rf "$OUT/attr_$1.zarr"
    once "$ATTR" run "$WORK/job_$1.yaml" --overwrite
}
attr_yaml copy_ref copy
# REPEAT runs of attr job NAME, each right after a copy job: prints
# "fastest_wall_s its_peak_mib median(wall / adjacent copy wall)"
attr_paired() {
    local name=$1 best= ratios=() w m c i
    for ((i = 0; i < REPEAT; i++)); do
        read -r c _ < <(attr_once copy_ref)
        read -r w m < <(attr_once "$name")
        ratios+=("$(echo "$w / $c" | bc -l)")
        if [ -z "$best" ] || (($(echo "$w < ${best%% *}" | bc -l))); then best="$w $m"; fi
    done
    rm -rf "$OUT/attr_$name.zarr" "$OUT/attr_copy_ref.zarr"
    echo "$best $(median "${ratios[@]}")"
}
for pair in $ATTRS; do
    ours=${pair%%:*}; theirs=${pair##*:}
    if [ "$theirs" != - ]; then
        rm -rf "$OUT/dask_$theirs.zarr"
        read -r dw dm < <(measure "$PY" bench/dask_baseline.py "$theirs" "$VOL" "$OUT/dask_$theirs.zarr" --variable amplitude --workers "$WORKERS" --dt 0.004)
        rm -rf "$OUT/dask_$theirs.zarr"
    fi
    attr_yaml "$ours" "$ours"
    read -r aw am ratio < <(attr_paired "$ours")
    dec=$(grep -o '([0-9.]* per chunk)' "$WORK/last.err" | tr -d '()' | cut -d' ' -f1)
    if [ "$theirs" != - ]; then
        printf "| %s | %.2f | %.2f | **%.1fx** | %.1f | %.0f | %.0f | %s | %s | %s |\n" "$ours" "$dw" "$aw" \
            "$(echo "$dw/$aw" | bc -l)" "$ratio" "$(echo "$BYTES/$dw/1000000" | bc -l)" \
            "$(echo "$BYTES/$aw/1000000" | bc -l)" "$dec" "$dm" "$am"
    else
        printf "| %s | | %.2f | | %.1f | | %.0f | %s | | %s |\n" "$ours" "$aw" \
            "$ratio" "$(echo "$BYTES/$aw/1000000" | bc -l)" "$dec" "$am"
    fi
done

# one job with several outputs against the same outputs as single jobs,
# REPEAT times: each time a copy, the single jobs, then the one job
multi() {
    local name=$1; shift
    local a i sum w m c best= bestsum= ratios=() copies=()
    attr_yaml "$name" "$@"
    for a in "$@"; do attr_yaml "single_${a%%=*}" "$a"; done
    for ((i = 0; i < REPEAT; i++)); do
        read -r c _ < <(attr_once copy_ref)
        sum=0
        for a in "$@"; do
            read -r w _ < <(attr_once "single_${a%%=*}")
            sum=$(echo "$sum + $w" | bc -l)
            rm -rf "$OUT/attr_single_${a%%=*}.zarr"
        done
        read -r w m < <(attr_once "$name")
        ratios+=("$(echo "$w / $sum" | bc -l)")
        copies+=("$(echo "$w / $c" | bc -l)")
        if [ -z "$best" ] || (($(echo "$w < ${best%% *}" | bc -l))); then best="$w $m"; fi
        if [ -z "$bestsum" ] || (($(echo "$sum < $bestsum" | bc -l))); then bestsum=$sum; fi
    done
    rm -rf "$OUT/attr_$name.zarr" "$OUT/attr_copy_ref.zarr"
    read -r w m <<< "$best"
    printf "| %s (%d outputs) | %.2f | %.2f | **%.2f** | %.1f | %s |\n" "$name" "$#" "$w" "$bestsum" \
        "$(median "${ratios[@]}")" "$(median "${copies[@]}")" "$m"
}
MULTI=${MULTI:-four copy4 structure13 copy13}
wants() { [[ " $MULTI " == *" $1 "* ]]; }
if [ -z "${NO_MULTI:-}" ]; then
    printf "\n| one job | attr s | single jobs s | ratio | x attr copy | peak MiB |\n|---|---|---|---|---|---|\n"
    if wants four; then multi four envelope semblance rms_amplitude instantaneous_frequency; fi
    # the floor of any four-output job: writing four outputs, against four copy jobs
    if wants copy4; then multi copy4 copy=c1 copy=c2 copy=c3 copy=c4; fi
    if wants structure13; then
        multi structure13 gst_planarity gst_linearity chaos inline_dip crossline_dip curvature_mean \
            curvature_gaussian curvature_maximum curvature_minimum curvature_most_positive \
            curvature_most_negative shape_index curvedness
    fi
    # ... and of any 13-output job
    if wants copy13; then multi copy13 $(for i in $(seq 1 13); do printf "copy=c%d " "$i"; done); fi
fi
