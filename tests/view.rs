//! `attr view` pictures, checked by decoding the PNG.

use image::RgbaImage;
use std::path::{Path, PathBuf};
use std::process::Command;

const NI: usize = 4;
const NX: usize = 6;
const NS: usize = 50;
const REFLECTOR: usize = 20;

fn write_json(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn array_meta(shape: &[usize], dtype: &str, dims: &[&str]) -> String {
    format!(
        r#"{{"zarr_format":3,"node_type":"array","shape":{shape:?},"data_type":"{dtype}",
           "chunk_grid":{{"name":"regular","configuration":{{"chunk_shape":{shape:?}}}}},
           "chunk_key_encoding":{{"name":"default","configuration":{{"separator":"/"}}}},
           "fill_value":0,"codecs":[{{"name":"bytes","configuration":{{"endian":"little"}}}}],
           "dimension_names":{dims:?}}}"#
    )
}

/// A dataset with one bright reflector at sample 20 (a +10 peak between
/// −3 side lobes) and a trace_mask that marks crossline 2 of every inline
/// as missing. Time axis 100 + 4·k ms.
fn synthetic(dir: &Path) -> PathBuf {
    let ds = dir.join("synthetic.zarr");
    write_json(
        &ds.join("zarr.json"),
        r#"{"zarr_format":3,"node_type":"group","attributes":{}}"#,
    );
    write_json(
        &ds.join("amplitude/zarr.json"),
        &array_meta(&[NI, NX, NS], "float32", &["inline", "crossline", "time"]),
    );
    let mut bytes = Vec::new();
    for _i in 0..NI {
        for _x in 0..NX {
            for k in 0..NS {
                let v: f32 = match k {
                    REFLECTOR => 10.0,
                    k if k + 1 == REFLECTOR || k == REFLECTOR + 1 => -3.0,
                    _ => 0.0,
                };
                bytes.extend_from_slice(&v.to_le_bytes());
            }
        }
    }
    write_json(&ds.join("amplitude/c/0/0/0"), "");
    std::fs::write(ds.join("amplitude/c/0/0/0"), bytes).unwrap();
    write_json(
        &ds.join("time/zarr.json"),
        &array_meta(&[NS], "float64", &["time"]).replace(
            r#""dimension_names""#,
            r#""attributes":{"units":"ms"},"dimension_names""#,
        ),
    );
    let t: Vec<u8> = (0..NS)
        .flat_map(|k| (100.0 + 4.0 * k as f64).to_le_bytes())
        .collect();
    write_json(&ds.join("time/c/0"), "");
    std::fs::write(ds.join("time/c/0"), t).unwrap();
    write_json(
        &ds.join("trace_mask/zarr.json"),
        &array_meta(&[NI, NX], "uint8", &["inline", "crossline"]),
    );
    let m: Vec<u8> = (0..NI * NX).map(|c| u8::from(c % NX != 2)).collect();
    write_json(&ds.join("trace_mask/c/0/0"), "");
    std::fs::write(ds.join("trace_mask/c/0/0"), m).unwrap();
    ds
}

/// Run `attr view`; return the image and the data area x0, y0, x1, y1 and
/// pixels per cell, parsed from the summary line.
fn view(dir: &Path, args: &[&str]) -> (RgbaImage, [u32; 4], (u32, u32), String) {
    let out = Command::new(env!("CARGO_BIN_EXE_attr"))
        .arg("view")
        .args(args)
        .arg("-o")
        .arg("v.png")
        .current_dir(dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let nums = |key: &str| -> Vec<u32> {
        let rest = &text[text.find(key).unwrap() + key.len()..];
        rest.split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .take(2)
            .map(|s| s.parse().unwrap())
            .collect()
    };
    let (x, y) = (nums("data at x "), nums(", y "));
    let per = &text[..text.find(" px per cell").unwrap()];
    let per: Vec<u32> = per
        .rsplit(", ")
        .next()
        .unwrap()
        .split('x')
        .map(|v| v.parse().unwrap())
        .collect();
    let img = image::open(dir.join("v.png")).unwrap().to_rgba8();
    (img, [x[0], y[0], x[1], y[1]], (per[0], per[1]), text)
}

#[test]
fn section_puts_the_reflector_on_its_rows_and_leaves_missing_traces_blank() {
    let d = tempfile::tempdir().unwrap();
    let ds = synthetic(d.path());
    let (img, [x0, y0, x1, y1], (sx, sy), text) =
        view(d.path(), &[ds.to_str().unwrap(), "--index-inline", "1"]);
    assert!(text.contains("inline 1"), "{text}");
    assert_eq!((x1 - x0, y1 - y0), (NX as u32 * sx, NS as u32 * sy));
    assert!(img.width() > x1 && img.height() > y1);
    // the brightest (most positive) colour is exactly on the reflector's rows
    let live_x = x0 + sx / 2; // crossline 0 is live
    let reflector_rows: Vec<u32> = (y0..y1)
        .filter(|&y| {
            let p = img.get_pixel(live_x, y);
            p[3] == 255 && p[0] > 90 && p[2] < 60 && p[1] < 40
        })
        .collect();
    let want: Vec<u32> = (y0 + REFLECTOR as u32 * sy..y0 + (REFLECTOR as u32 + 1) * sy).collect();
    assert_eq!(reflector_rows, want);
    // the missing trace (crossline 2) is transparent from top to bottom
    let dead_x = x0 + 2 * sx + sx / 2;
    assert!((y0..y1).all(|y| img.get_pixel(dead_x, y)[3] == 0));
    assert!((y0..y1).all(|y| img.get_pixel(live_x, y)[3] == 255));
    // zeros are white in the seismic map
    let p = img.get_pixel(live_x, y0 + sy / 2);
    assert!(p[0] > 230 && p[1] > 230 && p[2] > 230, "{p:?}");
}

#[test]
fn colour_bar_and_time_slices() {
    let d = tempfile::tempdir().unwrap();
    let ds = synthetic(d.path());
    let (img, [x0, y0, x1, y1], _, text) = view(
        d.path(),
        &[ds.to_str().unwrap(), "--sample", "180", "--cmap", "viridis"],
    );
    // 180 ms is sample 20: the reflector everywhere but the missing traces
    assert!(text.contains("time 180 ms"), "{text}");
    // inlines down, crosslines across: crossline 2 is missing on every inline
    let sx = (x1 - x0) / NX as u32;
    assert_eq!(img.get_pixel(x0 + sx / 2, (y0 + y1) / 2)[3], 255);
    assert_eq!(img.get_pixel(x0 + 2 * sx + sx / 2, (y0 + y1) / 2)[3], 0);
    // the colour bar: right of the plot, opaque, changing from top to bottom
    let bx = x1 + 12 + 8;
    let (top, bottom) = (img.get_pixel(bx, y0 + 1), img.get_pixel(bx, y1 - 2));
    assert!(
        top[3] == 255 && bottom[3] == 255 && top != bottom,
        "{top:?} {bottom:?}"
    );
    // a time that is not on the axis is refused with its range
    let out = Command::new(env!("CARGO_BIN_EXE_attr"))
        .args([
            "view",
            ds.to_str().unwrap(),
            "--sample",
            "3000",
            "-o",
            "x.png",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("from 100 to 296"));
}

#[test]
fn segy_and_zarr_views_are_identical() {
    let d = tempfile::tempdir().unwrap();
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let zarr = repo.join("sample-data/f3.zarr");
    let segy = repo.join("tests/data/segy/f3.sgy");
    let (a, ..) = view(d.path(), &[zarr.to_str().unwrap(), "--crossline", "880"]);
    let (b, ..) = view(d.path(), &[segy.to_str().unwrap(), "--crossline", "880"]);
    assert_eq!(a.dimensions(), b.dimensions());
    assert!(a.pixels().zip(b.pixels()).all(|(p, q)| p == q));
    // side by side: two panels, twice as wide
    let (c, ..) = view(
        d.path(),
        &[
            zarr.to_str().unwrap(),
            "--crossline",
            "880",
            "--compare",
            segy.to_str().unwrap(),
        ],
    );
    assert_eq!(c.width(), 2 * a.width());
}

#[test]
fn a_two_d_line_is_drawn_whole() {
    let d = tempfile::tempdir().unwrap();
    let line = d.path().join("line.zarr");
    write_json(
        &line.join("zarr.json"),
        &array_meta(&[7, 30], "float32", &["cdp", "sample"]),
    );
    let bytes: Vec<u8> = (0..7 * 30)
        .flat_map(|i| ((i % 30) as f32 - 15.0).to_le_bytes())
        .collect();
    write_json(&line.join("c/0/0"), "");
    std::fs::write(line.join("c/0/0"), bytes).unwrap();
    let (img, [x0, y0, x1, y1], (sx, sy), text) = view(d.path(), &[line.to_str().unwrap()]);
    assert_eq!((x1 - x0, y1 - y0), (7 * sx, 30 * sy), "{text}");
    // values grow down the trace: the top row is the most negative (blue), the bottom red
    let (top, bottom) = (img.get_pixel(x0 + 1, y0 + 1), img.get_pixel(x0 + 1, y1 - 1));
    assert!(
        top[2] > top[0] && bottom[0] > bottom[2],
        "{top:?} {bottom:?}"
    );
}
