//! The program ota runs on a MicroPython board each session: ota_boot.py
//! (the journal and the switch) and ota_agent.py (the protocol) in one
//! namespace, with ota_boot.py's own bytes to install as `/lib/ota_boot.py`.

const BOOT: &str = include_str!("../../../firmware-agent/micropython/ota_boot.py");
const AGENT: &str = include_str!("../../../firmware-agent/micropython/ota_agent.py");

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
    s.push_str("main(b\"");
    for &b in BOOT.as_bytes() {
        match b {
            b'\\' | b'"' => s.push_str(&format!("\\x{b:02x}")),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s.push_str("\")\n");
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
