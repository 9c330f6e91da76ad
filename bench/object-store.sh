#!/usr/bin/env bash
# Throughput of one job on the local filesystem and on an S3-compatible
# store (moto's server from the test virtualenv, on loopback), side by
# side in one run: local->local, s3->local, local->s3, s3->s3, with peak
# memory. ATTR_B names a second binary to compare (e.g. a build without
# read-ahead); its rows are marked "B". LATENCY_MS puts a proxy in front of
# the server that delays each response by that much, as a store across a
# network would.
# Usage: bench/object-store.sh   (env: WORK, SHAPE=256,256,512, CHUNKS=64,64,64,
#        WORKERS=2, ATTRS="copy envelope", PY, ATTR_B, LATENCY_MS)
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-/tmp/attr-bench-s3}
SHAPE=${SHAPE:-256,256,512}
CHUNKS=${CHUNKS:-64,64,64}
WORKERS=${WORKERS:-2}
ATTRS=${ATTRS:-"copy envelope"}
PY=${PY:-$PWD/.venv/bin/python}
cargo build --release --quiet
ATTR=${CARGO_TARGET_DIR:-target}/release/attr
rm -rf "$WORK" && mkdir -p "$WORK"
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$PY" -m moto.server -p "$PORT" > "$WORK/moto.log" 2>&1 &
MOTO=$!
PROXY=""
trap 'kill $MOTO $PROXY 2>/dev/null || true' EXIT
for _ in $(seq 100); do "$PY" -c "import socket; socket.create_connection(('127.0.0.1',$PORT))" 2>/dev/null && break; sleep 0.1; done
if [ -n "${LATENCY_MS:-}" ]; then
    FRONT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "$PY" bench/latency_proxy.py "$FRONT" "$PORT" "$LATENCY_MS" &
    PROXY=$!
    sleep 1
fi
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1 \
    AWS_ENDPOINT_URL=http://127.0.0.1:${FRONT:-$PORT} AWS_ALLOW_HTTP=true
"$ATTR" synth "$WORK/vol.zarr" --shape "$SHAPE" --chunks "$CHUNKS" --full -q
"$PY" - "$WORK/vol.zarr" <<'PY'
import os, sys, boto3
from concurrent.futures import ThreadPoolExecutor
s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
s3.create_bucket(Bucket="bench")
root = sys.argv[1]
files = [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs]
with ThreadPoolExecutor(16) as ex:
    list(ex.map(lambda p: s3.upload_file(p, "bench", "vol.zarr/" + os.path.relpath(p, root)), files))
PY
MB=$(echo "$SHAPE" | tr ',' '*' | sed 's/$/*4\/1000000/' | bc -l)
printf "volume %s float32 (%.0f MB), chunks %s, %s workers, %s cores, loadavg %s; S3: moto %s on loopback%s\n" \
    "$SHAPE" "$MB" "$CHUNKS" "$WORKERS" "$(nproc)" "$(cut -d' ' -f1 /proc/loadavg)" \
    "$("$PY" -c 'import moto; print(moto.__version__)')" "${LATENCY_MS:+, $LATENCY_MS ms added to each response}"
printf "| attribute | in -> out | binary | s | MB/s | x local->local | peak MiB |\n|---|---|---|---|---|---|---|\n"
n=0
for a in $ATTRS; do
    base=""
    for bin in "$ATTR" ${ATTR_B:+"$ATTR_B"}; do
        tag=$([ "$bin" = "$ATTR" ] && echo A || echo B)
        for route in local:local s3:local local:s3 s3:s3; do
            n=$((n + 1))
            src=$([ "${route%%:*}" = s3 ] && echo "s3://bench/vol.zarr" || echo "$WORK/vol.zarr")
            dst=$([ "${route##*:}" = s3 ] && echo "s3://bench/out$n.zarr" || echo "$WORK/out$n.zarr")
            printf "input: %s\nworkers: %s\nsample_interval: 4\noutputs:\n  - {attribute: %s, path: %s}\n" \
                "$src" "$WORKERS" "$a" "$dst" > "$WORK/j.yaml"
            /usr/bin/time -f "%e %M" -o "$WORK/t" "$bin" run "$WORK/j.yaml" --quiet
            read -r s k < "$WORK/t"
            [ -n "$base" ] || base=$s
            printf "| %s | %s | %s | %.2f | %.0f | %.2f | %.0f |\n" "$a" "${route/:/ -> }" "$tag" "$s" \
                "$(echo "$MB/$s" | bc -l)" "$(echo "$s/$base" | bc -l)" "$(echo "$k/1024" | bc -l)"
        done
    done
done
