//! `ota status`, `ota ls`, `ota confirm`, `ota rollback`, `ota reboot`:
//! looking at the device and the small requests that change its state.

use anyhow::Result;
use ota_protocol::{Request, TreeSel};
use serde_json::json;

use super::report::{self, Outcome};
use super::{on_each, print_json, print_line, Ctx};
use crate::device::agent::client::{ImageStatus, SlotState, TreeStatus};
use crate::device::agent::reboot::{not_taken, Reboot};
use crate::device::{Client, DeviceInfo};
use crate::exit::{fail, Kind};
use crate::progress::human_bytes;
use crate::signing::{PublicKey, SecretKey};
use crate::terminal::escape;

use super::render::{history_line, state_line, tree_line};
use crate::device::micropython::facts::BoardFacts;

/// How this visit found the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reached {
    /// It was running.
    Agent,
    /// The application ran and reset into it at the 1200-baud touch.
    Touch,
    /// The application could not be touched: the agent answered in its
    /// window after a power-on.
    PowerOn,
}

pub fn status(ctx: &Ctx) -> Result<()> {
    let targets = ctx.targets()?;
    let outcomes: Vec<Outcome> = targets
        .iter()
        .zip(on_each(&targets, |t| {
            let mut c = ctx.connect_to(t)?;
            let i = c.hello()?;
            let held = i.previous.is_some().then_some(i.previous_only_bytes);
            let reached = match (c.in_window, c.touched) {
                (true, _) => Reached::PowerOn,
                (false, true) => Reached::Touch,
                (false, false) => Reached::Agent,
            };
            Ok((c.name(), i, held, reached))
        }))
        .map(|(t, r)| {
            let result = r.map(|(port, i, held, reached)| {
                if !ctx.ui.json {
                    print_status(&port, &i, held, reached, ctx.multi());
                }
                json!({
                    "port": port,
                    "device": i,
                    "history": history_line(&i),
                    "previous_holds_bytes": held,
                    "application_was_running": reached != Reached::Agent,
                    "reached_in_power_on_window": reached == Reached::PowerOn,
                })
            });
            Outcome {
                device: t.label(),
                port: t.spec.to_string(),
                result,
            }
        })
        .collect();
    finish(ctx, "status", outcomes)
}

/// The active tree's application image, and whether the slot holds it.
fn image_line(i: &DeviceInfo) -> String {
    let version = i.active.as_ref().map_or("", |a| a.version.as_str());
    match i.image {
        ImageStatus::Installed => format!("{version}'s, in the slot"),
        ImageStatus::Pending => format!("{version}'s, copied into the slot at the next boot"),
        ImageStatus::Foreign => {
            "the slot holds an image ota did not install (written by a probe or a UF2?); \
             it runs, and the next `ota push --app` puts the tree's image back"
                .to_string()
        }
        ImageStatus::None => {
            "the tree carries none (the slot keeps what was installed with the agent)".to_string()
        }
    }
}

fn print_status(port: &str, i: &DeviceInfo, held: Option<u64>, reached: Reached, multi: bool) {
    let mut lines = status_lines(port, i, held, reached);
    if multi {
        lines.push(String::new());
    }
    for l in lines {
        let _ = print_line(&l);
    }
}

/// What `ota status` prints for one device. A MicroPython board has no
/// application slot and takes no release keys: it gets no lines about them.
fn status_lines(port: &str, i: &DeviceInfo, held: Option<u64>, reached: Reached) -> Vec<String> {
    let held = match (held, &i.previous) {
        (Some(b), Some(p)) => format!("; the previous tree {} holds {}", p.version, human_bytes(b)),
        _ => String::new(),
    };
    let facts = BoardFacts::parse(&i.agent_version);
    let what = facts.as_ref().map_or(i.agent_version.as_str(), |f| &f.what);
    let mut lines = vec![
        format!("device     {} on {port}", i.device_id),
        format!("agent      {} (protocol {})", escape(what), i.protocol),
    ];
    if let Some(f) = &facts {
        lines.extend(board_lines(f));
    } else {
        lines.push(format!("app        {}", app_line(i, reached)));
        lines.push(format!("image      {}", image_line(i)));
    }
    lines.extend([
        format!("active     {}", tree_line(&i.active)),
        format!("state      {}", state_line(i)),
        format!("previous   {}", tree_line(&i.previous)),
    ]);
    if let Some(h) = history_line(i) {
        lines.push(format!("history    {h}"));
    }
    lines.push(format!(
        "{}{} free of {}{held}",
        if facts.is_some() {
            "filesystem "
        } else {
            "flash      "
        },
        human_bytes(i.free_bytes),
        human_bytes(i.capacity_bytes)
    ));
    if !i.micropython() {
        lines.extend(key_lines(i));
    }
    if let Some(s) = i.session {
        lines.push(format!(
            "session    unfinished update {s:08x} (the next push of this update resumes it; another update replaces it)"
        ));
    }
    lines
}

/// A MicroPython board's boot.py and the files changed outside ota.
fn board_lines(f: &BoardFacts) -> Vec<String> {
    let boot = match (f.hook, f.own_boot) {
        (Some(true), Some(true)) => {
            "ota's hook, then the board's own boot.py (kept as /.ota/boot_user.py)"
        }
        (Some(true), _) => "ota's hook (the board has no boot.py of its own)",
        (Some(false), Some(true)) => {
            "not ota's hook: ota puts it back at the next push; the board's own is kept as /.ota/boot_user.py"
        }
        (Some(false), _) => "no ota hook yet: the first push installs it, keeping a boot.py the board has",
        (None, _) => return Vec::new(),
    };
    let mut lines = vec![format!("boot.py    {boot}")];
    if !f.changed.is_empty() {
        lines.push(format!(
            "changed    {}: changed outside ota (missing, or not the tree's content); the next push puts the tree's back (push --keep-local leaves them)",
            escape(&f.changed.join(" "))
        ));
    }
    lines
}

/// The application slot: what is there, and whether it ran before this visit.
fn app_line(i: &DeviceInfo, reached: Reached) -> &'static str {
    match (i.app, reached) {
        _ if i.state == TreeStatus::Failed => {
            "in the slot, not run: the active tree failed its trial, the agent stays in charge"
        }
        (SlotState::Valid, Reached::Touch) => {
            "running; reached the agent with a 1200-baud touch, and handed back"
        }
        (SlotState::Valid, Reached::PowerOn) => {
            "running without a port ota can touch; reached the agent in its window at power-on, and handed back"
        }
        (SlotState::Valid, Reached::Agent) => "in the slot; the agent hands over to it at each reset",
        (SlotState::Invalid, _) => "the slot holds no application image: the agent stays in charge",
        (SlotState::Empty, _) => "none: the slot is empty (install one with `ota agent uf2 --app`)",
    }
}

/// The release keys the agent holds, and the security version it keeps.
fn key_lines(i: &DeviceInfo) -> Vec<String> {
    if i.keys == 0 {
        return vec![
            "keys       none: the agent takes unsigned trees (`ota provision` gives it release keys)"
                .to_string(),
        ];
    }
    let v = i.security_version;
    let security = if v == 0 {
        "none yet: it rises to each signed release that confirms, and lower ones are refused"
            .to_string()
    } else {
        format!(
            "version {}.{}.{}: signed trees of a lower version are refused",
            v >> 20,
            (v >> 10) & 1023,
            v & 1023
        )
    };
    vec![
        format!(
            "keys       {} release key(s): the agent takes only trees signed by one of them",
            i.keys
        ),
        format!("security   {security}"),
    ]
}

fn finish(ctx: &Ctx, command: &str, outcomes: Vec<Outcome>) -> Result<()> {
    report::finish(ctx.ui.json, ctx.multi(), command, outcomes)
}

pub fn ls(ctx: &Ctx, long: bool, previous: bool) -> Result<()> {
    let mut c = ctx.connect()?;
    let info = c.hello()?;
    if previous && info.previous.is_none() {
        return Err(fail(
            Kind::Refused,
            format!("{}: the device holds no previous tree", c.name()),
        ));
    }
    let files = c.list(if previous {
        TreeSel::Previous
    } else {
        TreeSel::Active
    })?;
    if ctx.ui.json {
        return print_json(&json!({ "port": c.name(), "files": files }));
    }
    for f in files {
        if long {
            print_line(&format!("{:>9}  {}  {}", f.size, f.sha1, escape(&f.path)))?;
        } else {
            print_line(&escape(&f.path))?;
        }
    }
    Ok(())
}

pub fn confirm(ctx: &Ctx) -> Result<()> {
    simple(ctx, Request::Confirm, "Confirm", "confirmed")
}

/// `ota rollback`: a tree that failed its trial goes back only with
/// `--force`, and then as a trial again.
pub fn rollback(ctx: &Ctx, force: bool, boots: Option<u8>) -> Result<()> {
    if force {
        let boots = boots.unwrap_or(ctx.config.trial_boots);
        return simple(
            ctx,
            Request::RollbackTrial { boots },
            "Rollback",
            "rolled back",
        );
    }
    let check = |name: &str, i: &DeviceInfo| {
        match (i.history.previous_failed_boots, &i.previous) {
        (Some(n), Some(p)) => Err(fail(
            Kind::Refused,
            format!(
                "{name}: {} failed its trial ({n} boot{}) and was rolled back from; pass --force to try it again as a new trial",
                p.version,
                if n == 1 { "" } else { "s" }
            ),
        )),
        _ => Ok(()),
    }
    };
    simple_checked(ctx, Request::Rollback, "Rollback", "rolled back", check)
}

pub fn reboot(ctx: &Ctx) -> Result<()> {
    simple(ctx, Request::Reboot, "Reboot", "rebooting")
}

fn simple(ctx: &Ctx, req: Request<'_>, what: &str, done: &str) -> Result<()> {
    simple_checked(ctx, req, what, done, |_, _| Ok(()))
}

/// A Reboot the device takes, asked again while it answers from the same boot.
fn restart(c: &mut Client, boot_id: u32) -> Result<()> {
    match c.reboot(boot_id)? {
        Reboot::Taken => Ok(()),
        Reboot::NotTaken => Err(fail(
            Kind::Device,
            format!(
                "{}: {}; check the link, or unplug it",
                c.name(),
                not_taken()
            ),
        )),
    }
}

/// A simple request to each device, once `check` let its state through.
fn simple_checked(
    ctx: &Ctx,
    req: Request<'_>,
    what: &str,
    done: &str,
    check: impl Fn(&str, &DeviceInfo) -> Result<()> + Sync,
) -> Result<()> {
    let targets = ctx.targets()?;
    let results = on_each(&targets, |t| {
        let mut c = ctx.connect_to(t)?;
        let before = c.hello()?;
        check(&c.name(), &before)?;
        let after = if matches!(req, Request::Reboot) {
            restart(&mut c, before.boot_id)?;
            None
        } else {
            c.simple(&req, what)?;
            Some(c.hello()?)
        };
        let label = if ctx.multi() {
            format!("[{}] ", t.label())
        } else {
            String::new()
        };
        match &after {
            Some(i) => ctx.ui.say(&format!(
                "{label}{done}: active {} ({})",
                tree_line(&i.active),
                state_line(i)
            )),
            None => ctx.ui.say(&format!("{label}{done}")),
        }
        Ok(json!({ "port": c.name(), "result": done, "device": after }))
    });
    let outcomes = targets
        .iter()
        .zip(results)
        .map(|(t, result)| Outcome {
            device: t.label(),
            port: t.spec.to_string(),
            result,
        })
        .collect();
    finish(ctx, what, outcomes)
}

/// `ota provision`: the release keys the agent will require.
pub fn provision(
    ctx: &Ctx,
    pubkeys: &[String],
    clear: bool,
    key: Option<&std::path::Path>,
) -> Result<()> {
    let keys: Vec<PublicKey> = pubkeys
        .iter()
        .map(|k| PublicKey::load(k))
        .collect::<Result<_>>()?;
    if keys.len() > ota_agent::signature::MAX_KEYS {
        return Err(fail(
            Kind::Config,
            format!("at most {} keys", ota_agent::signature::MAX_KEYS),
        ));
    }
    if keys.is_empty() && !clear {
        return Err(fail(
            Kind::Config,
            "give --pubkey, or --clear to remove every key",
        ));
    }
    let raw: Vec<[u8; 32]> = keys.iter().map(|k| k.0).collect();
    let bytes: Vec<u8> = raw.concat();
    let mut c = ctx.connect()?;
    let before = c.hello()?;
    let device_id = crate::bundle::from_hex::<8>(&before.device_id).unwrap_or_default();
    let auth = match key {
        Some(path) => Some(ota_protocol::Signature(SecretKey::read(path)?.sign(
            &ota_agent::signature::keys_message(&device_id, before.key_changes, &raw),
        ))),
        None => None,
    };
    c.simple(&Request::Provision { keys: &bytes, auth }, "Provision")
        .map_err(|e| {
            if before.keys > 0 && auth.is_none() {
                e.context(
                    "the agent already holds keys: pass --key with the secret key of one of them",
                )
            } else {
                e
            }
        })?;
    let after = c.hello()?;
    if ctx.ui.json {
        return print_json(
            &json!({ "port": c.name(), "keys": keys.iter().map(|k| k.line()).collect::<Vec<_>>(), "device": after }),
        );
    }
    if keys.is_empty() {
        ctx.ui.say(&format!(
            "{}: no release keys: unsigned trees are accepted",
            c.name()
        ));
    } else {
        ctx.ui.say(&format!(
            "{}: {} release key(s); only trees signed by one of them are accepted",
            c.name(),
            after.keys
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::agent::client::{TreeStatus, TrialHistory};

    fn info(agent_version: &str) -> DeviceInfo {
        DeviceInfo {
            protocol: "1.3".into(),
            agent_version: agent_version.into(),
            device_id: "0102030405060708".into(),
            state: TreeStatus::Empty,
            boots_left: None,
            active: None,
            previous: None,
            capacity_bytes: 1 << 20,
            free_bytes: 1 << 20,
            max_chunk: 1024,
            max_files: 64,
            session: Some(0xabcd),
            keys: 0,
            app: SlotState::Empty,
            image: ImageStatus::None,
            history: TrialHistory::default(),
            previous_only_bytes: 0,
            security_version: 0,
            key_changes: 0,
            boot_id: 1,
        }
    }

    #[test]
    fn an_unfinished_session_is_said_to_resume() {
        let lines = status_lines("sim:p.img", &info("sim-0.1.0"), None, Reached::Agent);
        let session = lines.iter().find(|l| l.starts_with("session")).unwrap();
        assert!(
            session.contains("the next push of this update resumes it"),
            "{session}"
        );
    }

    #[test]
    fn a_micropython_board_gets_no_slot_or_key_lines() {
        let pico = status_lines("p", &info("sim-0.1.0"), None, Reached::Agent);
        let mp = status_lines(
            "p",
            &info("micropython 1.24.1, agent 0.1.0, sha1"),
            None,
            Reached::Agent,
        );
        for word in ["app ", "image ", "keys "] {
            assert!(pico.iter().any(|l| l.starts_with(word)), "{word}: {pico:?}");
            assert!(!mp.iter().any(|l| l.starts_with(word)), "{word}: {mp:?}");
        }
    }

    #[test]
    fn a_micropython_board_says_its_boot_py_and_what_changed_outside_ota() {
        let mp = status_lines(
            "p",
            &info("micropython 1.29.0, agent 0.1.0, sha256, hook, own boot.py, changed main.py"),
            None,
            Reached::Agent,
        );
        let has = |start: &str| mp.iter().find(|l| l.starts_with(start)).cloned();
        assert_eq!(
            has("agent").unwrap(),
            "agent      micropython 1.29.0, agent 0.1.0, sha256 (protocol 1.3)"
        );
        assert!(has("boot.py")
            .unwrap()
            .contains("then the board's own boot.py"));
        assert!(
            has("changed    main.py: changed outside ota").is_some(),
            "{mp:?}"
        );
        assert!(has("filesystem 1.0 MiB free").is_some(), "{mp:?}");
        assert!(has("flash").is_none(), "{mp:?}");
    }
}
