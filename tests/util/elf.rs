//! A minimal ELF32 (ARM, little endian) for tests: a header and PT_LOAD
//! segments, no sections. Enough for ota to read an application's image.

/// An application "linked for the slot": a vector table at 0x10040000, then `body`.
pub fn application(body: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0u8; 192];
    bytes[..4].copy_from_slice(&0x2004_2000u32.to_le_bytes());
    bytes[4..8].copy_from_slice(&0x1004_00C1u32.to_le_bytes());
    bytes.extend_from_slice(body);
    with_segments(&[(0x1004_0000, &bytes)])
}

/// An application linked where the agent sits (0x10000100), not for the slot.
pub fn linked_for_the_agent() -> Vec<u8> {
    let mut vectors = vec![0u8; 192];
    vectors[..4].copy_from_slice(&0x2004_2000u32.to_le_bytes());
    vectors[4..8].copy_from_slice(&0x1000_01C1u32.to_le_bytes());
    with_segments(&[(0x1000_0100, &vectors)])
}

/// An ELF whose PT_LOAD segments load `bytes` at each physical address.
pub fn with_segments(segs: &[(u32, &[u8])]) -> Vec<u8> {
    const EHDR: usize = 52;
    const PHDR: usize = 32;
    let mut out = vec![0u8; EHDR + segs.len() * PHDR];
    let put16 =
        |b: &mut Vec<u8>, at: usize, v: u16| b[at..at + 2].copy_from_slice(&v.to_le_bytes());
    let put32 =
        |b: &mut Vec<u8>, at: usize, v: u32| b[at..at + 4].copy_from_slice(&v.to_le_bytes());
    for (i, (addr, bytes)) in segs.iter().enumerate() {
        let offset = out.len() as u32;
        out.extend_from_slice(bytes);
        let ph = EHDR + i * PHDR;
        put32(&mut out, ph, 1); // PT_LOAD
        put32(&mut out, ph + 4, offset);
        put32(&mut out, ph + 8, *addr);
        put32(&mut out, ph + 12, *addr);
        put32(&mut out, ph + 16, bytes.len() as u32);
        put32(&mut out, ph + 20, bytes.len() as u32);
        put32(&mut out, ph + 24, 5);
        put32(&mut out, ph + 28, 4);
    }
    out[..4].copy_from_slice(b"\x7fELF");
    out[4] = 1; // ELFCLASS32
    out[5] = 1; // ELFDATA2LSB
    out[6] = 1; // EV_CURRENT
    put16(&mut out, 16, 2); // ET_EXEC
    put16(&mut out, 18, 40); // EM_ARM
    put32(&mut out, 20, 1);
    put32(&mut out, 24, 0x1004_00C1);
    put32(&mut out, 28, EHDR as u32);
    put16(&mut out, 40, EHDR as u16);
    put16(&mut out, 42, PHDR as u16);
    put16(&mut out, 44, segs.len() as u16);
    put16(&mut out, 46, 40);
    out
}
