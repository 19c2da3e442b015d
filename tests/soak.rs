//! The soak, short: 50 updates through a faulty relay, each ending with the
//! device on exactly the old or the new tree, and ota with success or a
//! clean error. `cargo bench --bench soak` runs 1,000.

mod util;

#[test]
fn fifty_updates_through_faults_end_in_the_old_tree_or_the_new() {
    let work = util::tempdir();
    let counts = util::soak::soak(work.path(), 50, 0x50A4, |_, _| {});
    println!("soak: {counts}");
    assert_eq!(counts.pushes, 50);
    assert!(counts.faults_injected > 20, "{counts}");
    assert!(
        counts.successes > 0 && counts.clean_failures > 0,
        "{counts}"
    );
    assert_eq!(counts.anything_else, 0, "{counts}");
}
