//! The program ota runs on a MicroPython board each session: ota_boot.py
//! (the journal and the switch) and ota_agent.py (the protocol) in one
//! namespace, with ota_boot.py's own bytes to install as `/lib/ota_boot.py`.
//! The board keeps it as `/.ota/agent.py`; ota sends it again only when the
//! copy there does not have the SHA-256 of this one.

const BOOT: &str = include_str!("../../../firmware-agent/micropython/ota_boot.py");
const AGENT: &str = include_str!("../../../firmware-agent/micropython/ota_agent.py");

/// What `ota_boot.confirm()` prints when an application confirms its trial
/// tree: after a reboot ota takes the REPL as soon as it sees it.
pub const CONFIRMED: &[u8] = b"ota_boot: confirmed";

/// The bytes of `/lib/ota_boot.py` as the agent installs it.
pub fn boot_module() -> &'static [u8] {
    BOOT.as_bytes()
}

/// The script sent through the raw REPL.
pub fn agent_script() -> Vec<u8> {
    let mut s = String::with_capacity(BOOT.len() * 2 + AGENT.len() + 64);
    s.push_str(BOOT);
    s.push('\n');
    for line in AGENT.lines() {
        if line.trim() == "import ota_boot" {
            continue;
        }
        s.push_str(&line.replace("ota_boot.", ""));
        s.push('\n');
    }
    s.push_str("main(");
    s.push_str(&bytes_literal(BOOT.as_bytes()));
    s.push_str(")\n");
    s.into_bytes()
}

/// `bytes` as a MicroPython bytes literal.
fn bytes_literal(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() + bytes.len() / 8 + 3);
    s.push_str("b\"");
    for &b in bytes {
        match b {
            b'\\' | b'"' => s.push_str(&format!("\\x{b:02x}")),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s.push('"');
    s
}

/// SHA-256 of the agent script, hex: what `/.ota/agent.py` must hash to.
pub fn agent_sha256() -> String {
    use sha2::Digest;
    crate::bundle::hex(&sha2::Sha256::digest(agent_script()))
}

/// Prints `OTA-HAVE <sha256 of /.ota/agent.py>` (or `none`).
pub const PROBE: &[u8] = b"try:
    import hashlib, binascii
    h = hashlib.sha256()
    with open('/.ota/agent.py', 'rb') as f:
        while True:
            b = f.read(2048)
            if not b:
                break
            h.update(b)
    print('OTA-HAVE', binascii.hexlify(h.digest()).decode())
except Exception:
    print('OTA-HAVE none')
";

/// Runs the kept agent.
pub const RUN_KEPT: &[u8] = b"exec(open('/.ota/agent.py').read())\n";

/// Keeps the agent as `/.ota/agent.py` (written whole, then renamed) and runs it.
pub fn install_and_run() -> Vec<u8> {
    let mut s = String::from("_a = ");
    s.push_str(&bytes_literal(&agent_script()));
    s.push_str(
        "
import os
try:
    os.mkdir('/.ota')
except OSError:
    pass
with open('/.ota/agent.py.tmp', 'wb') as _f:
    _f.write(_a)
os.rename('/.ota/agent.py.tmp', '/.ota/agent.py')
exec(_a)
",
    );
    s.into_bytes()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_script_calls_main_with_the_boot_module() {
        let s = String::from_utf8(super::agent_script()).unwrap();
        let end = s.rfind("main(b\"").unwrap();
        let agent = &s[super::BOOT.len()..end];
        assert!(!agent.contains("ota_boot."), "prefixes left in the agent");
        assert!(s.trim_end().ends_with("\")"));
        assert!(s.contains("def switch(") && s.contains("class Agent"));
    }
}
