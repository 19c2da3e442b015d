//! The demo application that the agent updates: it blinks an LED in the
//! pattern that `blink.txt` of the active tree gives, and on a trial boot it
//! confirms the tree once it has run for [`CONFIRM_AFTER`].
//!
//! It stands for the real application of a product: the one thing it must do
//! for the agent is confirm a trial tree once it knows it works, and keep the
//! watchdog fed until then. It never writes to the USB port (frames only).

use core::cell::RefCell;

use embassy_futures::join::join;
use embassy_rp::gpio::Output;
use embassy_rp::watchdog::Watchdog;
use embassy_time::{Duration, Instant, Timer};
use ota_agent::layout::{State, TreeRef};
use ota_agent::Agent;

use crate::pattern::{Pattern, MAX_TEXT};
use crate::usb::StoreFlash;

/// How long a trial tree must run before the application confirms it.
pub const CONFIRM_AFTER: Duration = Duration::from_secs(5);
/// Watchdog timeout on a trial boot (the RP2040 allows at most about 8.3 s).
pub const WATCHDOG_TIMEOUT: Duration = Duration::from_secs(8);
/// How often the application feeds the watchdog during a trial.
const FEED_EVERY: Duration = Duration::from_secs(1);

/// The blink pattern: milliseconds on, off, on, off, ... separated by commas.
pub const PATTERN_FILE: &str = "blink.txt";
/// A tree holding this file plays a broken application, for tests: on a
/// trial boot it never confirms and stops feeding the watchdog, so the
/// watchdog resets the chip until the trial runs out of boots and the agent
/// rolls back.
pub const NO_CONFIRM_FILE: &str = "ota-no-confirm";

/// What the application found in the active tree at boot.
pub struct Plan {
    pub pattern: Pattern,
    /// The tree on trial this boot, if any: the only tree the application may confirm.
    pub trial: Option<TreeRef>,
    /// The tree asks the application to play a hung one (see [`NO_CONFIRM_FILE`]).
    pub hang: bool,
}

impl Plan {
    pub fn read(agent: &mut Agent<StoreFlash>) -> Plan {
        let store = agent.store_mut();
        let trial = match store.state() {
            State::Trial { .. } => store.record().active,
            _ => None,
        };
        let hang = matches!(store.find_path(NO_CONFIRM_FILE), Ok(Some(_)));
        let mut text = [0u8; MAX_TEXT];
        let pattern = match store.find_path(PATTERN_FILE) {
            Ok(Some(f)) if f.size as usize <= MAX_TEXT => match store.read_file(&f, 0, &mut text) {
                Ok(n) => Pattern::parse(&text[..n]),
                Err(_) => None,
            },
            _ => None,
        };
        Plan {
            pattern: pattern.unwrap_or(Pattern::DEFAULT),
            trial,
            hang,
        }
    }
}

/// Runs the application for ever. The watchdog must already be running when
/// `plan.trial` is set.
pub async fn run(
    agent: &RefCell<Agent<StoreFlash>>,
    watchdog: &RefCell<Watchdog>,
    led: Output<'_>,
    plan: Plan,
) -> ! {
    join(blink(led, plan.pattern), keep_trial(agent, watchdog, &plan))
        .await
        .0
}

/// Each time of the pattern flips the LED, starting with on; an odd number
/// of times therefore starts the next round with off.
async fn blink(mut led: Output<'_>, pattern: Pattern) -> ! {
    let mut on = true;
    loop {
        for ms in pattern.steps() {
            led.set_level(on.into());
            on = !on;
            Timer::after_millis(*ms as u64).await;
        }
    }
}

/// Feeds the watchdog during a trial and confirms the tree after
/// [`CONFIRM_AFTER`]; then stops the watchdog, whose job ends with the trial.
///
/// Confirms only the tree that booted: if the host has meanwhile confirmed,
/// rolled back or committed another tree, there is nothing left to confirm.
/// The check and the confirmation happen under one borrow of the agent, so a
/// request from the host cannot come in between.
async fn keep_trial(agent: &RefCell<Agent<StoreFlash>>, watchdog: &RefCell<Watchdog>, plan: &Plan) {
    let Some(booted) = plan.trial else {
        return;
    };
    if plan.hang {
        return; // a hung application: no feeding, no confirmation
    }
    let confirm_at = Instant::now() + CONFIRM_AFTER;
    loop {
        watchdog.borrow_mut().feed(WATCHDOG_TIMEOUT);
        let done = {
            let mut agent = agent.borrow_mut();
            let store = agent.store_mut();
            let still_on_trial = store.record().active == Some(booted)
                && matches!(store.state(), State::Trial { .. });
            if !still_on_trial {
                true
            } else if Instant::now() >= confirm_at {
                // A failed write leaves the trial standing: try again next time.
                store.confirm().is_ok()
            } else {
                false
            }
        };
        if done {
            watchdog.borrow_mut().stop();
            return;
        }
        Timer::after(FEED_EVERY).await;
    }
}
