//! Stock MicroPython boards: ota enters the raw REPL, sends the MicroPython
//! agent (firmware-agent/micropython), and then speaks its own protocol with
//! it over the REPL's stdin and stdout, so the client and the push engine
//! are the same as for the Pico agent.

pub mod repl;
pub mod script;
pub mod transport;

pub use transport::MicroPython;
