//! Bytes as USB sees them: full-speed bulk packets.
//!
//! Plain `core` code with no hardware in it, so that its tests run on the
//! host: `rustc --edition 2021 --test src/packets.rs -o /tmp/packets && /tmp/packets`.

/// Full-speed bulk packet size.
pub const PACKET: usize = 64;

/// `data` as bulk packets, with a zero-length packet after a transfer that
/// fills its last packet, so that the host sees where it ends.
pub fn packets(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let zlp = !data.is_empty() && data.len().is_multiple_of(PACKET);
    data.chunks(PACKET).chain(zlp.then_some(&data[..0]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lens(n: usize) -> Vec<usize> {
        let data = vec![7u8; n];
        packets(&data).map(|p| p.len()).collect()
    }

    #[test]
    fn transfers_end_with_a_short_or_empty_packet() {
        assert_eq!(lens(0), Vec::<usize>::new());
        assert_eq!(lens(1), [1]);
        assert_eq!(lens(63), [63]);
        assert_eq!(lens(64), [64, 0]);
        assert_eq!(lens(65), [64, 1]);
        assert_eq!(lens(128), [64, 64, 0]);
        let data: Vec<u8> = (0..200u8).collect();
        assert_eq!(packets(&data).flatten().copied().collect::<Vec<_>>(), data);
    }
}
