//! A tiny seeded PRNG (SplitMix64): the workload and the fault schedule must come out the same
//! for the same `--seed`, and a few lines beat a dependency for that.

/// SplitMix64 (Steele, Lea, Flood 2014): good enough statistics for test schedules, and one
/// `u64` of state so every session and trial can derive its own stream from the seed.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// An independent stream for a sub-task (a session, a trial), so adding draws in one
    /// place does not shift the draws of another.
    /// The salt is hashed first: with a plain `state ^ salt * γ`, nearby salts gave streams
    /// that were the same stream a few steps apart (XOR of nearby multiples of γ acts like
    /// adding a multiple of γ, SplitMix's own increment).
    pub fn fork(&self, salt: u64) -> Rng {
        let mut r = Rng(self.0 ^ Rng(salt).next_u64());
        r.next_u64();
        r
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `lo..hi` (`lo` when the range is empty).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            lo
        } else {
            lo + self.next_u64() % (hi - lo)
        }
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.range(0, items.len() as u64) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_forks_differ() {
        let a: Vec<u64> = (0..5)
            .map({
                let mut r = Rng::new(7);
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..5)
            .map({
                let mut r = Rng::new(7);
                move |_| r.next_u64()
            })
            .collect();
        assert_eq!(a, b);
        assert_ne!(Rng::new(7).fork(1).next_u64(), Rng::new(7).fork(2).next_u64());
        // Forks are not shifted copies of each other.
        let first: Vec<u64> = (0..50)
            .map({
                let mut r = Rng::new(7).fork(100);
                move |_| r.next_u64()
            })
            .collect();
        let mut other = Rng::new(7).fork(102);
        assert!((0..50).all(|_| !first.contains(&other.next_u64())));
        let mut r = Rng::new(1);
        assert!((0..1000).all(|_| (3..9).contains(&r.range(3, 9))));
    }
}
