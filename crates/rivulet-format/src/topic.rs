//! Topic names, sanitised the way Debezium's topic naming strategy does it.
//!
//! Debezium builds `<topic.prefix>.<schema>.<table>` (and `<topic.prefix>.message` for logical
//! decoding messages) and replaces every character outside `[A-Za-z0-9._-]` with `_`. It walks
//! the Java string, i.e. UTF-16 code units, so a character outside the Basic Multilingual Plane
//! (an emoji) becomes two underscores.

/// `<prefix>.<parts...>` with Debezium's replacement of invalid characters.
pub fn topic_name(prefix: &str, parts: &[&str]) -> String {
    let mut out = String::with_capacity(prefix.len() + parts.iter().map(|p| p.len() + 1).sum::<usize>());
    push_sanitized(&mut out, prefix);
    for part in parts {
        out.push('.');
        push_sanitized(&mut out, part);
    }
    out
}

fn push_sanitized(out: &mut String, s: &str) {
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
            out.push(c);
        } else {
            for _ in 0..c.len_utf16() {
                out.push('_');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitises_like_debezium() {
        assert_eq!(topic_name("dbz", &["shop", "orders"]), "dbz.shop.orders");
        assert_eq!(
            topic_name("dbz", &["public", "Shop Mixed"]),
            "dbz.public.Shop_Mixed"
        );
        assert_eq!(topic_name("dbz", &["s", "a-b_c.d"]), "dbz.s.a-b_c.d");
        assert_eq!(topic_name("dbz", &["s", "ünï$"]), "dbz.s._n__");
        assert_eq!(topic_name("dbz", &["s", "x😀"]), "dbz.s.x__");
        assert_eq!(topic_name("my prefix", &["message"]), "my_prefix.message");
    }
}
