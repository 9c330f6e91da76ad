//! Sharded outputs (Zarr V3's `sharding_indexed` codec): many chunks in
//! one file or object, each shard written whole by one worker, so a survey
//! is thousands of files instead of millions. Readers still read chunk by
//! chunk, through the shard's index.

use serde::Deserialize;

/// `sharding:` of an output: a shard shape in samples (a whole number of
/// chunks along each axis), or `auto`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Sharding {
    Shape(Vec<u64>),
    Word(String),
}

/// Uncompressed bytes `auto` gathers into one shard, at least: enough to
/// cut the file count by an order of magnitude at 64³ chunks, few enough
/// that a worker holds a shard's results without tiling.
const AUTO_SHARD_BYTES: u64 = 16 << 20;

impl Sharding {
    /// The shard shape for `chunks` of `item` bytes in a volume of `shape`
    /// (the promoted 3-D grid; `ndim` stored axes), or what is wrong with
    /// the request, in words for `outputs[i].sharding`.
    pub fn shard_shape(
        &self,
        chunks: [u64; 3],
        shape: [u64; 3],
        ndim: usize,
        item: u64,
    ) -> Result<[u64; 3], String> {
        let first = 3 - ndim;
        match self {
            Sharding::Word(w) if w == "auto" => Ok(auto(chunks, shape, first, item)),
            Sharding::Word(w) => Err(format!(
                "'{w}': give a shard shape in samples (a whole number of chunks along each axis) or auto"
            )),
            Sharding::Shape(s) if s.len() != ndim => Err(format!(
                "{s:?} has {} values, the volume has {ndim} dimensions",
                s.len()
            )),
            Sharding::Shape(s) => {
                let mut out = chunks;
                for (k, &n) in s.iter().enumerate() {
                    let a = first + k;
                    if n == 0 || n % chunks[a] != 0 {
                        return Err(format!(
                            "{s:?}: each side must be a positive multiple of the chunks {:?}",
                            &chunks[first..]
                        ));
                    }
                    // a shard longer than the volume holds the volume: no more
                    out[a] = n.min(shape[a].div_ceil(chunks[a]) * chunks[a]);
                }
                Ok(out)
            }
        }
    }
}

/// Chunks doubled down the traces first, then along the lateral axes,
/// until a shard holds [`AUTO_SHARD_BYTES`] or the whole volume. Traces
/// first: an attribute over the whole trace (a Hilbert transform, a
/// filter) computes whole columns anyway, so column shards cost it no
/// parallelism, where lateral ones would join its columns into few tasks.
fn auto(chunks: [u64; 3], shape: [u64; 3], first: usize, item: u64) -> [u64; 3] {
    let limit = [0, 1, 2].map(|a| shape[a].div_ceil(chunks[a]).max(1) * chunks[a]);
    let bytes = |s: &[u64; 3]| s.iter().product::<u64>() * item;
    let mut s = chunks;
    let order: Vec<usize> = (first..3).collect();
    while bytes(&s) < AUTO_SHARD_BYTES {
        let grown = order
            .iter()
            .copied()
            .filter(|&a| s[a] < limit[a])
            .min_by_key(|&a| (a != 2, s[a] / chunks[a]));
        let Some(a) = grown else { break };
        s[a] = (s[a] * 2).min(limit[a]);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_grows_down_the_traces_first_and_stops_at_the_volume() {
        let s = Sharding::Word("auto".into());
        // 1 MiB chunks: 16 of them, a column
        assert_eq!(
            s.shard_shape([64, 64, 64], [1000, 1000, 1000], 3, 4)
                .unwrap(),
            [64, 64, 1024]
        );
        // short traces: the rest laterally
        assert_eq!(
            s.shard_shape([64, 64, 64], [1000, 1000, 100], 3, 4)
                .unwrap(),
            [256, 128, 128]
        );
        // a small volume is one shard
        assert_eq!(
            s.shard_shape([64, 64, 64], [100, 90, 80], 3, 4).unwrap(),
            [128, 128, 128]
        );
    }

    #[test]
    fn shapes_must_be_whole_chunks() {
        let s = |v: Vec<u64>| Sharding::Shape(v).shard_shape([64, 64, 64], [500, 500, 500], 3, 4);
        assert_eq!(s(vec![128, 128, 64]).unwrap(), [128, 128, 64]);
        assert_eq!(s(vec![1024, 128, 64]).unwrap(), [512, 128, 64]);
        assert!(s(vec![100, 128, 64])
            .unwrap_err()
            .contains("multiple of the chunks"));
        assert!(s(vec![128, 128]).unwrap_err().contains("3 dimensions"));
        assert!(Sharding::Word("big".into())
            .shard_shape([64; 3], [500; 3], 3, 4)
            .is_err());
    }
}
