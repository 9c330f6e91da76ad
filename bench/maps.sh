#!/usr/bin/env bash
# An RMS map in a 60 ms window below a horizon, attr against xtgeo's
# Cube.compute_attributes_in_window on the same cube and surfaces, side by
# side in one run; and attr's peak memory as the survey grows.
#
#   bench/maps.sh                # 1 GiB survey (512 x 512 x 1024 float32)
#   SHAPE=256,256,1024 bench/maps.sh
#   VOL=noisy.zarr bench/maps.sh  # a volume of yours (a 3-D array), with a
#                                 # horizon picked from it: the strongest
#                                 # trough or peak in its middle fifth
#
# Needs the test virtualenv (.venv, with xtgeo: tests/run.sh makes it).
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-/tmp/attr-bench-maps}
SHAPE=${SHAPE:-512,512,1024}
BIN=${BIN:-target/release/attr}
PY=${PY:-.venv/bin/python}
mkdir -p "$WORK"
if [ -n "${VOL:-}" ]; then
    # a horizon picked from the data, rough as picks on noisy data are, in
    # samples (a bare array has no time axis): 60 ms at 4 ms is 15 samples
    vol=$VOL
    name=$(basename "${VOL%/}" .zarr)
    horizons="$WORK/${name}_picked.zarr"
    h=z
    "$PY" - "$vol" "$horizons" <<'EOF'
import sys, zarr, numpy as np
a = zarr.open_array(sys.argv[1], mode="r")
n = a.shape[2]
k0, k1 = 2 * n // 5, 3 * n // 5
z = k0 + np.argmax(np.abs(a[:, :, k0:k1]), axis=2).astype(np.float32)
g = zarr.open_group(sys.argv[2], mode="w", zarr_format=3)
g.create_array("z", data=z)
EOF
    window="[0, 15]"; scale=4
    sgy="$WORK/${name}.sgy"
    what="$VOL ($(du -sh "$vol" | cut -f1)), a horizon picked from it, window [0, 15] samples (60 ms at 4 ms)"
else
    vol="$WORK/survey_${SHAPE//,/x}.zarr"
    [ -e "$vol/zarr.json" ] || "$BIN" synth "$vol" --shape "$SHAPE" --chunks 64,64,64 --full -q
    horizons="${vol%.zarr}_horizons.zarr"
    # the horizon nearest the middle of the trace
    h=$("$PY" - "$horizons" <<'EOF'
import sys, zarr, numpy as np
g = zarr.open_group(sys.argv[1], mode="r")
names = sorted(k for k in g.array_keys() if k.startswith("h"))
mid = np.nanmax([np.nanmax(g[n][:]) for n in names]) / 2
print(min(names, key=lambda n: abs(np.nanmean(g[n][:]) - mid)))
EOF
)
    window="[0, 60]"; scale=1
    sgy="$WORK/survey_${SHAPE//,/x}.sgy"
    what="survey $SHAPE float32 ($(du -sh "$vol" | cut -f1) zarr), horizon $h, window [0, 60] ms"
fi
[ -e "$sgy" ] || "$BIN" export segy "$vol" "$sgy" > /dev/null 2>&1
printf 'input: %s\nmaps:\n  - {horizon: "%s:%s", window: %s, statistics: rms, path: %s/map.zarr}\n' \
    "$vol" "$horizons" "$h" "$window" "$WORK" > "$WORK/map.yaml"
# the same reading as xtgeo's: 10 per sample interval, cubic
printf 'input: %s\nmaps:\n  - {horizon: "%s:%s", window: %s, statistics: rms, refine: 10, interpolation: cubic, path: %s/map10.zarr}\n' \
    "$vol" "$horizons" "$h" "$window" "$WORK" > "$WORK/map10.yaml"

peak() { # command... -> "seconds peak_MiB"
    /usr/bin/time -f "%e %M" "$@" 2> "$WORK/time.txt" > "$WORK/out.txt" || { cat "$WORK/time.txt"; exit 1; }
    tail -1 "$WORK/time.txt" | awk '{printf "%.2f %.0f", $1, $2 / 1024}'
}
echo "$what, 2-core host"
read -r at am <<< "$(peak "$BIN" run "$WORK/map.yaml" --overwrite -q)"
read -r rt rm <<< "$(peak "$BIN" run "$WORK/map10.yaml" --overwrite -q)"
"$BIN" plan "$WORK/map.yaml" | grep -E "^reads"
read -r xt xm <<< "$(peak "$PY" - "$sgy" "$horizons" "$h" "$scale" <<'EOF'
import sys, time, warnings, numpy as np, xtgeo, zarr
warnings.simplefilter("ignore")
cube = xtgeo.cube_from_file(sys.argv[1])
z = zarr.open_group(sys.argv[2], mode="r")[sys.argv[3]][:].astype(np.float64) * float(sys.argv[4])
top = xtgeo.surface_from_cube(cube, 0.0)
top.values = np.ma.masked_invalid(z)
cube.compute_attributes_in_window(top, top + 60)
EOF
)"
read -r xl xlm <<< "$(peak "$PY" - "$sgy" <<'EOF'
import sys, warnings, xtgeo
warnings.simplefilter("ignore")
xtgeo.cube_from_file(sys.argv[1])
EOF
)"
printf "| tool | s | peak MiB |\n|---|---|---|\n"
printf "| attr run (maps:) | %s | %s |\n" "$at" "$am"
printf "| attr run (maps:, refine 10, cubic) | %s | %s |\n" "$rt" "$rm"
printf "| xtgeo: read the SEG-Y cube, compute_attributes_in_window (ndiv 10, cubic) | %s | %s |\n" "$xt" "$xm"
printf "| of which reading the cube | %s | %s |\n" "$xl" "$xlm"
printf "xtgeo / attr: %.1fx the time (%.1fx without reading the cube), %.1fx the memory\n" \
    "$(echo "$xt / $at" | bc -l)" "$(echo "($xt - $xl) / $at" | bc -l)" "$(echo "$xm / $am" | bc -l)"
printf "xtgeo / attr refining alike: %.1fx the time (%.1fx without reading the cube), %.1fx the memory\n" \
    "$(echo "$xt / $rt" | bc -l)" "$(echo "($xt - $xl) / $rt" | bc -l)" "$(echo "$xm / $rm" | bc -l)"
