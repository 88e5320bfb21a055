//! Java's `HashMap` iteration order of string keys, where Debezium's output shows it: hstore
//! values (both `hstore.handling.mode`s) and the per-table counts of a transaction's END record.
//!
//! A `java.util.HashMap` with default settings iterates its buckets in index order; a key's
//! bucket is `(h ^ (h >>> 16)) & (capacity - 1)` where `h` is `String.hashCode()` (over UTF-16
//! units), and keys sharing a bucket come in insertion order (resizing splits buckets without
//! reordering them). The capacity starts at 16 and doubles whenever the size exceeds 3/4 of it.
//! (Buckets of 8 or more colliding keys turn into trees with another order; with hstore keys that
//! takes deliberately crafted keys and is not reproduced.)

/// `String.hashCode()`.
pub fn string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, unit| h.wrapping_mul(31).wrapping_add(i32::from(unit)))
}

/// The order in which a `HashMap` filled with `keys` (distinct, in this order) iterates them:
/// indexes into `keys`.
pub fn hash_map_order<S: AsRef<str>>(keys: &[S]) -> Vec<usize> {
    let mut capacity: usize = 16;
    while keys.len() > capacity / 4 * 3 {
        capacity *= 2;
    }
    let bucket = |key: &str| {
        let h = string_hash(key) as u32;
        (h ^ (h >> 16)) as usize & (capacity - 1)
    };
    let mut order: Vec<(usize, usize)> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (bucket(k.as_ref()), i))
        .collect();
    // Stable by construction: ties keep insertion order through the index.
    order.sort_unstable();
    order.into_iter().map(|(_, i)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_like_java() {
        assert_eq!(string_hash(""), 0);
        assert_eq!(string_hash("a"), 97);
        assert_eq!(string_hash("s.a"), 112_038);
        assert_eq!(string_hash("hello"), 99_162_322);
        // UTF-16 units, wrapping arithmetic.
        assert_eq!(string_hash("😀"), 55_357 * 31 + 56_832);
        assert_eq!(string_hash("polygenelubricants"), i32::MIN);
    }

    #[test]
    fn iteration_orders_seen_in_debezium_output() {
        let order = |keys: &[&str]| -> Vec<String> {
            hash_map_order(keys)
                .into_iter()
                .map(|i| keys[i].to_string())
                .collect()
        };
        assert_eq!(order(&["s.a", "s.b"]), ["s.b", "s.a"]);
        // hstore_json.debezium.jsonl, PostgreSQL's key order in, Debezium's out.
        assert_eq!(order(&["", "1", "2", "10", "100"]), ["", "1", "100", "2", "10"]);
        assert_eq!(
            order(&["zip", "city", "name", "email", "phone", "country"]),
            ["zip", "country", "city", "phone", "name", "email"]
        );
        let many = [
            "Aa",
            "BB",
            "aa",
            "bb",
            "k01",
            "k02",
            "k03",
            "k04",
            "k05",
            "k06",
            "k07",
            "k08",
            "k09",
            "k10",
            "k11",
            "k12",
            "k13",
            "k14",
            "k15",
            "k16",
            "k17",
            "k18",
            "k19",
            "k20",
            "long_key_name_here",
        ];
        assert_eq!(
            order(&many),
            [
                "Aa",
                "BB",
                "bb",
                "k11",
                "k10",
                "k13",
                "k12",
                "k15",
                "k14",
                "k17",
                "k16",
                "k19",
                "k18",
                "aa",
                "k20",
                "k02",
                "k01",
                "k04",
                "k03",
                "long_key_name_here",
                "k06",
                "k05",
                "k08",
                "k07",
                "k09"
            ]
        );
    }
}
