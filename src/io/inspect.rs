//! `attr info`: a Zarr array or dataset at a glance, like Dask's array repr.

use crate::store::{node_kind_in, read_json, Input, Location, NodeKind, ReadStore};
use std::path::Path;
use zarrs::storage::{ListableStorageTraits, StorePrefix};

/// What `attr convert segy` would find in a SEG-Y or SU file.
fn segy(path: &Path) -> anyhow::Result<()> {
    use crate::io::segy::{decode_text, Choice, Keys, Segy, TraceField};
    let keys = Keys::resolve(path, &Choice::default()).map_err(anyhow::Error::msg)?;
    // the layout convert would find; failing that, pre-stack gathers, then
    // a 2-D line keyed by cdp
    let (s, gathers) = match Segy::open_keys(path, &keys) {
        Ok(s) => (s, false),
        Err(e) => match Segy::open_keys(
            path,
            &Keys {
                offset: Some(TraceField::Offset.standard()),
                ..keys.clone()
            },
        ) {
            Ok(s) if s.offsets.len() > 1 => (s, true),
            // a 2-D line keyed by cdp
            _ => match Segy::open_keys(
                path,
                &Keys {
                    iline: Some(TraceField::Cdp.standard()),
                    line: true,
                    ..Keys::default()
                },
            ) {
                Ok(s) if s.inlines.len() > 1 => (s, false),
                _ => return Err(e),
            },
        },
    };
    let range = |v: &[i32]| match v {
        [a] => format!("{a}"),
        [a, b, ..] => format!(
            "{}..{} step {} ({} lines)",
            a,
            v[v.len() - 1],
            b - a,
            v.len()
        ),
        [] => "none".into(),
    };
    crate::outln!("{}: SEG-Y", path.display());
    crate::outln!(
        "    byte order   {}",
        if s.big_endian {
            "big-endian"
        } else {
            "little-endian"
        }
    );
    crate::outln!(
        "    format       {} ({})",
        s.format.code(),
        s.native_dtype().v3_name()
    );
    crate::outln!(
        "    samples      {} at {} ms from {} ms",
        s.samples,
        s.dt_us / 1000.0,
        s.t0_ms
    );
    if s.layout.is_some() {
        crate::outln!(
            "    layout       SEG-Y rev 2.1 XML trace-header layout (used for the geometry)"
        );
    }
    if s.line {
        crate::outln!(
            "    2-D line     cdp {} (byte 21: convert with --preset cdp)",
            range(&s.inlines)
        );
    } else {
        crate::outln!(
            "    inlines      {} ({})",
            range(&s.inlines),
            s.iline_field.describe()
        );
        if let Some(x) = s.xline_field {
            crate::outln!(
                "    crosslines   {} ({})",
                range(&s.crosslines),
                x.describe()
            );
        }
    }
    if gathers {
        crate::outln!(
            "    offsets      {:?} (byte 37: pre-stack, convert with --offset-byte 37)",
            s.offsets
        );
    }
    let text = decode_text(s.textual_header());
    for line in text.lines().take(12) {
        crate::outln!("    | {line}");
    }
    Ok(())
}

pub fn print(path: &Path) -> anyhow::Result<()> {
    let is_segy = path.is_file()
        && path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "sgy" | "segy" | "su"));
    if is_segy {
        return segy(path);
    }
    let at = Location::parse(path, &Default::default())?;
    let store = at.open_readable()?;
    let kind = node_kind_in(&store, "", &path.display().to_string())?;
    match kind {
        NodeKind::Array(_) => describe(&store, &at, None, true),
        NodeKind::Group(f) => {
            crate::outln!("{}: Zarr V{} group", path.display(), f.number());
            let listed = store.list_dir(&StorePrefix::root())?;
            let mut names: Vec<String> = listed
                .prefixes()
                .iter()
                .map(|p| p.as_str().trim_end_matches('/').to_string())
                .filter(|n| {
                    node_kind_in(&store, &format!("{n}/"), n)
                        .is_ok_and(|k| matches!(k, NodeKind::Array(_)))
                })
                .collect();
            names.sort();
            // the volumes are the arrays of the highest rank; per-trace
            // arrays (coordinates, masks) and raw trace headers are listed
            let rank = |n: &str| {
                read_json(&store, &format!("{n}/zarr.json"))
                    .or_else(|| read_json(&store, &format!("{n}/.zarray")))
                    .and_then(|m| m["shape"].as_array().map(Vec::len))
                    .unwrap_or(0)
            };
            let top = names
                .iter()
                .filter(|n| *n != "trace_headers")
                .map(|n| rank(n))
                .max()
                .unwrap_or(0);
            for n in names {
                let volume = n != "trace_headers" && rank(&n) == top;
                describe(&store, &at, Some(&n), volume)?;
            }
            Ok(())
        }
    }
}

fn describe(
    store: &ReadStore,
    at: &Location,
    variable: Option<&str>,
    volume: bool,
) -> anyhow::Result<()> {
    let dir = variable.map_or(String::new(), |v| format!("{v}/"));
    let meta = read_json(store, &format!("{dir}zarr.json"))
        .or_else(|| read_json(store, &format!("{dir}.zarray")))
        .unwrap_or(serde_json::Value::Null);
    let shape: Vec<u64> = serde_json::from_value(meta["shape"].clone()).unwrap_or_default();
    let codecs = if meta["codecs"].is_null() {
        serde_json::json!({"compressor": meta["compressor"], "filters": meta["filters"]})
    } else {
        meta["codecs"].clone()
    };
    let name = variable.unwrap_or("(array)");
    if shape.len() < 2 || !volume {
        let dtype = meta
            .get("data_type")
            .or(meta.get("dtype"))
            .cloned()
            .unwrap_or_default();
        crate::outln!("  {name}: shape {shape:?}, dtype {dtype}");
        return Ok(());
    }
    let input = Input::open(at, variable)?;
    let nd = input.ndim;
    let grid = input.grid();
    let count: u64 = grid.iter().product();
    let prefix = StorePrefix::new(dir).map_err(|e| anyhow::anyhow!("{e}"))?;
    let stored = store.size_prefix(&prefix)?;
    let raw = input.bytes();
    crate::outln!("  {name}:");
    crate::outln!("    format       Zarr V{}", input.format.number());
    crate::outln!("    shape        {:?}", &input.shape[3 - nd..]);
    crate::outln!("    dims         {:?}", input.dims);
    crate::outln!("    dtype        {}", input.dtype.v3_name());
    // a sharded array's grid is its shards; readers read the chunks inside
    let inner = codecs
        .as_array()
        .and_then(|c| c.first())
        .filter(|c| c["name"] == "sharding_indexed")
        .map(|c| c["configuration"]["chunk_shape"].clone());
    match inner {
        Some(inner) => crate::outln!(
            "    shards       {:?} ({} files, grid {:?}) of chunks {}",
            &input.chunks[3 - nd..],
            count,
            &grid[3 - nd..],
            inner
        ),
        None => crate::outln!(
            "    chunks       {:?} ({} chunks, grid {:?})",
            &input.chunks[3 - nd..],
            count,
            &grid[3 - nd..]
        ),
    }
    crate::outln!(
        "    bytes        {:.1} MB uncompressed, {:.1} MB stored (ratio {:.2})",
        raw as f64 / 1e6,
        stored as f64 / 1e6,
        raw as f64 / stored.max(1) as f64
    );
    crate::outln!("    codecs       {}", serde_json::to_string(&codecs)?);
    if let Some(n) = input.stored_chunk_count() {
        let missing = count.saturating_sub(n);
        crate::outln!(
            "    stored       {n} of {count} chunks{}",
            if missing > 0 {
                format!(" ({missing} missing: read as the fill value; `strict_input` refuses them)")
            } else {
                String::new()
            }
        );
    }
    if let Some(dt) = input.sample_interval_ms() {
        crate::outln!("    sample int.  {dt} ms");
    }
    if let Some(g) = crate::job::geometry::of_coordinates(&input) {
        crate::outln!("    geometry     {}", crate::job::geometry::describe(&g));
    }
    if !input.array_attributes.is_empty() {
        crate::outln!(
            "    attributes   {}",
            serde_json::to_string(&input.array_attributes)?
        );
    }
    for c in &input.coords {
        let (first, last) = (
            c.values.first().copied().unwrap_or(0.0),
            c.values.last().copied().unwrap_or(0.0),
        );
        crate::outln!(
            "    coord        {} {} values, {first} .. {last}",
            c.name,
            c.values.len()
        );
    }
    Ok(())
}
