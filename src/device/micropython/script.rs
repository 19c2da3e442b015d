//! The programs ota runs on a MicroPython board. The agent is ota_boot.py
//! (the journal and the switch) and ota_agent.py (the protocol) in one
//! namespace, without their comments; the board keeps it as
//! `/.ota/agent.py`, and its first bytes, ota_boot.py, are the module the
//! agent installs as `/lib/ota_boot.py`. Each session starts with a small
//! loader through the raw REPL: it runs the kept agent when that has the
//! SHA-256 of this one, and otherwise asks for it and takes its bytes as
//! they are (no Python literal to escape them), a window at a time.

use std::sync::OnceLock;

const BOOT: &str = include_str!("../../../firmware-agent/micropython/ota_boot.py");
const AGENT: &str = include_str!("../../../firmware-agent/micropython/ota_agent.py");

/// What `ota_boot.confirm()` prints when an application confirms its trial
/// tree: after a reboot ota takes the REPL as soon as it sees it.
pub const CONFIRMED: &[u8] = b"ota_boot: confirmed";

/// What the loader prints when it needs the agent's bytes.
pub const SEND: &[u8] = b"OTA-SEND\r\n";

/// The loader takes the agent in blocks of this size, and says so (0x01)
/// after each one is written.
pub const BLOCK: usize = 4096;

/// Blocks ota sends ahead of the loader's word that it wrote them, as the
/// protocol's window of data frames does.
pub const WINDOW_BLOCKS: usize = 8;

/// The bytes of `/lib/ota_boot.py` as the agent installs it.
pub fn boot_module() -> &'static [u8] {
    static M: OnceLock<String> = OnceLock::new();
    M.get_or_init(|| minified(BOOT)).as_bytes()
}

/// The agent as the board keeps it.
pub fn agent_script() -> &'static [u8] {
    static S: OnceLock<Vec<u8>> = OnceLock::new();
    S.get_or_init(|| {
        let boot = boot_module();
        let agent: String = AGENT
            .lines()
            .filter(|l| l.trim() != "import ota_boot")
            .map(|l| format!("{}\n", l.replace("ota_boot.", "")))
            .collect();
        let mut s = String::from_utf8(boot.to_vec()).unwrap_or_default();
        s.push_str(&minified(&agent));
        s.push_str(&format!("main({})\n", boot.len()));
        s.into_bytes()
    })
}

/// Python source without its comment lines and blank lines, indented by
/// one space a level instead of four; text inside triple-quoted strings
/// (docstrings, the boot hook's text) stays as it is.
fn minified(src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    let mut in_string = false;
    for line in src.lines() {
        let opens_or_closes = line.matches("\"\"\"").count() % 2 == 1;
        if in_string {
            out.push_str(line);
        } else {
            let code = line.trim_start_matches(' ');
            if code.is_empty() || code.starts_with('#') {
                continue;
            }
            let depth = line.len() - code.len();
            out.push_str(&" ".repeat(depth / 4 + depth % 4));
            out.push_str(code);
        }
        out.push('\n');
        in_string ^= opens_or_closes;
    }
    out
}

/// SHA-256 of the agent, hex: what `/.ota/agent.py` must hash to.
pub fn agent_sha256() -> String {
    use sha2::Digest;
    crate::bundle::hex(&sha2::Sha256::digest(agent_script()))
}

/// The loader, sent through the raw REPL at each session. The kept agent
/// is run when it hashes as this one; otherwise the loader prints
/// [`SEND`], reads the agent's bytes from stdin with the keyboard interrupt
/// off (a binary-clean channel), writes each [`BLOCK`] and says so with
/// 0x01, and keeps the file only when it hashes as it should.
pub fn loader() -> Vec<u8> {
    let program = format!(
        "import sys, os, hashlib, binascii, micropython
def _ota_load(n, want):
    p = '/.ota/agent.py'
    def sha(f):
        h = hashlib.sha256()
        while True:
            b = f.read({BLOCK})
            if not b:
                return binascii.hexlify(h.digest()).decode()
            h.update(b)
    try:
        with open(p, 'rb') as f:
            if sha(f) == want:
                return p
    except OSError:
        pass
    try:
        os.mkdir('/.ota')
    except OSError:
        pass
    micropython.kbd_intr(-1)
    try:
        sys.stdout.write('OTA-SEND\\r\\n')
        h = hashlib.sha256()
        with open(p + '.tmp', 'wb') as f:
            while n:
                k = min(n, {BLOCK})
                n -= k
                while k:
                    b = sys.stdin.buffer.read(k)
                    if not b:
                        raise OSError('the ota agent stopped coming')
                    f.write(b)
                    h.update(b)
                    k -= len(b)
                sys.stdout.write('\\x01')
    finally:
        micropython.kbd_intr(3)
    if binascii.hexlify(h.digest()).decode() != want:
        raise OSError('the ota agent arrived damaged: run ota again')
    os.rename(p + '.tmp', p)
    return p
exec(open(_ota_load({}, '{}')).read())
",
        agent_script().len(),
        agent_sha256()
    );
    minified(&program).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_agent_starts_with_the_boot_module_and_calls_main_with_its_length() {
        let s = String::from_utf8(agent_script().to_vec()).unwrap();
        assert!(s.starts_with(std::str::from_utf8(boot_module()).unwrap()));
        let agent = &s[boot_module().len()..];
        assert!(!agent.contains("ota_boot."), "prefixes left in the agent");
        assert!(s.ends_with(&format!("main({})\n", boot_module().len())));
        assert!(s.contains("def switch(") && s.contains("class Agent"));
    }

    #[test]
    fn minifying_keeps_code_and_the_text_of_strings() {
        let src = "# a comment\nX = \"\"\"one\n# kept: in a string\n\"\"\"\n\ndef f():\n    # gone\n    if X:\n        return 1  # kept\n";
        assert_eq!(
            minified(src),
            "X = \"\"\"one\n# kept: in a string\n\"\"\"\ndef f():\n if X:\n  return 1  # kept\n"
        );
    }

    #[test]
    fn the_boot_hook_text_is_the_one_the_agent_writes() {
        // The hook in /boot.py is compared with the module's HOOK: minifying
        // must not change what it says.
        let m = std::str::from_utf8(boot_module()).unwrap();
        let hook = &BOOT[BOOT.find("HOOK = ").unwrap()..];
        let hook = &hook[..hook.find("\"\"\"\n").unwrap()];
        assert!(m.contains(hook), "{hook}");
    }
}
