//! Stock MicroPython boards: ota enters the raw REPL, sends the MicroPython
//! agent (firmware-agent/micropython), and then speaks its own protocol with
//! it over the REPL's stdin and stdout, so the client and the push engine
//! are the same as for the Pico agent.

pub mod facts;
pub mod listen;
pub mod repl;
pub mod script;
pub mod transport;

pub use transport::MicroPython;

/// Interrupts whatever MicroPython runs on the board at `port` and calls
/// `machine.bootloader()`, which enters the boot ROM's USB bootloader.
pub fn enter_bootloader(port: &str) -> anyhow::Result<()> {
    use crate::device::link::transport::{Serial, Transport};
    let mut link = Serial::open(port, None)?;
    let lines: &[&[u8]] = &[b"\r\x03\x03", b"import machine; machine.bootloader()\r\n"];
    for l in lines {
        link.send(l)
            .map_err(|e| crate::device::error::link(format!("{port}: {e}")))?;
    }
    Ok(())
}
