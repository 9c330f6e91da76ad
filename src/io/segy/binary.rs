//! What the binary header (or, for Seismic Unix, the first trace header)
//! says about the whole file: byte order, sample format, samples per trace,
//! interval, and where the traces start.

use super::format::SampleFormat;
use super::text::decode_text;
use anyhow::{bail, Result};

/// The textual header, the binary header and a trace header, in bytes.
pub const TEXT: usize = 3200;
pub const BINARY: usize = 400;
pub const TRACE_HEADER: usize = 240;

#[derive(Clone, Copy, Debug)]
pub struct BinaryHeader {
    pub big_endian: bool,
    pub format: SampleFormat,
    pub samples: usize,
    /// Sample interval, µs (fractional from a rev 2 extended interval; 0
    /// when the binary header leaves it to the trace headers).
    pub dt_us: f64,
    /// Where the first trace starts: after the textual, binary and
    /// extended textual headers.
    pub data_start: usize,
    /// Bytes of trace header in front of each trace (240, or more with
    /// rev 2 additional trace headers).
    pub header_len: usize,
}

impl BinaryHeader {
    /// Bytes per trace, headers and samples.
    pub fn trace_len(&self) -> usize {
        self.header_len + self.samples * self.format.size()
    }

    /// A SEG-Y file's: the byte order from the 3297 constant, else the one
    /// that makes the format code valid, unless `forced`.
    pub fn segy(map: &[u8], name: &str, forced: Option<bool>) -> Result<BinaryHeader> {
        if map.len() < TEXT + BINARY {
            bail!(
                "'{name}' is too short to be SEG-Y ({} bytes; the headers alone take 3600)",
                map.len()
            );
        }
        let bin = &map[TEXT..TEXT + BINARY];
        let u16_at = |be: bool, o: usize| {
            let b = [bin[o], bin[o + 1]];
            if be {
                u16::from_be_bytes(b)
            } else {
                u16::from_le_bytes(b)
            }
        };
        let known = |be: bool| SampleFormat::from_code(u16_at(be, 24)).is_some();
        let big_endian = match (forced, u32::from_be_bytes([bin[296], bin[297], bin[298], bin[299]])) {
            (Some(be), _) => be,
            (None, 0x0102_0304) => true,
            (None, 0x0403_0201) => false,
            _ if known(true) => true,
            _ if known(false) => false,
            _ => bail!(
                "'{name}': sample format code {} is not a SEG-Y format in either byte order (binary header bytes 3225-3226)",
                u16_at(true, 24)
            ),
        };
        let code = u16_at(big_endian, 24);
        let Some(format) = SampleFormat::from_code(code) else {
            let hint = if forced.is_some() {
                ": is --byte-order right?"
            } else {
                ""
            };
            bail!(
                "'{name}': unknown sample format code {code} (binary header bytes 3225-3226){hint}"
            );
        };
        let mut samples = u16_at(big_endian, 20) as usize;
        let mut dt_us = u16_at(big_endian, 16) as f64;
        let rev2 = bin[300] >= 2;
        // rev 2: a non-zero extended sample count (bytes 3269-3272) and
        // interval (3273-3280, IEEE double) override the 16-bit fields
        if rev2 {
            let mut w4 = [bin[68], bin[69], bin[70], bin[71]];
            let mut w8 = [0u8; 8];
            w8.copy_from_slice(&bin[72..80]);
            if !big_endian {
                w4.reverse();
                w8.reverse();
            }
            let ext_ns = u32::from_be_bytes(w4) as usize;
            let ext_dt = f64::from_be_bytes(w8);
            if ext_ns > 0 {
                samples = ext_ns;
            }
            if ext_dt.is_finite() && ext_dt > 0.0 {
                dt_us = ext_dt;
            }
        }
        let extended = extended_text_headers(map, name, u16_at(big_endian, 304) as i16)?;
        // rev 2: additional 240-byte trace headers (bytes 3507-3508)
        let additional = if rev2 {
            u16_at(big_endian, 306) as usize
        } else {
            0
        };
        Ok(BinaryHeader {
            big_endian,
            format,
            samples,
            dt_us,
            data_start: TEXT + BINARY + extended * TEXT,
            header_len: TRACE_HEADER * (1 + additional),
        })
    }

    /// A Seismic Unix file's (no binary header): IEEE float traces with
    /// 240-byte headers, in whichever byte order makes the sample count
    /// fit the file, unless `forced`.
    pub fn su(map: &[u8], name: &str, forced: Option<bool>) -> Result<BinaryHeader> {
        if map.len() < TRACE_HEADER {
            bail!("'{name}' is too short to be a Seismic Unix file");
        }
        let orders: &[bool] = match forced {
            Some(true) => &[true],
            Some(false) => &[false],
            None => &[true, false],
        };
        for &be in orders {
            let rd = |o: usize| {
                let b = [map[o], map[o + 1]];
                if be {
                    u16::from_be_bytes(b)
                } else {
                    u16::from_le_bytes(b)
                }
            };
            let ns = rd(114) as usize;
            if ns > 0 && map.len().is_multiple_of(TRACE_HEADER + 4 * ns) {
                return Ok(BinaryHeader {
                    big_endian: be,
                    format: SampleFormat::Ieee,
                    samples: ns,
                    dt_us: rd(116) as f64,
                    data_start: 0,
                    header_len: TRACE_HEADER,
                });
            }
        }
        bail!("'{name}': the sample count (trace header bytes 115-116) does not fit the file size in either byte order")
    }
}

/// How many extended textual headers follow the binary header: `count`, or
/// for -1 as many as run until a `((SEG: EndText))` stanza.
fn extended_text_headers(map: &[u8], name: &str, count: i16) -> Result<usize> {
    if count >= 0 {
        return Ok(count as usize);
    }
    // stanza names are case- and space-insensitive
    let ends = |block: &[u8]| {
        let t: String = decode_text(block)
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        t.to_ascii_lowercase().contains("((seg:endtext))")
    };
    let mut n = 0;
    loop {
        let start = TEXT + BINARY + n * TEXT;
        if start + TEXT > map.len() {
            bail!("'{name}': the extended textual headers never end with ((SEG: EndText))");
        }
        n += 1;
        if ends(&map[start..start + TEXT]) {
            return Ok(n);
        }
    }
}
