//! Bytes as USB sees them: the serial number string and full-speed bulk
//! packets.
//!
//! Plain `core` code with no hardware in it, so that its tests run on the
//! host: `rustc --edition 2021 --test src/packets.rs -o /tmp/packets && /tmp/packets`.

/// Full-speed bulk packet size.
pub const PACKET: usize = 64;

/// The USB serial number: the flash chip's 64-bit unique id as 16 lowercase
/// hex digits, most significant byte (the first the chip sends) first.
pub fn serial_number<'a>(uid: &[u8; 8], buf: &'a mut [u8; 16]) -> &'a str {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in uid.iter().enumerate() {
        buf[2 * i] = HEX[(b >> 4) as usize];
        buf[2 * i + 1] = HEX[(b & 0xF) as usize];
    }
    // Hex digits are ASCII: this never falls back.
    core::str::from_utf8(buf).unwrap_or("0000000000000000")
}

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

    #[test]
    fn serial_number_is_lowercase_hex_of_the_unique_id() {
        let mut buf = [0u8; 16];
        let uid = [0xE6, 0x61, 0x38, 0x52, 0x83, 0x1F, 0x2A, 0x09];
        assert_eq!(serial_number(&uid, &mut buf), "e6613852831f2a09");
        assert_eq!(serial_number(&[0; 8], &mut buf), "0000000000000000");
    }
}
