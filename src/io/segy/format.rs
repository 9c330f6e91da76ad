//! SEG-Y sample formats (binary header bytes 3225-3226): their size, how
//! each decodes, the type a volume keeps them in, and IBM floats both ways.

use crate::store::Dtype;

/// A sample format code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SampleFormat {
    /// 1: IBM single-precision float.
    Ibm,
    /// 2: 4-byte two's complement integer.
    Int32,
    /// 3: 2-byte two's complement integer.
    Int16,
    /// 4: fixed point with gain, obsolete. The files that carry this code
    /// hold IEEE float32 samples, and they are read as such.
    FixedGain,
    /// 5: IEEE single-precision float.
    Ieee,
    /// 6: IEEE double-precision float.
    Ieee64,
    /// 7: 3-byte two's complement integer.
    Int24,
    /// 8: 1-byte two's complement integer.
    Int8,
    /// 9: 8-byte two's complement integer.
    Int64,
    /// 10: 4-byte unsigned integer.
    UInt32,
    /// 11: 2-byte unsigned integer.
    UInt16,
    /// 12: 8-byte unsigned integer.
    UInt64,
    /// 15: 3-byte unsigned integer.
    UInt24,
    /// 16: 1-byte unsigned integer.
    UInt8,
}

use SampleFormat::*;

const CODES: [(u16, SampleFormat); 14] = [
    (1, Ibm),
    (2, Int32),
    (3, Int16),
    (4, FixedGain),
    (5, Ieee),
    (6, Ieee64),
    (7, Int24),
    (8, Int8),
    (9, Int64),
    (10, UInt32),
    (11, UInt16),
    (12, UInt64),
    (15, UInt24),
    (16, UInt8),
];

impl SampleFormat {
    pub fn from_code(code: u16) -> Option<SampleFormat> {
        CODES.iter().find(|(c, _)| *c == code).map(|(_, f)| *f)
    }

    pub fn code(self) -> u16 {
        CODES
            .iter()
            .find(|(_, f)| *f == self)
            .map_or(0, |(c, _)| *c)
    }

    /// Bytes per sample.
    pub fn size(self) -> usize {
        match self {
            Ibm | Int32 | FixedGain | Ieee | UInt32 => 4,
            Int16 | UInt16 => 2,
            Ieee64 | Int64 | UInt64 => 8,
            Int24 | UInt24 => 3,
            Int8 | UInt8 => 1,
        }
    }

    /// Samples that decode straight to f32.
    pub fn is_single_float(self) -> bool {
        matches!(self, Ibm | FixedGain | Ieee)
    }

    /// The type a volume keeps the samples in with `--dtype native`.
    pub fn native_dtype(self) -> Dtype {
        match self {
            Int32 | Int24 => Dtype::Int32,
            Int16 => Dtype::Int16,
            Int8 => Dtype::Int8,
            UInt32 | UInt24 => Dtype::Uint32,
            UInt16 => Dtype::Uint16,
            UInt8 => Dtype::Uint8,
            Ieee64 => Dtype::Float64,
            Int64 => Dtype::Int64,
            UInt64 => Dtype::Uint64,
            Ibm | FixedGain | Ieee => Dtype::Float32,
        }
    }

    /// One sample, given big-endian in the low `size()` bytes of `b`:
    /// exact for every format but 64-bit integers beyond 2^53.
    #[inline]
    pub fn decode(self, b: [u8; 8]) -> f64 {
        let be4 = [b[4], b[5], b[6], b[7]];
        match self {
            Ibm => ibm_to_f32(u32::from_be_bytes(be4)) as f64,
            Int32 => i32::from_be_bytes(be4) as f64,
            Int16 => i16::from_be_bytes([b[6], b[7]]) as f64,
            FixedGain | Ieee => f32::from_be_bytes(be4) as f64,
            Ieee64 => f64::from_be_bytes(b),
            Int24 => ((u32::from_be_bytes(be4) << 8) as i32 >> 8) as f64,
            Int8 => b[7] as i8 as f64,
            Int64 => i64::from_be_bytes(b) as f64,
            UInt32 | UInt24 => u32::from_be_bytes(be4) as f64,
            UInt16 => u16::from_be_bytes([b[6], b[7]]) as f64,
            UInt64 => u64::from_be_bytes(b) as f64,
            UInt8 => b[7] as f64,
        }
    }

    /// A whole trace of raw bytes in the file's byte order into `out`.
    pub fn decode_trace(self, raw: &[u8], big_endian: bool, out: &mut [f64]) {
        let n = self.size();
        // one format test per trace, not per sample
        macro_rules! each {
            ($f:ident) => {
                for (v, s) in out.iter_mut().zip(raw.chunks_exact(n)) {
                    let mut b = [0u8; 8];
                    if big_endian {
                        b[8 - n..].copy_from_slice(s);
                    } else {
                        for i in 0..n {
                            b[7 - i] = s[i];
                        }
                    }
                    *v = $f.decode(b);
                }
            };
        }
        match self {
            Ibm => each!(Ibm),
            Int32 => each!(Int32),
            Int16 => each!(Int16),
            FixedGain => each!(FixedGain),
            Ieee => each!(Ieee),
            Ieee64 => each!(Ieee64),
            Int24 => each!(Int24),
            Int8 => each!(Int8),
            Int64 => each!(Int64),
            UInt32 => each!(UInt32),
            UInt16 => each!(UInt16),
            UInt64 => each!(UInt64),
            UInt24 => each!(UInt24),
            UInt8 => each!(UInt8),
        }
    }
}

pub fn ibm_to_f32(b: u32) -> f32 {
    // mantissa × 16^(e − 64) / 2^24, exact in f64 (a power of two scale
    // built from its bits), rounded once to f32
    let sign = if b >> 31 == 1 { -1.0 } else { 1.0 };
    let exponent = ((b >> 24) & 0x7f) as i64 - 64;
    let mantissa = (b & 0x00ff_ffff) as f64;
    let scale = f64::from_bits(((4 * exponent - 24 + 1023) as u64) << 52);
    (sign * mantissa * scale) as f32
}

/// IEEE single to IBM single: exact for every value that came from IBM.
pub fn f32_to_ibm(v: f32) -> u32 {
    if v == 0.0 || !v.is_finite() {
        return 0;
    }
    let sign = if v < 0.0 { 0x8000_0000 } else { 0 };
    let mut m = v.abs() as f64;
    let mut e: i32 = 64;
    while m >= 1.0 {
        m /= 16.0;
        e += 1;
    }
    while m < 0.0625 {
        m *= 16.0;
        e -= 1;
    }
    if e <= 0 {
        return sign; // underflow
    }
    if e > 127 {
        return sign | 0x7FFF_FFFF;
    }
    let frac = (m * 16_777_216.0).round() as u32;
    let (frac, e) = if frac >= 1 << 24 {
        (frac >> 4, e + 1)
    } else {
        (frac, e)
    };
    sign | ((e as u32) << 24) | (frac & 0x00FF_FFFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ibm_floats() {
        assert_eq!(ibm_to_f32(0x4110_0000), 1.0);
        assert_eq!(ibm_to_f32(0xC276_A000), -118.625);
        assert_eq!(ibm_to_f32(0), 0.0);
    }

    #[test]
    fn ibm_encoding_inverts_decoding() {
        for bits in [
            0x4110_0000u32,
            0xC276_A000,
            0x3F80_0000,
            0x4280_0000,
            0x4110_0001,
            0x6012_3456,
            0x21F0_0000,
        ] {
            let v = ibm_to_f32(bits);
            assert_eq!(f32_to_ibm(v), bits, "{bits:08x} -> {v}");
        }
        assert_eq!(f32_to_ibm(0.0), 0);
    }

    #[test]
    fn codes_round_trip() {
        for (c, f) in CODES {
            assert_eq!(SampleFormat::from_code(c), Some(f));
            assert_eq!(f.code(), c);
        }
        assert_eq!(SampleFormat::from_code(13), None);
    }
}
