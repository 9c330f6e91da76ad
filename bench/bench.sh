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
#
# Env: WORK (scratch dir, default /tmp/attr-bench), SHAPE, CHUNKS, WORKERS,
# REPEAT (runs of each job, the fastest kept; default 3),
# PY (python with tests/requirements.txt; default .venv/bin/python),
# ATTRS (default: all pairs below; OURS:- runs attr alone). `copy` must come
# first: the "x copy" column divides by its time.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
WORK=${WORK:-/tmp/attr-bench}
SHAPE=${SHAPE:-512,512,1024}
CHUNKS=${CHUNKS:-64,64,64}
WORKERS=${WORKERS:-2}
PY=${PY:-$REPO/.venv/bin/python}
ATTRS=${ATTRS:-"copy:copy envelope:envelope instantaneous_phase:inst_phase instantaneous_frequency:inst_freq rms_amplitude:rms semblance:semblance gst_planarity:gst_coherence inline_dip:- curvature_mean:- glcm_contrast:- glcm_energy:- peak_frequency:- eigenstructure_coherence:- dip_steered_mean:- median_filter:-"}
mkdir -p "$WORK"
VOL="$WORK/vol_${SHAPE//,/x}_c${CHUNKS//,/x}.zarr"

cargo build --release --quiet
ATTR=${CARGO_TARGET_DIR:-target}/release/attr
if [ ! -e "$VOL/zarr.json" ]; then
    echo "generating $VOL ..." >&2
    "$ATTR" synth "$VOL" --shape "$SHAPE" --chunks "$CHUNKS" --full --overwrite -q
fi
BYTES=$("$PY" -c "import zarr,sys; z=zarr.open_array(sys.argv[1],path='amplitude',mode='r'); print(z.nbytes)" "$VOL")

# run CMD... REPEAT times (default 3), print "wall_s peak_rss_mib" of the
# fastest run (from /usr/bin/time): the machine is shared, and the least
# disturbed run is the one that says what the program costs. Dask and attr
# are measured alike.
measure() {
    local log=$WORK/time.log best= i
    for ((i = 0; i < ${REPEAT:-3}; i++)); do
        /usr/bin/time -f "%e %M" -o "$log" "$@" > "$WORK/last.out" 2> "$WORK/last.err" || { cat "$WORK/last.err" >&2; return 1; }
        best=$(awk -v b="$best" '{if (b == "" || $1 < b + 0) printf "%s %.0f\n", $1, $2/1024; else print b}' "$log")
    done
    echo "$best"
}

printf "volume %s, %s chunks, %.2f GiB, %s workers, %s, loadavg %s\n" "$SHAPE" "$CHUNKS" \
    "$(echo "$BYTES/1073741824" | bc -l)" "$WORKERS" "$(nproc) cores" "$(cut -d' ' -f1 /proc/loadavg)"
printf "| attribute | dask s | attr s | speed-up | x attr copy | dask MB/s | attr MB/s | attr decodes/chunk | dask peak MiB | attr peak MiB |\n"
printf "|---|---|---|---|---|---|---|---|---|---|\n"
# an attr job writing OUTPUTS (yaml list items), to $WORK/attr_$1.zarr
attr_job() {
    local name=$1; shift
    { printf "input: %s\nsample_interval: 4\nworkers: %s\noutputs:\n" "$VOL" "$WORKERS"
      for a in "$@"; do
          # ATTRIBUTE=NAME names the output (the same attribute twice in one dataset)
          if [[ $a == *=* ]]; then
              printf "  - {attribute: %s, name: %s, path: %s}\n" "${a%%=*}" "${a#*=}" "$WORK/attr_$name.zarr"
          else
              printf "  - {attribute: %s, path: %s}\n" "$a" "$WORK/attr_$name.zarr"
          fi
      done
    } > "$WORK/job_$name.yaml"
    rm -rf "$WORK/attr_$name.zarr"
    measure "$ATTR" run "$WORK/job_$name.yaml" --overwrite
}
copy_s=
for pair in $ATTRS; do
    ours=${pair%%:*}; theirs=${pair##*:}
    if [ "$theirs" != - ]; then
        rm -rf "$WORK/dask_$theirs.zarr"
        read -r dw dm < <(measure "$PY" bench/dask_baseline.py "$theirs" "$VOL" "$WORK/dask_$theirs.zarr" --variable amplitude --workers "$WORKERS" --dt 0.004)
        rm -rf "$WORK/dask_$theirs.zarr"
    fi
    read -r aw am < <(attr_job "$ours" "$ours")
    dec=$(grep -o '([0-9.]* per chunk)' "$WORK/last.err" | tr -d '()' | cut -d' ' -f1)
    [ -n "$copy_s" ] || copy_s=$aw
    if [ "$theirs" != - ]; then
        printf "| %s | %.2f | %.2f | **%.1fx** | %.1f | %.0f | %.0f | %s | %s | %s |\n" "$ours" "$dw" "$aw" \
            "$(echo "$dw/$aw" | bc -l)" "$(echo "$aw/$copy_s" | bc -l)" "$(echo "$BYTES/$dw/1000000" | bc -l)" \
            "$(echo "$BYTES/$aw/1000000" | bc -l)" "$dec" "$dm" "$am"
    else
        printf "| %s | | %.2f | | %.1f | | %.0f | %s | | %s |\n" "$ours" "$aw" \
            "$(echo "$aw/$copy_s" | bc -l)" "$(echo "$BYTES/$aw/1000000" | bc -l)" "$dec" "$am"
    fi
    rm -rf "$WORK/attr_$ours.zarr"
done

# one job with several outputs against the same outputs as single jobs
multi() {
    local name=$1; shift
    local sum=0
    for a in "$@"; do
        read -r w _ < <(attr_job "single_${a%%=*}" "$a")
        sum=$(echo "$sum + $w" | bc -l)
        rm -rf "$WORK/attr_single_${a%%=*}.zarr"
    done
    read -r w m < <(attr_job "$name" "$@")
    rm -rf "$WORK/attr_$name.zarr"
    printf "| %s (%d outputs) | %.2f | %.2f | **%.2f** | %.1f | %s |\n" "$name" "$#" "$w" "$sum" \
        "$(echo "$w/$sum" | bc -l)" "$(echo "$w/$copy_s" | bc -l)" "$m"
}
if [ -z "${NO_MULTI:-}" ]; then
    printf "\n| one job | attr s | single jobs s | ratio | x attr copy | peak MiB |\n|---|---|---|---|---|---|\n"
    multi four envelope semblance rms_amplitude instantaneous_frequency
    # the floor of any four-output job: writing four outputs, against four copy jobs
    multi copy4 copy=c1 copy=c2 copy=c3 copy=c4
    multi structure13 gst_planarity gst_linearity chaos inline_dip crossline_dip curvature_mean \
        curvature_gaussian curvature_maximum curvature_minimum curvature_most_positive \
        curvature_most_negative shape_index curvedness
    # ... and of any 13-output job
    multi copy13 $(for i in $(seq 1 13); do printf "copy=c%d " "$i"; done)
fi
