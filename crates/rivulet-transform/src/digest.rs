//! `column.mask.hash.*`: the hash Debezium's `MaskStrings` computes, byte for byte.
//!
//! ```text
//!  hex( MessageDigest(algorithm).digest( salt bytes ‖ value bytes ) )   then cut to the column length
//!    v1 (column.mask.hash.…):    value bytes = Java serialization of the String:
//!                                AC ED 00 05, 74 + u16 length (≤ 65535) or 7C + u64 length,
//!                                then the string in Java's modified UTF-8
//!    v2 (column.mask.hash.v2.…): value bytes = the string's bytes in the JVM's default charset
//!                                (UTF-8 here; it is what a JVM with a UTF-8 locale uses)
//! ```

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512, Sha512_224, Sha512_256};

/// A Java `MessageDigest` algorithm Rivulet implements.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Algorithm {
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
    Sha512_224,
    Sha512_256,
}

impl Algorithm {
    /// Java's standard names and the aliases its SUN provider accepts, case-insensitively.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name.to_ascii_uppercase().as_str() {
            "MD5" => Algorithm::Md5,
            "SHA-1" | "SHA" | "SHA1" => Algorithm::Sha1,
            "SHA-224" | "SHA224" => Algorithm::Sha224,
            "SHA-256" | "SHA256" => Algorithm::Sha256,
            "SHA-384" | "SHA384" => Algorithm::Sha384,
            "SHA-512" | "SHA512" => Algorithm::Sha512,
            "SHA-512/224" | "SHA512/224" => Algorithm::Sha512_224,
            "SHA-512/256" | "SHA512/256" => Algorithm::Sha512_256,
            _ => return None,
        })
    }

    fn digest(self, parts: &[&[u8]]) -> Vec<u8> {
        fn run<D: Digest>(parts: &[&[u8]]) -> Vec<u8> {
            let mut d = D::new();
            for part in parts {
                d.update(part);
            }
            d.finalize().to_vec()
        }
        match self {
            Algorithm::Md5 => run::<Md5>(parts),
            Algorithm::Sha1 => run::<Sha1>(parts),
            Algorithm::Sha224 => run::<Sha224>(parts),
            Algorithm::Sha256 => run::<Sha256>(parts),
            Algorithm::Sha384 => run::<Sha384>(parts),
            Algorithm::Sha512 => run::<Sha512>(parts),
            Algorithm::Sha512_224 => run::<Sha512_224>(parts),
            Algorithm::Sha512_256 => run::<Sha512_256>(parts),
        }
    }
}

/// One hashing rule: algorithm, salt and byte strategy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Hasher {
    pub algorithm: Algorithm,
    pub salt: Vec<u8>,
    pub v2: bool,
}

impl Hasher {
    /// The lower-case hex digest of `value`, as `MaskStrings.HashValueConverter` returns it.
    pub fn hex(&self, value: &str) -> String {
        let bytes = if self.v2 {
            value.as_bytes().to_vec()
        } else {
            java_serialized_string(value)
        };
        let digest = self.algorithm.digest(&[&self.salt, &bytes]);
        let mut hex = String::with_capacity(digest.len() * 2);
        for b in digest {
            hex.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
            hex.push(char::from(b"0123456789abcdef"[usize::from(b & 0x0f)]));
        }
        hex
    }
}

/// `ObjectOutputStream.writeObject(String)`: stream header, then TC_STRING with a 16-bit length
/// or TC_LONGSTRING with a 64-bit length, then modified UTF-8.
fn java_serialized_string(value: &str) -> Vec<u8> {
    let utf = modified_utf8(value);
    let mut out = Vec::with_capacity(utf.len() + 13);
    out.extend_from_slice(&[0xAC, 0xED, 0x00, 0x05]);
    match u16::try_from(utf.len()) {
        Ok(len) => {
            out.push(0x74);
            out.extend_from_slice(&len.to_be_bytes());
        }
        Err(_) => {
            out.push(0x7C);
            out.extend_from_slice(&(utf.len() as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&utf);
    out
}

/// Java's modified UTF-8 (`DataOutput.writeUTF`): each UTF-16 unit on its own, U+0000 as two
/// bytes, so characters outside the BMP take six bytes (two encoded surrogates).
fn modified_utf8(value: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    for unit in value.encode_utf16() {
        match unit {
            0x0001..=0x007F => out.push(unit as u8),
            0x0000 | 0x0080..=0x07FF => {
                out.push(0xC0 | (unit >> 6) as u8);
                out.push(0x80 | (unit & 0x3F) as u8);
            }
            _ => {
                out.push(0xE0 | (unit >> 12) as u8);
                out.push(0x80 | ((unit >> 6) & 0x3F) as u8);
                out.push(0x80 | (unit & 0x3F) as u8);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher(algorithm: &str, salt: &str, v2: bool) -> Hasher {
        Hasher {
            algorithm: Algorithm::parse(algorithm).unwrap(),
            salt: salt.as_bytes().to_vec(),
            v2,
        }
    }

    #[test]
    fn matches_debezium_3_6_output() {
        // From tests/oracle/column_rules.debezium.jsonl.
        let sha = hasher("SHA-256", "CzQMA0cB5K", false);
        assert_eq!(
            sha.hex("key-one"),
            "7f28f7fc7bb62cf68a506619cfedb1d7d3ed88c5930aafba59bc74704511268a"
        );
        assert_eq!(
            sha.hex("héllo wörld 😀 text"),
            "66660300928e3aa14f36e6aa43bace84f68823e67e3e9d5798c967e959df6b23"
        );
        assert_eq!(
            sha.hex(""),
            "7b061bc77caec9afdc6b986ab6c4de894d58006b32ac0f7ea728404a5cf3a9e5"
        );
        assert_eq!(
            hasher("md5", "pepper", false).hex("key-one"),
            "e46f2e1dbcd799eb79d3486240493ab6"
        );
    }

    #[test]
    fn v2_hashes_the_plain_bytes() {
        assert_eq!(
            hasher("SHA-256", "CzQMA0cB5K", true).hex("key-one"),
            "e8e143f6923e0bf57cf250c1d2d38f2e2273fea4b2bf72676afa7cb6a441bedb"
        );
    }

    #[test]
    fn long_strings_use_the_long_form() {
        let long = "x".repeat(70_000);
        let bytes = java_serialized_string(&long);
        assert_eq!(bytes[4], 0x7C);
        assert_eq!(&bytes[5..13], &70_000u64.to_be_bytes());
        assert_eq!(modified_utf8("\0"), vec![0xC0, 0x80]);
        assert!(Algorithm::parse("SHA3-256").is_none());
    }
}
