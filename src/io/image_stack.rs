//! `attr convert images`: a stack of 2-D slices (PNG, TIFF single- or
//! multi-page; 8/16-bit grey, 32-bit float TIFF) as one 3-D Zarr volume,
//! stacked along axis 0 in natural file-name order.

use crate::store::{ArraySpec, Compression, Dtype, Format, NewDataset};
use anyhow::{bail, Context, Result};
use ndarray::{ArrayD, IxDyn};
use rayon::prelude::*;
use serde_json::{json, Map};
use std::cmp::Ordering;
use std::path::{Path, PathBuf};
use zarrs::array::ArraySubset;

pub struct StackOptions {
    pub dims: [String; 3],
    pub chunks: Option<Vec<u64>>,
    pub format: Format,
    pub compression: Compression,
    pub overwrite: bool,
    pub quiet: bool,
}

/// "slice_2" before "slice_10": digit runs compare as numbers.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.chars().peekable(), b.chars().peekable());
    loop {
        match (x.peek().copied(), y.peek().copied()) {
            (None, None) => return Ordering::Equal,
            (None, _) => return Ordering::Less,
            (_, None) => return Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let take = |it: &mut std::iter::Peekable<std::str::Chars>| {
                    let mut s = String::new();
                    while let Some(c) = it.peek().copied().filter(char::is_ascii_digit) {
                        s.push(c);
                        it.next();
                    }
                    s
                };
                let (m, n) = (take(&mut x), take(&mut y));
                let (mt, nt) = (m.trim_start_matches('0'), n.trim_start_matches('0'));
                let ord = mt
                    .len()
                    .cmp(&nt.len())
                    .then(mt.cmp(nt))
                    .then(m.len().cmp(&n.len()));
                if ord != Ordering::Equal {
                    return ord;
                }
            }
            (Some(c), Some(d)) => {
                if c != d {
                    return c.cmp(&d);
                }
                x.next();
                y.next();
            }
        }
    }
}

fn is_image(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "png" | "tif" | "tiff"))
}

/// Directories, globs and files, expanded and in natural order.
pub fn expand(inputs: &[String]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for i in inputs {
        let p = Path::new(i);
        if p.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(p)?
                .flatten()
                .map(|e| e.path())
                .filter(|p| is_image(p))
                .collect();
            v.sort_by(|a, b| natural_cmp(&a.to_string_lossy(), &b.to_string_lossy()));
            files.extend(v);
        } else if i.contains(['*', '?', '[']) {
            let mut v: Vec<PathBuf> = glob::glob(i)
                .with_context(|| format!("bad pattern '{i}'"))?
                .flatten()
                .filter(|p| is_image(p))
                .collect();
            if v.is_empty() {
                bail!("'{i}' matches no PNG or TIFF file");
            }
            v.sort_by(|a, b| natural_cmp(&a.to_string_lossy(), &b.to_string_lossy()));
            files.extend(v);
        } else if p.is_file() {
            files.push(p.to_path_buf());
        } else {
            bail!("'{i}' does not exist");
        }
    }
    if files.is_empty() {
        bail!("no PNG or TIFF images found in {}", inputs.join(" "));
    }
    Ok(files)
}

/// One decoded page.
enum Page {
    U8(Vec<u8>),
    U16(Vec<u16>),
    F32(Vec<f32>),
}

impl Page {
    fn dtype(&self) -> Dtype {
        match self {
            Page::U8(_) => Dtype::Uint8,
            Page::U16(_) => Dtype::Uint16,
            Page::F32(_) => Dtype::Float32,
        }
    }
}

/// The pages of a file, each (width, height, data).
fn read_pages(path: &Path) -> Result<Vec<(u32, u32, Page)>> {
    let name = path.display();
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ext == "png" {
        let img = image::open(path).with_context(|| format!("'{name}'"))?;
        let (w, h) = (img.width(), img.height());
        let page = match img {
            image::DynamicImage::ImageLuma8(b) => Page::U8(b.into_raw()),
            image::DynamicImage::ImageLuma16(b) => Page::U16(b.into_raw()),
            other => bail!(
                "'{name}': {:?} images are not supported: give 8- or 16-bit greyscale",
                other.color()
            ),
        };
        return Ok(vec![(w, h, page)]);
    }
    let file = std::fs::File::open(path).with_context(|| format!("cannot open '{name}'"))?;
    let mut dec = tiff::decoder::Decoder::new(std::io::BufReader::new(file))
        .with_context(|| format!("'{name}'"))?;
    let mut pages = Vec::new();
    loop {
        let (w, h) = dec.dimensions().with_context(|| format!("'{name}'"))?;
        let page = match dec.read_image().with_context(|| format!("'{name}'"))? {
            tiff::decoder::DecodingResult::U8(v) => Page::U8(v),
            tiff::decoder::DecodingResult::U16(v) => Page::U16(v),
            tiff::decoder::DecodingResult::F32(v) => Page::F32(v),
            _ => {
                bail!("'{name}': only 8/16-bit greyscale and 32-bit float TIFF pages are supported")
            }
        };
        if page_len(&page) != (w * h) as usize {
            bail!("'{name}': only single-channel (greyscale) TIFF pages are supported");
        }
        pages.push((w, h, page));
        if !dec.more_images() {
            break;
        }
        dec.next_image().with_context(|| format!("'{name}'"))?;
    }
    Ok(pages)
}

fn page_len(p: &Page) -> usize {
    match p {
        Page::U8(v) => v.len(),
        Page::U16(v) => v.len(),
        Page::F32(v) => v.len(),
    }
}

pub fn convert(inputs: &[String], output: &Path, o: &StackOptions) -> Result<()> {
    let files = expand(inputs)?;
    if output.exists() && !o.overwrite {
        bail!(
            "output '{}' already exists: pass --overwrite to replace it",
            output.display()
        );
    }
    let (w, h, dtype, counts) = survey_pages(&files)?;
    let n: usize = counts.iter().sum();
    let shape = [n as u64, h as u64, w as u64];
    let chunks = match &o.chunks {
        Some(c) if c.len() == 3 && !c.contains(&0) => {
            [c[0].min(shape[0]), c[1].min(shape[1]), c[2].min(shape[2])]
        }
        Some(c) => bail!("--chunks {c:?}: give three positive sizes"),
        None => [16.min(shape[0]), 256.min(shape[1]), 256.min(shape[2])],
    };
    let at = crate::store::Location::parse(output, &Default::default())?;
    let ds = NewDataset::create(&at, o.format, o.compression, o.overwrite)?;
    let mut attrs = Map::new();
    attrs.insert(
        "source_files".into(),
        json!(files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()),
    );
    ds.group(&attrs)?;
    ds.array(
        "image",
        ArraySpec {
            shape: &shape,
            chunks: &chunks,
            inner: None,
            dtype,
            dims: &o.dims,
            attributes: Map::new(),
            null_fill: false,
            compression: None,
            fill: None,
        },
    )?;
    let array = ds.open("image")?;
    // slice index of each file's first page
    let mut starts = vec![0usize];
    for c in &counts {
        starts.push(starts.last().expect("non-empty") + c);
    }
    // slabs of chunk-thick slices in parallel: memory is one slab per worker
    let slabs: Vec<usize> = (0..n).step_by(chunks[0] as usize).collect();
    let progress = crate::progress::Progress::counting(n as u64, "convert", o.quiet, "slices");
    slabs.par_iter().try_for_each(|&s0| -> Result<()> {
        let s1 = (s0 + chunks[0] as usize).min(n);
        let plane = (w * h) as usize;
        write_slab(&array, &files, &starts, s0..s1, (w, h), dtype)?;
        progress.advance((s1 - s0) as u64, ((s1 - s0) * plane * dtype.size()) as u64);
        Ok(())
    })?;
    progress.finish();
    ds.publish()?;
    if !o.quiet {
        crate::noteln!(
            "attr: {} files ({n} slices of {w}×{h} {}) -> {}",
            files.len(),
            dtype.v3_name(),
            output.display()
        );
    }
    Ok(())
}

/// Each file's page count, and the width, height and type every page
/// shares (from headers alone for TIFF).
fn survey_pages(files: &[PathBuf]) -> Result<(u32, u32, Dtype, Vec<usize>)> {
    let first = read_pages(&files[0])?;
    let (w, h, dtype) = (first[0].0, first[0].1, first[0].2.dtype());
    let counts: Vec<usize> = files
        .par_iter()
        .map(|f| -> Result<usize> {
            let pages = read_pages(f)?;
            for (k, (pw, ph, p)) in pages.iter().enumerate() {
                if (*pw, *ph) != (w, h) || p.dtype() != dtype {
                    bail!(
                        "'{}'{} is {pw}×{ph} {}, but '{}' is {w}×{h} {}: every slice must share one size and type",
                        f.display(),
                        if pages.len() > 1 { format!(" (page {k})") } else { String::new() },
                        p.dtype().v3_name(),
                        files[0].display(),
                        dtype.v3_name()
                    );
                }
            }
            Ok(pages.len())
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((w, h, dtype, counts))
}

/// Write slices `slices` (file `f` holds those from `starts[f]`) as one
/// slab of chunks.
fn write_slab(
    array: &zarrs::array::Array<dyn zarrs::storage::ReadableWritableListableStorageTraits>,
    files: &[PathBuf],
    starts: &[usize],
    slices: std::ops::Range<usize>,
    (w, h): (u32, u32),
    dtype: Dtype,
) -> Result<()> {
    let (s0, s1) = (slices.start, slices.end);
    let plane = (w * h) as usize;
    let mut pages: Vec<Page> = Vec::new();
    for (fi, f) in files.iter().enumerate() {
        let (a, b) = (starts[fi], starts[fi + 1]);
        if b <= s0 || a >= s1 {
            continue;
        }
        for (k, (_, _, p)) in read_pages(f)?.into_iter().enumerate() {
            if (s0..s1).contains(&(a + k)) {
                pages.push(p);
            }
        }
    }
    let subset = ArraySubset::new_with_ranges(&[s0 as u64..s1 as u64, 0..h as u64, 0..w as u64]);
    let dims = IxDyn(&[s1 - s0, h as usize, w as usize]);
    macro_rules! store {
        ($variant:ident, $t:ty) => {{
            let mut v: Vec<$t> = Vec::with_capacity((s1 - s0) * plane);
            for p in pages {
                match p {
                    Page::$variant(d) => v.extend(d),
                    _ => unreachable!("types checked"),
                }
            }
            array.store_array_subset(&subset, ArrayD::from_shape_vec(dims, v)?)
        }};
    }
    match dtype {
        Dtype::Uint8 => store!(U8, u8),
        Dtype::Uint16 => store!(U16, u16),
        _ => store!(F32, f32),
    }
    .with_context(|| format!("writing slices {s0}..{s1}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order() {
        let mut v = vec![
            "slice_10.png",
            "slice_2.png",
            "slice_1.png",
            "slice_02.png",
            "a.png",
        ];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            v,
            [
                "a.png",
                "slice_1.png",
                "slice_2.png",
                "slice_02.png",
                "slice_10.png"
            ]
        );
    }
}
