#!/usr/bin/env bash
# Facies classification: `attr run` with a classify job against dask-ml's
# StandardScaler + KMeans (bench/dask_ml_classify.py), side by side in one
# run: 4 features of SHAPE each (default 256x256x1024 float32, 1 GiB of
# features), the same k and sample size, the same workers. Prints wall time
# and peak memory of each and the ratio. Installs dask-ml into .venv.
#
#   bench/classify.sh
#   SHAPE=128,128,512 bench/classify.sh
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-/tmp/attr-bench-classify}
SHAPE=${SHAPE:-256,256,1024}
WORKERS=${WORKERS:-2}
K=${K:-6}
SAMPLE=${SAMPLE:-1000000}
PY=.venv/bin/python
mkdir -p "$WORK"
"$PY" -c "import dask_ml" 2>/dev/null || .venv/bin/pip install -q dask-ml
cargo build --release -q
ATTR=target/release/attr
VOL="$WORK/vol_${SHAPE//,/x}.zarr"
FEAT="$WORK/features_${SHAPE//,/x}.zarr"
[ -d "$VOL" ] || $ATTR synth "$VOL" --shape "$SHAPE" --chunks 64,64,128 --full -q
if [ ! -d "$FEAT" ]; then
    cat > "$WORK/features.yaml" <<YAML
input: $VOL
workers: $WORKERS
outputs:
  - {attribute: envelope, path: $FEAT}
  - {attribute: rms_amplitude, path: $FEAT}
  - {attribute: semblance, path: $FEAT}
  - {attribute: mean_amplitude, path: $FEAT}
YAML
    $ATTR run "$WORK/features.yaml" -q
fi
cat > "$WORK/classify.yaml" <<YAML
input: $FEAT
workers: $WORKERS
classify:
  features: [envelope, rms_amplitude, semblance, mean_amplitude]
  clusters: $K
  sample: $SAMPLE
  seed: 0
  path: $WORK/facies_attr.zarr
YAML
measure() {
    /usr/bin/time -f "%e %M" -o "$WORK/time.txt" "$@" > /dev/null 2>&1
    read -r wall kb < "$WORK/time.txt"
    echo "$wall $((kb / 1024))"
}
read -r ta ma < <(measure $ATTR run "$WORK/classify.yaml" --overwrite -q)
read -r td md < <(measure "$PY" bench/dask_ml_classify.py "$FEAT" "$WORK/facies_dask.zarr" \
    envelope rms_amplitude semblance mean_amplitude --clusters "$K" --sample "$SAMPLE" --workers "$WORKERS")
printf "features: 4 x %s float32 (%s), k %s, sample %s, %s workers, %s cores\n" "$SHAPE" \
    "$(du -sh "$FEAT" | cut -f1) stored" "$K" "$SAMPLE" "$WORKERS" "$(nproc)"
printf "| | wall s | peak MiB |\n|---|---|---|\n| attr | %s | %s |\n| dask-ml | %s | %s |\n" "$ta" "$ma" "$td" "$md"
printf "speed-up: %.1fx\n" "$(echo "$td / $ta" | bc -l)"
