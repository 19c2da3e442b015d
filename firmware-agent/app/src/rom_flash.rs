//! Writing the flash from the application through the boot ROM's own
//! routines, as the Pico SDK does, with no HAL: one 256-byte page program
//! and one 4 KiB sector erase, each from a routine in RAM with interrupts
//! off. While it runs XIP is off, so nothing it runs or reads may be in
//! flash: the ROM's functions, the data in RAM, and a RAM copy of the
//! agent's boot2, which puts XIP back in its fast mode afterwards.
//!
//! It must never be entered while core 1 or a DMA channel reads the flash:
//! the caller pauses core 1 (embassy-rp's way, see `embassy.rs`); DMA from
//! flash is waited for here.

use core::ptr::read_volatile;

use ota_agent::board::XIP_BASE;
use ota_agent::layout::{PAGE, SECTOR};

/// The ROM's flash functions, and boot2's RAM copy, for the RAM routine.
#[repr(C)]
struct Rom {
    connect_internal_flash: unsafe extern "C" fn(),
    flash_exit_xip: unsafe extern "C" fn(),
    flash_range_erase: unsafe extern "C" fn(u32, usize, u32, u8),
    flash_range_program: unsafe extern "C" fn(u32, *const u8, usize),
    flash_flush_cache: unsafe extern "C" fn(),
    enter_xip: unsafe extern "C" fn(),
}

/// A sector erase in the ROM's terms: 64 KiB blocks (0xD8) where a range
/// covers them, which a 4 KiB range never does.
const BLOCK_SIZE: u32 = 1 << 16;
const BLOCK_ERASE: u8 = 0xD8;

/// What to do with XIP off.
#[derive(Clone, Copy)]
pub enum Op<'a> {
    /// Erase the sector at this flash offset.
    Erase(u32),
    /// Program one page at this flash offset (a multiple of 256).
    Program(u32, &'a [u8; PAGE]),
}

/// Runs `op` on the flash. Core 0 only, with core 1 kept off the flash by
/// the caller; returns false (nothing done) on core 1.
pub fn run(op: Op<'_>) -> bool {
    const SIO_CPUID: *const u32 = 0xD000_0000 as *const u32;
    // SAFETY: CPUID is a read-only register of the SIO.
    if unsafe { read_volatile(SIO_CPUID) } != 0 {
        return false;
    }
    let (addr, data) = match op {
        Op::Erase(at) => (at & !(SECTOR - 1), None),
        Op::Program(at, page) => (at & !(PAGE as u32 - 1), Some(page)),
    };
    // boot2 runs from RAM: copied while XIP still works.
    let mut boot2 = [0u32; 64];
    for (i, w) in boot2.iter_mut().enumerate() {
        // SAFETY: the first 256 bytes of flash are the agent's boot2, mapped at XIP_BASE.
        *w = unsafe { read_volatile((XIP_BASE as *const u32).add(i)) };
    }
    // SAFETY: the ROM table holds these functions on every RP2040, and
    // boot2 is a position-independent Thumb routine (its address + 1).
    let rom = unsafe {
        Rom {
            connect_internal_flash: core::mem::transmute::<usize, _>(rom_fn(*b"IF")),
            flash_exit_xip: core::mem::transmute::<usize, _>(rom_fn(*b"EX")),
            flash_range_erase: core::mem::transmute::<usize, _>(rom_fn(*b"RE")),
            flash_range_program: core::mem::transmute::<usize, _>(rom_fn(*b"RP")),
            flash_flush_cache: core::mem::transmute::<usize, _>(rom_fn(*b"FC")),
            enter_xip: core::mem::transmute::<usize, _>(boot2.as_ptr() as usize + 1),
        }
    };
    cortex_m::interrupt::free(|_| {
        wait_for_flash_readers();
        let data = data.map_or(core::ptr::null(), |p| p.as_ptr());
        // SAFETY: interrupts are off, core 1 and DMA are off the flash, and
        // everything the routine touches is in RAM or ROM.
        unsafe { with_xip_off(&rom, addr, data) };
    });
    true
}

/// A function of the ROM's table, looked up as the ROM says: the table's
/// 16-bit pointer at 0x14, the lookup routine's at 0x18.
unsafe fn rom_fn(code: [u8; 2]) -> usize {
    // SAFETY: the ROM's header is always mapped at address 0.
    let (table, lookup) = unsafe {
        (
            read_volatile(0x14 as *const u16) as usize,
            read_volatile(0x18 as *const u16) as usize,
        )
    };
    // SAFETY: the ROM's rom_table_lookup(table, code) is a Thumb routine.
    let lookup: unsafe extern "C" fn(*const u16, u32) -> usize =
        unsafe { core::mem::transmute(lookup) };
    // SAFETY: as above.
    unsafe { lookup(table as *const u16, u16::from_le_bytes(code) as u32) }
}

/// DMA channels reading the flash, and the XIP stream, finish first.
fn wait_for_flash_readers() {
    const DMA: usize = 0x5000_0000;
    const CHANNELS: usize = 12;
    const BUSY: u32 = 1 << 24;
    const XIP_STREAM_CTR: *const u32 = 0x1400_0018 as *const u32;
    for ch in 0..CHANNELS {
        let read_addr = (DMA + ch * 0x40) as *const u32;
        let ctrl = (DMA + ch * 0x40 + 0x0C) as *const u32;
        // SAFETY: reads of DMA status registers.
        while unsafe { read_volatile(read_addr) } < 0x2000_0000
            && unsafe { read_volatile(ctrl) } & BUSY != 0
        {}
    }
    // SAFETY: a read of the XIP controller's stream counter.
    while unsafe { read_volatile(XIP_STREAM_CTR) } > 0 {}
    // No flash read of the caller's may move past this point.
    core::sync::atomic::compiler_fence(core::sync::atomic::Ordering::SeqCst);
}

/// The part that runs with XIP off: in RAM, calling nothing but `rom`.
/// `data` null: erase the sector at `addr`; else program the page there.
#[inline(never)]
#[link_section = ".data.ota_app.with_xip_off"]
unsafe extern "C" fn with_xip_off(rom: &Rom, addr: u32, data: *const u8) {
    // SAFETY: the caller's contract (see `run`).
    unsafe {
        (rom.connect_internal_flash)();
        (rom.flash_exit_xip)();
        if data.is_null() {
            (rom.flash_range_erase)(addr, SECTOR as usize, BLOCK_SIZE, BLOCK_ERASE);
        } else {
            (rom.flash_range_program)(addr, data, PAGE);
        }
        (rom.flash_flush_cache)();
        (rom.enter_xip)();
    }
}
