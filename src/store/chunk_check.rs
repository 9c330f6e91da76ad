//! Whether a dataset's chunks are what was written: present, of the
//! recorded size and CRC-32C, or (without a record) decodable.

use super::{Input, Ledger, Location};
use anyhow::Result;
use rayon::prelude::*;

/// Every chunk of `variable` in `dataset` that is missing, differs from
/// its recorded size and crc32c, or (without a record) does not decode,
/// with the reason. Returns the number checked and those.
/// Damaged chunks with the reason, in words.
pub type Damaged = Vec<([u64; 3], String)>;

/// `full`: read every chunk and check its checksum; otherwise only its size.
pub fn damaged_chunks(dataset: &Location, variable: &str, full: bool) -> Result<(usize, Damaged)> {
    // the variable as an array: the dataset may not be published yet
    let input = Input::open(&dataset.join(variable)?, None)?;
    let sums = Ledger::at(dataset)
        .checksums()
        .remove(variable)
        .unwrap_or_default();
    let g = input.grid();
    let all: Vec<[u64; 3]> = (0..g[0])
        .flat_map(|i| (0..g[1]).flat_map(move |j| (0..g[2]).map(move |k| [i, j, k])))
        .collect();
    let mut bad: Damaged = all
        .par_iter()
        .filter_map(|&idx| {
            let name = format!("{}.{}.{}", idx[0], idx[1], idx[2]);
            if !full {
                let size = input.stored_chunk_size(idx);
                return match (size, sums.get(&name)) {
                    (None, _) => Some((idx, format!("{variable} chunk {name}: missing"))),
                    (Some(s), Some(&(n, _))) if s != n => Some((
                        idx,
                        format!("{variable} chunk {name}: {s} bytes, {n} written"),
                    )),
                    _ => None,
                };
            }
            let bytes = match input.stored_chunk(idx) {
                Ok(Some(b)) => b,
                Ok(None) => return Some((idx, format!("{variable} chunk {name}: missing"))),
                Err(e) => {
                    return Some((idx, format!("{variable} chunk {name}: unreadable: {e:#}")))
                }
            };
            match sums.get(&name) {
                Some(&(n, _)) if n != bytes.len() as u64 => Some((
                    idx,
                    format!(
                        "{variable} chunk {name}: {} bytes, {n} written",
                        bytes.len()
                    ),
                )),
                Some(&(_, crc)) if crc != crc32c::crc32c(&bytes) => {
                    Some((idx, format!("{variable} chunk {name}: checksum mismatch")))
                }
                Some(_) => None,
                None => input
                    .read_chunk(idx)
                    .err()
                    .map(|e| (idx, format!("{variable} chunk {name}: undecodable: {e:#}"))),
            }
        })
        .collect();
    bad.sort();
    Ok((all.len(), bad))
}
