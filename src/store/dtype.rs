//! The numeric data types we read and write, and conversion to the kernels' f32.

use zarrs::array::data_type::{
    Float32DataType, Float64DataType, Int16DataType, Int32DataType, Int64DataType, Int8DataType,
    UInt16DataType, UInt32DataType, UInt64DataType, UInt8DataType,
};
use zarrs::array::DataType;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    Int8,
    Int16,
    Int32,
    Int64,
    Uint8,
    Uint16,
    Uint32,
    Uint64,
    Float32,
    Float64,
}

impl Dtype {
    pub fn from_zarrs(dt: &DataType) -> Option<Dtype> {
        Some(if dt.is::<Float32DataType>() {
            Dtype::Float32
        } else if dt.is::<Float64DataType>() {
            Dtype::Float64
        } else if dt.is::<Int8DataType>() {
            Dtype::Int8
        } else if dt.is::<Int16DataType>() {
            Dtype::Int16
        } else if dt.is::<Int32DataType>() {
            Dtype::Int32
        } else if dt.is::<Int64DataType>() {
            Dtype::Int64
        } else if dt.is::<UInt64DataType>() {
            Dtype::Uint64
        } else if dt.is::<UInt8DataType>() {
            Dtype::Uint8
        } else if dt.is::<UInt16DataType>() {
            Dtype::Uint16
        } else if dt.is::<UInt32DataType>() {
            Dtype::Uint32
        } else {
            return None;
        })
    }

    pub fn size(self) -> usize {
        match self {
            Dtype::Int8 | Dtype::Uint8 => 1,
            Dtype::Int16 | Dtype::Uint16 => 2,
            Dtype::Int32 | Dtype::Uint32 | Dtype::Float32 => 4,
            Dtype::Float64 | Dtype::Int64 | Dtype::Uint64 => 8,
        }
    }

    /// The Zarr V3 `data_type` name.
    pub fn v3_name(self) -> &'static str {
        match self {
            Dtype::Int8 => "int8",
            Dtype::Int16 => "int16",
            Dtype::Int32 => "int32",
            Dtype::Uint8 => "uint8",
            Dtype::Uint16 => "uint16",
            Dtype::Uint32 => "uint32",
            Dtype::Int64 => "int64",
            Dtype::Uint64 => "uint64",
            Dtype::Float32 => "float32",
            Dtype::Float64 => "float64",
        }
    }

    /// The Zarr V2 (numpy) `dtype` string, little-endian.
    pub fn v2_name(self) -> &'static str {
        match self {
            Dtype::Int8 => "|i1",
            Dtype::Int16 => "<i2",
            Dtype::Int32 => "<i4",
            Dtype::Uint8 => "|u1",
            Dtype::Uint16 => "<u2",
            Dtype::Uint32 => "<u4",
            Dtype::Int64 => "<i8",
            Dtype::Uint64 => "<u8",
            Dtype::Float32 => "<f4",
            Dtype::Float64 => "<f8",
        }
    }

    pub fn is_float(self) -> bool {
        matches!(self, Dtype::Float32 | Dtype::Float64)
    }
}

/// Run `$body` with `$t` bound to the Rust type of `$dtype`.
#[macro_export]
macro_rules! with_dtype {
    ($dtype:expr, $t:ident, $body:expr) => {
        match $dtype {
            $crate::store::Dtype::Int8 => {
                type $t = i8;
                $body
            }
            $crate::store::Dtype::Int16 => {
                type $t = i16;
                $body
            }
            $crate::store::Dtype::Int32 => {
                type $t = i32;
                $body
            }
            $crate::store::Dtype::Int64 => {
                type $t = i64;
                $body
            }
            $crate::store::Dtype::Uint64 => {
                type $t = u64;
                $body
            }
            $crate::store::Dtype::Uint8 => {
                type $t = u8;
                $body
            }
            $crate::store::Dtype::Uint16 => {
                type $t = u16;
                $body
            }
            $crate::store::Dtype::Uint32 => {
                type $t = u32;
                $body
            }
            $crate::store::Dtype::Float32 => {
                type $t = f32;
                $body
            }
            $crate::store::Dtype::Float64 => {
                type $t = f64;
                $body
            }
        }
    };
}

/// Numeric conversion to and from the kernels' f32.
pub trait Sample: Copy + zarrs::array::ElementOwned + Send + Sync + 'static {
    fn to_f32(self) -> f32;
    fn to_f64(self) -> f64;
    fn from_f32(v: f32) -> Self;
    fn from_f64(v: f64) -> Self;
}

macro_rules! sample_impl {
    ($($t:ty),*) => {$(
        impl Sample for $t {
            #[inline]
            fn to_f32(self) -> f32 { self as f32 }
            #[inline]
            fn to_f64(self) -> f64 { self as f64 }
            #[inline]
            fn from_f32(v: f32) -> Self { v as $t }
            #[inline]
            fn from_f64(v: f64) -> Self { v as $t }
        }
    )*};
}
sample_impl!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);

/// `value` itself as a `B` when `A` is `B` (f32 samples on their way to
/// or from the kernels need no conversion, nor the copy one would make),
/// else `value` back.
pub fn identical<A: 'static, B: 'static>(value: A) -> Result<B, A> {
    let boxed: Box<dyn std::any::Any> = Box::new(value);
    match boxed.downcast::<B>() {
        Ok(b) => Ok(*b),
        Err(boxed) => Err(*boxed.downcast::<A>().expect("its own type")),
    }
}
