#!/usr/bin/env bash
# Two builds of attr side by side on the same jobs, alternating, in one run:
# whether a change moved the speed. Prints each job's median wall time for
# both builds and their ratio (new / old); the ratios hold where absolute
# times drift with the host.
#
#   bench/builds.sh OLD_ATTR NEW_ATTR
#   VOL=noisy.zarr REPEAT=5 bench/builds.sh /tmp/old/attr target/release/attr
#
# Env: VOL (the input; default: `attr synth` of SHAPE in CHUNKS with NOISE,
# made by the new build: NOISE=0.5 for noise as field data has it, which
# some algorithms are slower on), SHAPE (default 256,256,1024), CHUNKS
# (64,64,64), NOISE (the synthetic's default), WORKERS (2),
# REPEAT (runs of each job and build, default 3), WORK (scratch, default
# /tmp/attr-builds), ONLY (job names to run, space-separated; default all).
set -euo pipefail
OLD=$(realpath "$1")
NEW=$(realpath "$2")
WORK=${WORK:-/tmp/attr-builds}
SHAPE=${SHAPE:-256,256,1024}
CHUNKS=${CHUNKS:-64,64,64}
WORKERS=${WORKERS:-2}
REPEAT=${REPEAT:-3}
mkdir -p "$WORK"
if [ -z "${VOL:-}" ]; then
    VOL="$WORK/synth_${SHAPE//,/x}${NOISE:+_noise$NOISE}.zarr"
    [ -d "$VOL" ] || "$NEW" synth "$VOL" --shape "$SHAPE" --chunks "$CHUNKS" ${NOISE:+--noise "$NOISE"} -q
fi
VOL=$(realpath "$VOL")

job() { # name, then the YAML after `input:`
    local f="$WORK/$1.yaml"
    printf 'input: %s\nworkers: %s\n%s\n' "$VOL" "$WORKERS" "$2" > "$f"
    echo "$f"
}
out() { echo "$WORK/out/$1.zarr"; }
JOBS=(
    "copy|outputs:\n  - {attribute: copy, path: $(out copy)}"
    "envelope|outputs:\n  - {attribute: envelope, path: $(out envelope)}"
    "semblance|outputs:\n  - {attribute: semblance, path: $(out semblance)}"
    "gst_planarity|outputs:\n  - {attribute: gst_planarity, path: $(out gst)}"
    "eigenstructure|outputs:\n  - {attribute: eigenstructure_coherence, path: $(out eig)}"
    "four|outputs:\n  - {attribute: envelope, path: $(out four)}\n  - {attribute: semblance, path: $(out four)}\n  - {attribute: rms_amplitude, path: $(out four)}\n  - {attribute: instantaneous_frequency, path: $(out four)}"
    "classify|classify:\n  features: [{attribute: envelope}, {attribute: rms_amplitude}]\n  clusters: 4\n  sample: 200000\n  path: $(out classify)"
)

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf '%-16s %9s %9s %7s\n' job "old s" "new s" "new/old"
for entry in "${JOBS[@]}"; do
    name=${entry%%|*}
    if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $name "* ]]; then continue; fi
    spec=$(job "$name" "$(printf '%b' "${entry#*|}")")
    : > "$WORK/$name.old"
    : > "$WORK/$name.new"
    for _ in $(seq "$REPEAT"); do
        for side in old new; do
            bin=$OLD
            [ "$side" = new ] && bin=$NEW
            t0=$(now)
            "$bin" run "$spec" --overwrite -q
            echo "$(now) - $t0" | bc -l >> "$WORK/$name.$side"
        done
    done
    o=$(median < "$WORK/$name.old")
    n=$(median < "$WORK/$name.new")
    printf '%-16s %9.2f %9.2f %7.2f\n' "$name" "$o" "$n" "$(echo "$n / $o" | bc -l)"
done
