//! Writing SEG-Y, beside the reader: header values in the file's byte
//! order, samples as IEEE or IBM floats, and a minimal textual header.

use super::format::{f32_to_ibm, SampleFormat};

/// How values are laid down in the file being written.
#[derive(Clone, Copy, Debug)]
pub struct Encoder {
    pub big_endian: bool,
    /// [`SampleFormat::Ieee`] or [`SampleFormat::Ibm`].
    pub format: SampleFormat,
}

impl Encoder {
    pub fn put_u16(&self, buf: &mut [u8], at: usize, v: u16) {
        let b = if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        buf[at..at + 2].copy_from_slice(&b);
    }

    pub fn put_i32(&self, buf: &mut [u8], at: usize, v: i32) {
        let b = if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        buf[at..at + 4].copy_from_slice(&b);
    }

    /// `values` as 4-byte samples into `out` (4 bytes each).
    pub fn samples(&self, values: impl Iterator<Item = f32>, out: &mut [u8]) {
        for (v, o) in values.zip(out.chunks_exact_mut(4)) {
            let bits = if self.format == SampleFormat::Ibm {
                f32_to_ibm(v)
            } else {
                v.to_bits()
            };
            o.copy_from_slice(&if self.big_endian {
                bits.to_be_bytes()
            } else {
                bits.to_le_bytes()
            });
        }
    }
}

/// A blank EBCDIC textual header with one card saying who wrote the file.
pub fn minimal_textual_header() -> Vec<u8> {
    let mut text = vec![0x40; 3200];
    // EBCDIC for the few characters used
    for (i, &c) in b"C 1 WRITTEN BY ATTR".iter().enumerate() {
        text[i] = match c {
            b'A'..=b'I' => 0xC1 + (c - b'A'),
            b'J'..=b'R' => 0xD1 + (c - b'J'),
            b'S'..=b'Z' => 0xE2 + (c - b'S'),
            b'0'..=b'9' => 0xF0 + (c - b'0'),
            _ => 0x40,
        };
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_round_trip_through_the_reader() {
        for (format, big_endian) in [(SampleFormat::Ibm, true), (SampleFormat::Ieee, false)] {
            let e = Encoder { big_endian, format };
            let v = [1.0f32, -118.625, 0.0, 3.5e-3];
            let mut raw = vec![0u8; 16];
            e.samples(v.iter().copied(), &mut raw);
            let mut back = [0f64; 4];
            format.decode_trace(&raw, big_endian, &mut back);
            for (a, b) in v.iter().zip(back) {
                assert!((*a as f64 - b).abs() <= 1e-6 * a.abs() as f64, "{a} {b}");
            }
        }
        assert_eq!(
            super::super::text::decode_text(&minimal_textual_header())
                .lines()
                .next(),
            Some("C 1 WRITTEN BY ATTR")
        );
    }
}
