//! `cargo bench --bench soak`: 1,000 updates (full, delta, rename, rollback)
//! pushed through a relay that flips bits, drops reads, cuts the link and
//! kills the agent at random points. After each, the device must hold
//! exactly the old or the new tree, and ota must have ended with success or
//! a clean error. Prints the counts; `anything else` must be zero.
//!
//! `cargo bench --bench soak -- N SEED` runs N updates from SEED.

#[path = "../tests/util/mod.rs"]
mod util;

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .filter_map(|a| a.parse().ok())
        .collect();
    let updates = args.first().copied().unwrap_or(1000) as u32;
    let seed = args.get(1).copied().unwrap_or(0x50A4_1000);
    let work = tempfile::Builder::new()
        .prefix("ota-soak-")
        .tempdir()
        .expect("a work folder");
    let started = std::time::Instant::now();
    let counts = util::soak::soak(work.path(), updates, seed, |n, c| {
        if n % 50 == 0 {
            eprintln!("{n}/{updates}: {c}");
        }
    });
    println!(
        "soak: {counts} ({:.0} s, seed {seed:#x})",
        started.elapsed().as_secs_f64()
    );
    if counts.anything_else > 0 {
        std::process::exit(1);
    }
}
