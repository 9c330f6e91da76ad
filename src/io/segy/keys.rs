//! Where a file keeps its geometry: which trace-header fields hold the
//! inline, crossline and offset numbers. Decided once, here, for every
//! command that reads SEG-Y (convert, info, view, export's template).

use super::layout::{Field, TraceField};
use std::path::Path;

/// Which header fields hold the geometry. `None` means: from the file's XML
/// layout when it has one, else the standard bytes (189, 193).
#[derive(Clone, Debug, Default)]
pub struct Keys {
    pub iline: Option<Field>,
    pub xline: Option<Field>,
    /// Pre-stack gathers: an offset axis.
    pub offset: Option<Field>,
    /// A 2-D line: one key (`iline` names it, e.g. cdp at byte 21), no crossline.
    pub line: bool,
    /// Byte order forced (true: big-endian) instead of detected.
    pub big_endian: Option<bool>,
}

/// Where files from common sources keep inline and crossline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Preset {
    /// Inline at byte 189, crossline at 193 (SEG-Y rev 1).
    Standard,
    /// Inline at 5, crossline at 21.
    Petrel,
    /// Seismic Unix: inline at 5, crossline at 21.
    Su,
    /// A 2-D line keyed by the cdp at byte 21, stored as (cdp, time).
    Cdp,
}

impl Preset {
    /// The inline (or line key) and crossline fields.
    fn fields(self) -> (Field, Option<Field>) {
        match self {
            Preset::Standard => (
                TraceField::Iline.standard(),
                Some(TraceField::Xline.standard()),
            ),
            Preset::Petrel | Preset::Su => (Field::int4(5), Some(Field::int4(21))),
            Preset::Cdp => (TraceField::Cdp.standard(), None),
        }
    }
}

/// What a user said about the geometry; [`Keys::resolve`] decides.
#[derive(Clone, Debug, Default)]
pub struct Choice {
    pub preset: Option<Preset>,
    pub iline: Option<Field>,
    pub xline: Option<Field>,
    pub offset: Option<Field>,
    pub big_endian: Option<bool>,
}

impl Keys {
    #[cfg(test)]
    pub fn bytes(iline: usize, xline: usize) -> Keys {
        Keys {
            iline: Some(Field::int4(iline)),
            xline: Some(Field::int4(xline)),
            ..Keys::default()
        }
    }

    /// Explicit fields, else the preset, else `su` for `.su` files, else
    /// (left `None`) the file's XML layout or the standard bytes.
    pub fn resolve(path: &Path, c: &Choice) -> Result<Keys, String> {
        let su_file = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("su"));
        let preset = c.preset.or(su_file.then_some(Preset::Su));
        let (il, xl) = match preset.map(Preset::fields) {
            Some((il, xl)) => (Some(il), xl),
            None => (None, None),
        };
        let line = c.preset == Some(Preset::Cdp);
        if line && c.xline.is_some() {
            return Err("--xline-byte: a 2-D line (--preset cdp) has no crossline".into());
        }
        Ok(Keys {
            iline: c.iline.or(il),
            xline: c.xline.or(xl),
            offset: c.offset,
            line,
            big_endian: c.big_endian,
        })
    }
}
