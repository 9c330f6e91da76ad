//! Trace-header fields: where a value sits in a trace's headers and how it
//! is encoded, and the SEG-Y rev 2.1 XML trace-header layout (Annex D8) that
//! a file may carry in an extended textual header stanza `((SEG:Layout))`.

use anyhow::{anyhow, bail, Context, Result};

/// How a header value is encoded (the rev 2.1 layout type names map onto these).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    I2,
    I4,
    I8,
    U2,
    U4,
    U8,
    Ibm,
    F32,
    F64,
    /// 4-byte integer mantissa and 2-byte power-of-ten exponent.
    Scale6,
}

impl Kind {
    /// The rev 2.1 type names (Table D8-1) and their encodings.
    fn from_name(t: &str) -> Option<Kind> {
        Some(match t {
            "int2" | "time2" => Kind::I2,
            "int4" | "linetrc" | "reeltrc" | "coor4" | "elev4" | "spnum4" => Kind::I4,
            "int8" | "linetrc8" | "reeltrc8" => Kind::I8,
            "uint2" => Kind::U2,
            "uint4" => Kind::U4,
            "uint8" => Kind::U8,
            "ibmfp" => Kind::Ibm,
            "ieee32" => Kind::F32,
            "ieee64" => Kind::F64,
            "scale6" => Kind::Scale6,
            _ => return None,
        })
    }

    pub fn size(self) -> usize {
        match self {
            Kind::I2 | Kind::U2 => 2,
            Kind::I4 | Kind::U4 | Kind::Ibm | Kind::F32 => 4,
            Kind::I8 | Kind::U8 | Kind::F64 => 8,
            Kind::Scale6 => 6,
        }
    }

    pub fn is_integer(self) -> bool {
        matches!(
            self,
            Kind::I2 | Kind::I4 | Kind::I8 | Kind::U2 | Kind::U4 | Kind::U8
        )
    }
}

/// One value in a trace's headers: which 240-byte header (0 is the standard
/// one, k the k-th additional one), the 1-based byte in it, and the encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    pub header: usize,
    pub byte: usize,
    pub kind: Kind,
}

impl Field {
    /// A 4-byte integer in the standard header, as `--iline-byte` gives.
    pub fn int4(byte: usize) -> Field {
        Field {
            header: 0,
            byte,
            kind: Kind::I4,
        }
    }

    /// Where it is, in the words a user types.
    pub fn describe(&self) -> String {
        if self.header == 0 && self.kind == Kind::I4 {
            format!("byte {}", self.byte)
        } else if self.header == 0 {
            format!("byte {} ({:?})", self.byte, self.kind)
        } else {
            format!(
                "byte {} of additional header {} ({:?})",
                self.byte, self.header, self.kind
            )
        }
    }

    /// Decode from big-endian-normalised bytes (`b.len() == size`).
    pub fn decode(&self, b: &[u8]) -> f64 {
        let mut a = [0u8; 8];
        let n = b.len();
        a[8 - n..].copy_from_slice(b);
        let u = u64::from_be_bytes(a);
        match self.kind {
            Kind::I2 => u as u16 as i16 as f64,
            Kind::I4 => u as u32 as i32 as f64,
            Kind::I8 => u as i64 as f64,
            Kind::U2 | Kind::U4 | Kind::U8 => u as f64,
            Kind::Ibm => super::format::ibm_to_f32(u as u32) as f64,
            Kind::F32 => f32::from_bits(u as u32) as f64,
            Kind::F64 => f64::from_bits(u),
            Kind::Scale6 => {
                let m = (u >> 16) as u32 as i32 as f64;
                let e = u as u16 as i16 as i32;
                m * 10f64.powi(e)
            }
        }
    }
}

/// `BYTE` or `BYTE:TYPE` (a layout type name), as `--iline-byte 189:int2`
/// gives it: an integer field of the standard header.
impl std::str::FromStr for Field {
    type Err = String;
    fn from_str(v: &str) -> Result<Field, String> {
        let (byte, ty) = v.split_once(':').unwrap_or((v, "int4"));
        let byte: usize = byte
            .trim()
            .parse()
            .map_err(|_| format!("'{v}': give a byte number, e.g. 189 or 189:int2"))?;
        let kind = Kind::from_name(ty.trim())
            .filter(|k| k.is_integer())
            .ok_or_else(|| {
                format!("'{v}': the type must be int2, int4, int8, uint2, uint4 or uint8")
            })?;
        Ok(Field {
            header: 0,
            byte,
            kind,
        })
    }
}

/// The trace-header values attr reads, at their rev 1 places unless the
/// file's XML layout puts them elsewhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceField {
    Iline,
    Xline,
    Offset,
    Cdp,
    CoordinateScalar,
    DelayTime,
    SampleInterval,
    TimeScalar,
    CdpX,
    CdpY,
}

impl TraceField {
    /// The name rev 2.1 layouts give it (Table D8-2).
    pub fn layout_name(self) -> &'static str {
        match self {
            TraceField::Iline => "iline",
            TraceField::Xline => "xline",
            TraceField::Offset => "offset",
            TraceField::Cdp => "cdp",
            TraceField::CoordinateScalar => "co_scal",
            TraceField::DelayTime => "delay",
            TraceField::SampleInterval => "dt",
            TraceField::TimeScalar => "tm_scal",
            TraceField::CdpX => "cdp_x",
            TraceField::CdpY => "cdp_y",
        }
    }

    /// Its place in the standard (rev 1) trace header.
    pub fn standard(self) -> Field {
        let (byte, kind) = match self {
            TraceField::Iline => (189, Kind::I4),
            TraceField::Xline => (193, Kind::I4),
            TraceField::Offset => (37, Kind::I4),
            TraceField::Cdp => (21, Kind::I4),
            TraceField::CoordinateScalar => (71, Kind::I2),
            TraceField::DelayTime => (109, Kind::I2),
            TraceField::SampleInterval => (117, Kind::U2),
            TraceField::TimeScalar => (215, Kind::I2),
            TraceField::CdpX => (181, Kind::I4),
            TraceField::CdpY => (185, Kind::I4),
        };
        Field {
            header: 0,
            byte,
            kind,
        }
    }
}

/// A named entry of a layout.
#[derive(Clone, Debug)]
struct Entry {
    name: String,
    field: Field,
    /// Rev 2.1 `if-non-zero`: an extension value that replaces the standard
    /// one only when it is not zero.
    if_non_zero: bool,
}

/// The fields a file's XML layout names, with the extension headers it declares.
#[derive(Clone, Debug, Default)]
pub struct Layout {
    entries: Vec<Entry>,
    /// Extension names in declaration order (e.g. "SEG00001", "PRIVATE1").
    extensions: Vec<String>,
}

/// The entries `attr` needs a layout to define, and the integer types they need.
const REQUIRED: [&str; 3] = ["iline", "xline", "offset"];

impl Layout {
    /// Parse the XML of a `((SEG:Layout))` stanza; `at` names where it came
    /// from for error messages. Extension headers are matched to the file's
    /// headers by name later, when their order is known.
    pub fn parse(xml: &str, at: &str) -> Result<Layout> {
        let doc = roxmltree::Document::parse(xml)
            .with_context(|| format!("{at}: the XML trace-header layout does not parse"))?;
        let root = doc.root_element();
        if root.tag_name().name() != "segy-layout" {
            bail!(
                "{at}: the XML trace-header layout's root element is <{}>, not <segy-layout>",
                root.tag_name().name()
            );
        }
        let mut layout = Layout::default();
        layout.read_entries(root, 0, at)?;
        for r in REQUIRED {
            let Some(e) = layout.entries.iter().find(|e| e.name == r) else {
                bail!("{at}: the XML trace-header layout has no entry for '{r}' (segy-layout needs iline, xline and offset)");
            };
            if !e.field.kind.is_integer() {
                bail!(
                    "{at}: the XML trace-header layout gives '{r}' type {:?}; an axis needs an integer type",
                    e.field.kind
                );
            }
        }
        Ok(layout)
    }

    fn read_entries(&mut self, node: roxmltree::Node, header: usize, at: &str) -> Result<()> {
        for child in node.children().filter(|n| n.is_element()) {
            match child.tag_name().name() {
                "desc" => {}
                "entry" => {
                    let mut name = None;
                    let mut byte = None;
                    let mut ty = None;
                    let mut if_non_zero = false;
                    for a in child.attributes() {
                        match a.name() {
                            "name" => name = Some(a.value().to_string()),
                            "byte" => byte = Some(a.value()),
                            "type" => ty = Some(a.value()),
                            "if-non-zero" => if_non_zero = a.value() != "0",
                            other => bail!(
                                "{at}: XML layout line {}: <entry> has an unknown attribute '{other}' (expected name, byte, type, if-non-zero)",
                                doc_line(&child)
                            ),
                        }
                    }
                    let line = doc_line(&child);
                    let (Some(name), Some(byte), Some(ty)) = (name, byte, ty) else {
                        bail!("{at}: XML layout line {line}: <entry> needs name, byte and type");
                    };
                    let kind = Kind::from_name(ty).ok_or_else(|| {
                        anyhow!("{at}: XML layout line {line}: '{name}' has unknown type '{ty}'")
                    })?;
                    let byte: usize = byte.parse().map_err(|_| {
                        anyhow!(
                            "{at}: XML layout line {line}: '{name}' byte '{byte}' is not a number"
                        )
                    })?;
                    if byte == 0 || byte + kind.size() - 1 > 240 {
                        bail!(
                            "{at}: XML layout line {line}: '{name}' at byte {byte} ({ty}) does not fit a 240-byte trace header"
                        );
                    }
                    self.entries.push(Entry {
                        name,
                        field: Field { header, byte, kind },
                        if_non_zero,
                    });
                }
                "extension" if header == 0 => {
                    let name = child.attribute("name").ok_or_else(|| {
                        anyhow!(
                            "{at}: XML layout line {}: <extension> needs a name",
                            doc_line(&child)
                        )
                    })?;
                    self.extensions.push(name.trim().to_string());
                    // provisional header number: the declaration order; set
                    // from the file's header names by `bind`
                    let index = self.extensions.len();
                    self.read_entries(child, index, at)?;
                }
                other => bail!(
                    "{at}: XML layout line {}: unexpected element <{other}>",
                    doc_line(&child)
                ),
            }
        }
        Ok(())
    }

    /// Place the declared extensions on the file's additional headers,
    /// whose raw names (bytes 233-240) are `raw`, in file order. Names are
    /// EBCDIC; the first additional header is trace header extension 1
    /// (SEG00001) by definition, so its name may also be ASCII or absent.
    /// Any other header the layout doesn't declare is an error, as segyio
    /// has it; a declared extension the file lacks is simply absent.
    pub fn bind(&mut self, raw: &[[u8; 8]], at: &str) -> Result<()> {
        let clean = |s: String| s.trim_matches(|c: char| c == ' ' || c == '\0').to_string();
        let mut names = Vec::new();
        for (k, r) in raw.iter().enumerate() {
            let ebcdic = clean(super::text::ebcdic_to_ascii(r));
            let ascii = clean(r.iter().map(|&b| b as char).collect());
            let declared = |n: &str| self.extensions.iter().any(|e| e == n);
            let name = if declared(&ebcdic) {
                ebcdic
            } else if k == 0 && declared(&ascii) {
                ascii
            } else if k == 0 {
                "SEG00001".to_string()
            } else if declared(&ascii) {
                bail!(
                    "{at}: additional trace header {} is named '{ascii}' in ASCII, but header names after the first are EBCDIC: the file is not valid rev 2.1",
                    k + 1
                );
            } else {
                bail!(
                    "{at}: additional trace header {} is named '{ebcdic}', which the XML layout does not declare (declared: {})",
                    k + 1,
                    self.extensions.join(", ")
                );
            };
            names.push(name);
        }
        let place: Vec<Option<usize>> = self
            .extensions
            .iter()
            .map(|e| names.iter().position(|n| n == e).map(|p| p + 1))
            .collect();
        self.entries.retain_mut(|e| {
            if e.field.header == 0 {
                return true;
            }
            match place[e.field.header - 1] {
                Some(h) => {
                    e.field.header = h;
                    true
                }
                None => false,
            }
        });
        Ok(())
    }

    /// The standard-header field called `name`, and the extension fields
    /// that replace it when non-zero (rev 2.1 `if-non-zero`).
    pub fn lookup(&self, name: &str) -> Option<(Field, Vec<Field>)> {
        let std = self
            .entries
            .iter()
            .find(|e| e.name == name && e.field.header == 0)?;
        let over = self
            .entries
            .iter()
            .filter(|e| e.name == name && e.field.header > 0 && e.if_non_zero)
            .map(|e| e.field)
            .collect();
        Some((std.field, over))
    }
}

fn doc_line(n: &roxmltree::Node) -> u32 {
    n.document().text_pos_at(n.range().start).row
}

/// The XML of a `((SEG:Layout...))` stanza in the extended textual headers
/// (3200-byte records; a stanza runs until the next record that opens one).
pub fn find_stanza(ext: &[u8]) -> Option<String> {
    let records: Vec<String> = ext
        .chunks(3200)
        .map(|r| {
            // the stanza header and XML are ASCII; an EBCDIC record decodes
            if r.starts_with(b"((") || r.iter().all(|&b| b == 0 || b.is_ascii()) {
                r.iter()
                    .map(|&b| if b == 0 { ' ' } else { b as char })
                    .collect()
            } else {
                super::text::decode_text(r)
            }
        })
        .collect();
    let opens = |r: &str| r.trim_start().starts_with("((");
    let start = records.iter().position(|r| {
        let head: String = r.chars().take(64).filter(|c| !c.is_whitespace()).collect();
        head.to_ascii_lowercase().starts_with("((seg:layout")
    })?;
    let mut xml = String::new();
    for (k, r) in records[start..].iter().enumerate() {
        if k > 0 && opens(r) {
            break;
        }
        xml.push_str(r);
    }
    let body = &xml[xml.find("))")? + 2..];
    Some(body.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const XML: &str = r#"<?xml version="1.0"?>
<segy-layout name="t"><desc>x</desc>
<entry name="iline" byte="1" type="int4"/>
<entry name="xline" byte="5" type="uint2"/>
<entry name="offset" byte="9" type="int4"/>
<entry name="cdp_x" byte="181" type="coor4"/>
<extension name="SEG00001"><entry name="cdp_x" byte="161" type="ieee64" if-non-zero="1"/></extension>
<extension name="PRIVATE1"><entry name="p" byte="1" type="int2"/></extension>
</segy-layout>"#;

    #[test]
    fn entries_and_extensions_by_name() {
        let mut l = Layout::parse(XML, "t").unwrap();
        assert_eq!(
            l.lookup("xline").unwrap().0,
            Field {
                header: 0,
                byte: 5,
                kind: Kind::U2
            }
        );
        // the file holds PRIVATE1 first (EBCDIC), then SEG00001
        let private1 = [0xD7, 0xD9, 0xC9, 0xE5, 0xC1, 0xE3, 0xC5, 0xF1];
        let seg1 = [0xE2, 0xC5, 0xC7, 0xF0, 0xF0, 0xF0, 0xF0, 0xF1];
        l.bind(&[private1, seg1], "t").unwrap();
        let (std, over) = l.lookup("cdp_x").unwrap();
        assert_eq!((std.header, std.byte), (0, 181));
        assert_eq!(
            (over[0].header, over[0].byte, over[0].kind),
            (2, 161, Kind::F64)
        );
    }

    #[test]
    fn bad_layouts_are_refused_with_the_reason() {
        let cases = [
            (XML.replace("byte=\"9\"", "byte=\"239\""), "does not fit"),
            (
                XML.replace("type=\"uint2\"", "type=\"float9\""),
                "unknown type",
            ),
            (XML.replace("segy-layout", "layout"), "root element"),
            (
                XML.replace(" byte=\"5\"", " bite=\"5\""),
                "unknown attribute 'bite'",
            ),
            (
                XML.replace("<entry name=\"offset\" byte=\"9\" type=\"int4\"/>", ""),
                "'offset'",
            ),
            (XML.replace("</segy-layout>", ""), "does not parse"),
        ];
        for (xml, needle) in cases {
            let e = Layout::parse(&xml, "t").unwrap_err().to_string();
            assert!(e.contains(needle), "{needle}: {e}");
        }
        let mut l = Layout::parse(XML, "t").unwrap();
        let e = l
            .bind(&[[0; 8], *b"PRIVATE9"], "t")
            .unwrap_err()
            .to_string();
        assert!(e.contains("additional trace header 2"), "{e}");
    }

    #[test]
    fn scale6_and_float_fields_decode() {
        let f = |kind| Field {
            header: 0,
            byte: 1,
            kind,
        };
        // 1234 × 10^-2
        assert_eq!(f(Kind::Scale6).decode(&[0, 0, 4, 210, 255, 254]), 12.34);
        assert_eq!(f(Kind::F32).decode(&1.5f32.to_be_bytes()), 1.5);
        assert_eq!(f(Kind::U2).decode(&[0xFF, 0xFF]), 65535.0);
        assert_eq!(f(Kind::I2).decode(&[0xFF, 0xFF]), -1.0);
    }
}
