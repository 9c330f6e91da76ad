//! The textual header: EBCDIC or ASCII, as 40 cards of 80 columns.

/// EBCDIC (code page 037) to ASCII for the printable range; the textual
/// header is EBCDIC unless it reads as ASCII.
const EBCDIC: &str = concat!(
    "                                                                ",
    "           .<(+|&         !$*); -/         ,%_>?         `:#@'=\"",
    " abcdefghi       jklmnopqr       ~stuvwxyz   [               ]  ",
    "{ABCDEFGHI      }JKLMNOPQR      \\ STUVWXYZ      0123456789      "
);

/// EBCDIC bytes as ASCII, whatever they look like (header names are EBCDIC).
pub fn ebcdic_to_ascii(raw: &[u8]) -> String {
    raw.iter()
        .map(|&b| EBCDIC.chars().nth(b as usize).unwrap_or(' '))
        .collect()
}

/// The textual header in ASCII, whichever code it was written in.
pub fn decode_text(raw: &[u8]) -> String {
    let table: Vec<char> = EBCDIC.chars().collect();
    let ascii_like = raw
        .iter()
        .filter(|&&b| b == b' ' || b.is_ascii_alphanumeric())
        .count();
    let ebcdic_like = raw
        .iter()
        .filter(|&&b| b == 0x40 || (0xC1..=0xF9).contains(&b))
        .count();
    let text: String = if ascii_like >= ebcdic_like {
        raw.iter()
            .map(|&b| {
                if b == 0 {
                    ' '
                } else if b.is_ascii() && !b.is_ascii_control() || b == b'\n' {
                    b as char
                } else {
                    ' '
                }
            })
            .collect()
    } else {
        raw.iter()
            .map(|&b| table.get(b as usize).copied().unwrap_or(' '))
            .collect()
    };
    // 40 cards of 80 columns, unless the file already has line breaks
    if text.contains('\n') {
        text
    } else {
        text.as_bytes()
            .chunks(80)
            .map(|c| String::from_utf8_lossy(c).trim_end().to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }
}
