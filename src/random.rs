//! Random identifiers: an update session's id, a simulated board's unique id.
//! From the operating system; never secret, only unlikely to repeat.

/// `N` random bytes (the clock and the process id, if the OS has no randomness to give).
pub fn bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    if getrandom::getrandom(&mut out).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos() as u64;
        let seed = (t ^ ((std::process::id() as u64) << 32)).to_le_bytes();
        for (i, b) in out.iter_mut().enumerate() {
            *b = seed[i % 8].rotate_left(i as u32);
        }
    }
    out
}
