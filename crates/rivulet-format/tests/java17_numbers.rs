//! Floats and doubles are spelled exactly as Java 17's `Float.toString` / `Double.toString`
//! (what Debezium 3.6.3 writes on Java 17). `data/java17_numbers.txt` was produced by a Java 17
//! runtime: one `d <hex bits> <text>` or `f <hex bits> <text>` line per value (edge values,
//! every power of two, powers of ten, and random bit patterns and decimals).

use rivulet_format::java::{double_to_string, float_to_string};

#[test]
fn every_value_is_spelled_as_java_17_spells_it() {
    // JAVA17_VECTORS=FILE checks a bigger set made the same way (a Java 17 program printing
    // `Double.toString`/`Float.toString` of random bit patterns).
    let path = std::env::var("JAVA17_VECTORS")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/java17_numbers.txt").into());
    let text = std::fs::read_to_string(&path).expect("the Java 17 vectors");
    let (mut checked, mut wrong) = (0, Vec::new());
    for line in text.lines() {
        let mut parts = line.splitn(3, ' ');
        let (Some(kind), Some(bits), Some(java)) = (parts.next(), parts.next(), parts.next()) else {
            panic!("malformed line {line:?}");
        };
        let ours = match kind {
            "d" => double_to_string(f64::from_bits(u64::from_str_radix(bits, 16).expect("hex"))),
            "f" => float_to_string(f32::from_bits(u32::from_str_radix(bits, 16).expect("hex"))),
            other => panic!("unknown kind {other}"),
        };
        checked += 1;
        if ours != java {
            wrong.push(format!("{kind} {bits}: Java {java}, Rivulet {ours}"));
        }
    }
    assert!(
        checked > 4000 || std::env::var_os("JAVA17_VECTORS").is_some(),
        "only {checked} vectors"
    );
    assert!(
        wrong.is_empty(),
        "{} of {checked} differ:\n{}",
        wrong.len(),
        wrong[..wrong.len().min(30)].join("\n")
    );
}
