//! The update's policy in one place: which keys are trusted, whether an
//! update must be signed, what a tree signature covers, which filter
//! applies, and downgrades. Every source is judged by [`Policy::judge`].

use anyhow::Result;
use serde_json::Value;

use crate::config::Config;
use crate::device::DeviceInfo;
use crate::exit::{fail, Kind};
use crate::filter::Filter;
use crate::progress::Ui;
use crate::signing::{self, PublicKey};

/// What the config and the flags allow.
pub struct Policy {
    /// The config's `pubkey`: when any, updates must be signed by one of them.
    pub keys: Vec<PublicKey>,
    pub allow_unsigned: bool,
    pub allow_downgrade: bool,
    filter: Filter,
}

/// What the policy made of one update.
pub struct Verdict {
    /// A trusted key signed it: it is also held to anti-rollback.
    pub signed: bool,
    /// The tree signature to send to provisioned devices.
    pub tree_signature: Option<[u8; 64]>,
    /// The filter for its files: none for a tree signed for devices.
    pub filter: Filter,
}

impl Policy {
    pub fn of(config: &Config, allow_unsigned: bool, allow_downgrade: bool) -> Result<Policy> {
        Ok(Policy {
            keys: trusted_keys(config, &[])?,
            allow_unsigned,
            allow_downgrade,
            filter: config.filter.clone(),
        })
    }

    /// Judges an update: `what` names it when it carries no manifest, and
    /// `manifest` is its manifest's name and bytes when it does. An unsigned
    /// update is refused when keys are trusted (unless allowed); a manifest
    /// that no trusted key signed is refused.
    pub fn judge(&self, ui: &Ui, what: &str, manifest: Option<(&str, &[u8])>) -> Result<Verdict> {
        let (tree_signature, filter) = self.tree_filter(ui, manifest.map(|m| m.1))?;
        let signed = match manifest {
            _ if self.keys.is_empty() => false,
            Some((name, raw)) => {
                let by = require_signed(raw, name, &self.keys)?;
                ui.detail(&format!("{name}: signed by {}", by.line()));
                true
            }
            None => self.check_unsigned(what)?,
        };
        Ok(Verdict {
            signed,
            tree_signature,
            filter,
        })
    }

    /// Refuses an unsigned update when the config trusts keys, unless allowed.
    pub fn check_unsigned(&self, what: &str) -> Result<bool> {
        if self.keys.is_empty() || self.allow_unsigned {
            return Ok(false);
        }
        Err(fail(
            Kind::Verify,
            format!("{what} is not signed, and the config's `pubkey` requires signed updates; pass --allow-unsigned to push it anyway"),
        ))
    }

    /// A release signed for devices is installed whole: the config's filters
    /// would change the tree the signature covers. Returns the tree
    /// signature and the filter to apply.
    pub fn tree_filter(&self, ui: &Ui, raw: Option<&[u8]>) -> Result<(Option<[u8; 64]>, Filter)> {
        let Some(raw) = raw else {
            return Ok((None, self.filter.clone()));
        };
        let value: Value = serde_json::from_slice(raw)
            .map_err(|e| fail(Kind::Source, format!("manifest.json: {e}")))?;
        match signing::tree_signature(&value, &self.keys)? {
            Some(sig) => {
                if !self.filter.is_empty() {
                    ui.say("the release is signed for devices: installing it whole (allow, ignore and paths do not apply)");
                }
                Ok((Some(sig), Filter::default()))
            }
            None => Ok((None, self.filter.clone())),
        }
    }

    /// The tree signature to send with an update of this ref and commit. It
    /// covers ref and commit as the manifest names them (empty when it does
    /// not): one made for others would be refused by every provisioned
    /// device, so it is dropped here, and the user told why.
    pub fn bind(
        &self,
        ui: &Ui,
        raw: Option<&[u8]>,
        sig: Option<[u8; 64]>,
        git_ref: &str,
        commit: &str,
    ) -> Option<[u8; 64]> {
        let sig = sig?;
        let m: Value = serde_json::from_slice(raw?).ok()?;
        let named = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("");
        if named("ref") == git_ref && named("commit") == commit {
            return Some(sig);
        }
        let esc = crate::terminal::escape;
        ui.say(&format!(
            "the tree signature covers ref `{}` and commit `{}`, not {} at {}: provisioned devices will refuse this update; sign a manifest made with `ota manifest gen --ref {} --commit {}`",
            esc(named("ref")),
            esc(named("commit")),
            esc(git_ref),
            esc(commit),
            esc(git_ref),
            esc(commit),
        ));
        None
    }

    /// Anti-rollback for signed updates: a version lower than the device's is refused.
    pub fn refuse_downgrade(&self, before: &DeviceInfo, to: &str) -> Result<()> {
        let Some(active) = before.active.as_ref() else {
            return Ok(());
        };
        if self.allow_downgrade {
            return Ok(());
        }
        if let (Some(new), Some(old)) = (semver_of(to), semver_of(&active.version)) {
            if new < old {
                return Err(fail(
                    Kind::Verify,
                    format!(
                        "{to} is older than {} on the device: refusing a downgrade (pass --allow-downgrade to install it)",
                        active.version
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// The public keys to check against: the flags', else the config's.
pub fn trusted_keys(config: &Config, flags: &[String]) -> Result<Vec<PublicKey>> {
    let specs = if flags.is_empty() {
        &config.pubkeys
    } else {
        flags
    };
    specs.iter().map(|s| PublicKey::load(s)).collect()
}

/// Checks a published manifest against the trusted keys: the error says what is wrong.
pub fn require_signed(raw: &[u8], what: &str, keys: &[PublicKey]) -> Result<PublicKey> {
    let value: Value =
        serde_json::from_slice(raw).map_err(|e| fail(Kind::Verify, format!("{what}: {e}")))?;
    signing::verify_ed25519(&value, keys)?.ok_or_else(|| {
        fail(
            Kind::Verify,
            format!("{what} is not signed by any key in the config's `pubkey`; nothing was downloaded or written to the device"),
        )
    })
}

/// `v1.2.3` and `1.2.3` alike; `None` when it is not a semantic version.
fn semver_of(v: &str) -> Option<semver::Version> {
    semver::Version::parse(v.strip_prefix(['v', 'V']).unwrap_or(v)).ok()
}
