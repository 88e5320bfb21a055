//! `bytea` text formats: hex (`\x0aff`, the default since PostgreSQL 9.0) and the legacy escape
//! format (`abc\000\\`), in case a server or role still has `bytea_output = escape`.

pub(super) fn parse_bytea(text: &[u8]) -> Result<Vec<u8>, &'static str> {
    match text.strip_prefix(b"\\x") {
        Some(hex) => parse_hex(hex),
        None => parse_escape(text),
    }
}

fn parse_hex(hex: &[u8]) -> Result<Vec<u8>, &'static str> {
    let mut out = Vec::with_capacity(hex.len() / 2);
    let mut i = 0;
    while i < hex.len() {
        // byteain skips whitespace between digit pairs; bytea_output never writes any.
        if matches!(hex[i], b' ' | b'\t' | b'\n' | b'\r') {
            i += 1;
            continue;
        }
        let hi = hex_digit(hex[i]).ok_or("invalid hexadecimal digit")?;
        let lo = hex.get(i + 1).ok_or("odd number of hexadecimal digits")?;
        let lo = hex_digit(*lo).ok_or("invalid hexadecimal digit")?;
        out.push((hi << 4) | lo);
        i += 2;
    }
    Ok(out)
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn parse_escape(text: &[u8]) -> Result<Vec<u8>, &'static str> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i] != b'\\' {
            out.push(text[i]);
            i += 1;
            continue;
        }
        match text.get(i + 1..i + 4) {
            Some([b'\\', ..]) => {
                out.push(b'\\');
                i += 2;
            }
            Some(&[a @ b'0'..=b'3', b @ b'0'..=b'7', c @ b'0'..=b'7']) => {
                out.push(((a - b'0') << 6) | ((b - b'0') << 3) | (c - b'0'));
                i += 4;
            }
            // A trailing `\\` is shorter than the three-byte window.
            _ if text.get(i + 1) == Some(&b'\\') => {
                out.push(b'\\');
                i += 2;
            }
            _ => return Err("invalid escape: expected \\\\ or \\ooo (octal)"),
        }
    }
    Ok(out)
}
