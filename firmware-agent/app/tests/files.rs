//! The application's reader against store images that the agent core wrote:
//! files in place, version.json, trial state, and confirm through the same
//! journal the agent reads.

#[path = "../../core/tests/common/mod.rs"]
mod common;

use common::{content, push, Tree, CONFIG};
use ota_agent::layout::State;
use ota_agent::ram_flash::RamFlash;
use ota_agent::{Agent, Store};
use ota_app::{confirm, Files, Trial};

const SECTORS: u32 = 64;

fn store_with(trees: &[(&Tree, u8)]) -> RamFlash {
    let flash = RamFlash::new(common::flash_size(SECTORS));
    let mut agent = Agent::new(Store::open(flash, 0, SECTORS).unwrap(), CONFIG);
    for (tree, boots) in trees {
        push(&mut agent, tree, *boots).unwrap();
    }
    agent.into_store().into_flash()
}

fn image(flash: &RamFlash) -> &'static [u8] {
    Box::leak(flash.bytes().to_vec().into_boxed_slice())
}

fn tree(version: &str) -> Tree {
    Tree::new(
        version,
        vec![
            ("blink.txt".into(), b"100,400\n".to_vec()),
            ("assets/font.bin".into(), content(7, 9000)),
            ("empty.txt".into(), Vec::new()),
            (ota_agent::layout::APP_IMAGE.into(), content(3, 5000)),
        ],
    )
}

#[test]
fn files_are_slices_of_the_image_in_place() {
    let flash = store_with(&[(&tree("v1"), 0)]);
    let img = image(&flash);
    let mut files = Files::open(img, SECTORS).unwrap();
    assert_eq!(files.version(), "v1");
    assert_eq!(files.git_ref(), "main");
    assert_eq!(files.len(), 3);
    let font = files.file("assets/font.bin").unwrap();
    assert_eq!(font, &content(7, 9000)[..]);
    // In place: the slice points into the image, at a sector boundary.
    let font_ptr = font.as_ptr();
    let at = font_ptr as usize - img.as_ptr() as usize;
    assert_eq!(at % 4096, 0);
    assert_eq!(files.file("blink.txt").unwrap(), b"100,400\n");
    let asset: &'static [u8] = files.asset("assets/font.bin").unwrap();
    assert_eq!(asset.as_ptr(), font_ptr);
    assert!(files.asset("version.json").is_none());
    assert_eq!(files.file("empty.txt").unwrap(), b"");
    assert!(files.file("missing").is_none());
    assert!(
        files.file(ota_agent::layout::APP_IMAGE).is_none(),
        "the image is no file of the app"
    );
    let mut seen = Vec::new();
    files.for_each(|f| seen.push((f.path.to_string(), f.bytes.len())));
    seen.sort();
    assert_eq!(
        seen,
        [
            ("assets/font.bin".into(), 9000),
            ("blink.txt".into(), 8),
            ("empty.txt".into(), 0)
        ]
    );
}

#[test]
fn version_json_is_served_as_a_file() {
    let flash = store_with(&[(&tree("v1.2.0"), 0)]);
    let mut files = Files::open(image(&flash), SECTORS).unwrap();
    let json = std::str::from_utf8(files.file("version.json").unwrap())
        .unwrap()
        .to_string();
    assert_eq!(
        json,
        r#"{"version":"v1.2.0","ref":"main","commit":"0123456789abcdef0123456789abcdef01234567"}"#
    );
    assert_eq!(files.version_json(), json.as_bytes());
}

#[test]
fn the_tree_carries_the_trial_deadline() {
    let mut t = tree("v1");
    t.trial_timeout_sec = 45;
    let flash = store_with(&[(&t, 3)]);
    let files = Files::open(image(&flash), SECTORS).unwrap();
    assert_eq!(files.trial_timeout_sec(), Some(45));
    // A tree pushed without one (or by an older host) has no deadline.
    let flash = store_with(&[(&tree("v2"), 3)]);
    assert_eq!(
        Files::open(image(&flash), SECTORS)
            .unwrap()
            .trial_timeout_sec(),
        None
    );
}

#[test]
fn an_empty_store_has_no_files() {
    let flash = RamFlash::new(common::flash_size(SECTORS));
    let mut files = Files::open(image(&flash), SECTORS).unwrap();
    assert!(files.is_empty());
    assert_eq!(files.version(), "");
    assert!(files.file("blink.txt").is_none());
    assert_eq!(files.trial(), None);
}

#[test]
fn confirm_ends_the_trial_for_the_agent_too() {
    let v2 = Tree::new("v2", vec![("blink.txt".into(), b"50,50\n".to_vec())]);
    let mut flash = store_with(&[(&tree("v1"), 0), (&v2, 3)]);
    let files = Files::open(image(&flash), SECTORS).unwrap();
    assert_eq!(files.version(), "v2");
    assert_eq!(files.trial(), Some(Trial { boots_left: 3 }));

    confirm(&mut flash, 0, SECTORS).unwrap();
    assert_eq!(Files::open(image(&flash), SECTORS).unwrap().trial(), None);
    let store = Store::open(flash, 0, SECTORS).unwrap();
    assert_eq!(store.state(), State::Confirmed);
    assert_eq!(store.active().unwrap().header.version.as_str(), "v2");
    assert_eq!(store.previous().unwrap().header.version.as_str(), "v1");
}

#[test]
fn every_file_can_be_handed_over_aligned() {
    let flash = store_with(&[(&tree("v1"), 0)]);
    let img = image(&flash);
    assert!(
        (img.as_ptr() as usize).is_multiple_of(16),
        "the heap aligns the test image"
    );
    let mut files = Files::open(img, SECTORS).unwrap();
    // A small file shares its sector but starts on a page; a large one on a sector.
    for path in ["blink.txt", "assets/font.bin"] {
        let at: &[u8] = files.aligned::<ota_app::A4>(path).unwrap();
        assert_eq!(at, files.file(path).unwrap(), "{path}");
        assert!((at.as_ptr() as usize).is_multiple_of(4));
        assert!(files.aligned::<aligned::A16>(path).is_some(), "{path}");
    }
    assert!(files.aligned::<ota_app::A4>("missing").is_none());
}
