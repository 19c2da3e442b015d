//! What each host fuzz target checks, shared with `tests/fuzz_corpus.rs`,
//! which runs every corpus file once under `cargo test`. Whatever the bytes,
//! ota's decoders must never panic, and must keep no more than they allow.

use std::io;
use std::time::Duration;

use ota::device::agent::client::Client;
use ota::device::link::transport::Transport;

/// A device that sends `data` (in pieces of varying size), then nothing.
struct Replay {
    data: Vec<u8>,
    at: usize,
}

impl Transport for Replay {
    fn send(&mut self, _: &[u8]) -> io::Result<()> {
        Ok(())
    }

    fn recv(&mut self, buf: &mut [u8], _: Duration) -> io::Result<usize> {
        let left = self.data.len() - self.at;
        let n = left.min(buf.len()).min(1 + self.at % 97);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }

    fn reconnect(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn name(&self) -> String {
        "fuzz".into()
    }

    fn synchronous(&self) -> bool {
        true
    }
}

/// The host side of the frame decoder: a device's bytes answering Hello
/// and ListFiles. A listing is never longer than the Info allowed.
pub fn frames(data: &[u8]) {
    let t = Replay {
        data: data.to_vec(),
        at: 0,
    };
    let mut c = Client::new(Box::new(t), Duration::from_millis(1));
    let max = c.hello().ok().map(|i| i.max_files as usize);
    if let Ok(files) = c.list(ota_protocol::TreeSel::Active) {
        assert!(files.len() <= max.unwrap_or(ota_agent::layout::MAX_ENTRIES));
    }
}

/// The manifest parser, and what is computed from a manifest it accepts.
pub fn manifest(data: &[u8]) {
    if let Ok(m) = ota::manifest::Manifest::parse("fuzz", data) {
        let _ = ota::signing::tree_digest(&m);
        let _ = m.to_json();
        for f in &m.files {
            assert!(ota_agent::paths::check_path(&f.path).is_ok());
        }
    }
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = ota::signing::tree_signature(&v, &[]);
    }
}

/// The staged-folder reader: `data` as a staged folder's manifest.json,
/// beside two files. Whatever it lists, nothing outside the folder is read.
pub fn staged(data: &[u8]) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let root = dir.path().join("st");
    std::fs::create_dir_all(root.join("lib")).expect("folders");
    std::fs::write(root.join("main.py"), b"print(1)\n").expect("a file");
    std::fs::write(root.join("lib/util.py"), b"x = 1\n").expect("a file");
    std::fs::write(root.join("manifest.json"), data).expect("the manifest");
    std::fs::write(dir.path().join("outside.py"), b"secret").expect("a file");
    if let Ok(b) = ota::source::staged::load(&root, &ota::filter::Filter::default()) {
        for f in b.files() {
            assert!(
                f.location().starts_with(&root),
                "{}",
                f.location().display()
            );
        }
        let _ = ota::source::staged::check_against(&b, data);
    }
}

/// The ELF reader, through what ota makes of an ELF: a slot image (which
/// must then pass the slot's own checks), a firmware UF2 and the sizes.
pub fn elf(data: &[u8]) {
    if let Ok(image) = ota::app_image::from_elf(data) {
        let slot = ota::uf2::SLOT;
        assert!(image.len() as u64 <= u64::from(slot.end - slot.start));
        assert!(ota::app_image::check(image).is_ok());
    }
    let _ = ota::uf2::firmware_uf2(data, None);
    let _ = ota::elf::section_sizes(data);
}
