#!/usr/bin/env bash
# Kernel throughput of every attribute (attributes/benches/kernels.rs), and
# each one's cost (on the slower of a clean and a noisy block) relative
# to a `copy` job through the whole engine (read,
# gather, write) on a 128 MiB volume with the same 2 workers: the I/O floor.
# Usage: bench/kernels.sh
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-/tmp/attr-bench-kernels}
mkdir -p "$WORK"
cargo build --release -q
vol="$WORK/vol.zarr"
[ -d "$vol" ] || "${CARGO_TARGET_DIR:-target}"/release/attr synth "$vol" --shape 256,256,512 --chunks 64,64,128 --full -q
cat > "$WORK/copy.yaml" <<YAML
input: $vol
workers: 1
outputs:
  - {attribute: copy, path: $WORK/copy.zarr}
YAML
best=999999
for _ in 1 2 3; do
    s=$(date +%s.%N)
    "${CARGO_TARGET_DIR:-target}"/release/attr run "$WORK/copy.yaml" --overwrite --quiet
    e=$(date +%s.%N)
    best=$(echo "t = $e - $s; if (t < $best) t else $best" | bc -l)
done
rate=$(echo "256 * 256 * 512 / $best" | bc -l)
printf "copy job, 1 worker: %.2f s for 33.6 M voxels = %.1f Mvoxels/s\n" "$best" "$(echo "$rate / 1000000" | bc -l)"
cargo bench -q -p attributes --bench kernels -- --copy-rate "$rate"
