//! Fixed-size bit sets: which sectors are in use, which entries are needed or done.

#[derive(Clone)]
pub struct Bitmap<const WORDS: usize> {
    words: [u32; WORDS],
}

impl<const WORDS: usize> Bitmap<WORDS> {
    pub const BITS: usize = WORDS * 32;

    pub const fn new() -> Self {
        Bitmap { words: [0; WORDS] }
    }

    pub fn clear(&mut self) {
        self.words = [0; WORDS];
    }

    pub fn get(&self, i: usize) -> bool {
        i < Self::BITS && self.words[i / 32] & (1 << (i % 32)) != 0
    }

    pub fn set(&mut self, i: usize) {
        if i < Self::BITS {
            self.words[i / 32] |= 1 << (i % 32);
        }
    }

    pub fn clear_bit(&mut self, i: usize) {
        if i < Self::BITS {
            self.words[i / 32] &= !(1 << (i % 32));
        }
    }

    pub fn set_range(&mut self, start: usize, len: usize) {
        for i in start..start + len {
            self.set(i);
        }
    }

    pub fn count(&self) -> u32 {
        self.words.iter().map(|w| w.count_ones()).sum()
    }

    /// True when every bit of `self` is also set in `other`.
    pub fn is_subset_of(&self, other: &Self) -> bool {
        self.words
            .iter()
            .zip(&other.words)
            .all(|(a, b)| a & !b == 0)
    }
}

impl<const WORDS: usize> Default for Bitmap<WORDS> {
    fn default() -> Self {
        Self::new()
    }
}
