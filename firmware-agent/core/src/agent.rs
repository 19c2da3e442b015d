//! The agent's request handler: one request in, replies out, and what the
//! caller must do next (nothing, or reboot once the replies are sent).

use embedded_storage::nor_flash::NorFlash;
use ota_protocol::{
    ImageState, Info, Reply, Request, TreeInfo, TreeSel, TreeState, TrialHistory, PROTOCOL_MAJOR,
    PROTOCOL_MINOR,
};

use crate::layout::{State, MAX_ENTRIES, MAX_PATH, SECTOR};
use crate::session::{DataOutcome, Session};
use crate::signature::{keys_message, signed_by_any, valid_key, MAX_KEYS};
use crate::store::{BootOutcome, Store, Tree};
use crate::Error;

/// What the device is, for Info.
#[derive(Debug, Clone, Copy)]
pub struct AgentConfig {
    pub agent_version: &'static str,
    pub device_id: [u8; 8],
    /// Largest Data payload this agent's frame buffer takes.
    pub max_chunk: u16,
    /// What the application slot held at boot.
    pub app: ota_protocol::AppSlot,
    /// This start's number, reported in Info: a new one at every start.
    pub boot_id: u32,
}

/// What the caller must do after a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    None,
    /// Restart the device (after the replies have left).
    Reboot,
    /// Restart into the boot ROM's USB bootloader (after the replies have left).
    Bootsel,
}

/// A session with no request for this long is dropped, and the link that
/// held it may be given to another host: a host that went away silently
/// must not keep the agent for ever.
pub const SESSION_IDLE_MS: u32 = 60_000;

pub struct Agent<F> {
    store: Store<F>,
    session: Option<Session>,
    config: AgentConfig,
    /// Milliseconds since the last request, as the caller's clock counts them.
    idle_ms: u32,
    /// The journal's sequence number when this agent started serving.
    found_seq: u32,
    /// Where the application slot starts in the store's flash, when the
    /// caller has one: Info then says whether it was written behind ota's back.
    slot_base: Option<u32>,
}

impl<F: NorFlash> Agent<F> {
    /// Opens the store and makes the boot decision (trial count, rollback).
    pub fn boot(
        flash: F,
        base: u32,
        sectors: u32,
        config: AgentConfig,
    ) -> Result<(Self, BootOutcome), Error> {
        let mut store = Store::open(flash, base, sectors)?;
        let outcome = store.boot()?;
        Ok((Agent::new(store, config), outcome))
    }

    /// An agent on an opened store, without a boot decision (tests that
    /// model the boot themselves).
    pub fn new(store: Store<F>, config: AgentConfig) -> Self {
        Agent {
            found_seq: store.record().seq,
            slot_base: None,
            store,
            session: None,
            config,
            idle_ms: 0,
        }
    }

    /// True while nothing this agent did changed the journal since it
    /// started serving (no commit, confirm, rollback, provision, boot
    /// decision): a host only looked. A hand-over back to the application
    /// after such a visit must not spend a trial boot, since the
    /// application did not end its run by failing.
    pub fn left_as_found(&self) -> bool {
        self.store.record().seq == self.found_seq
    }

    /// The application slot starts at byte `base` of the store's flash.
    pub fn set_slot_base(&mut self, base: u32) {
        self.slot_base = Some(base);
    }

    /// What the slot holds now (the agent copied an image into it).
    pub fn set_app(&mut self, app: ota_protocol::AppSlot) {
        self.config.app = app;
    }

    pub fn store(&self) -> &Store<F> {
        &self.store
    }

    pub fn store_mut(&mut self) -> &mut Store<F> {
        &mut self.store
    }

    pub fn into_store(self) -> Store<F> {
        self.store
    }

    /// Time passed with no request: the core has no clock, so the caller
    /// (the board's USB loop, the simulator's socket) says how much. Returns
    /// true once the link has been idle for [`SESSION_IDLE_MS`]: any session
    /// is then dropped, and the caller frees the link.
    pub fn idle(&mut self, elapsed_ms: u32) -> bool {
        self.idle_ms = self.idle_ms.saturating_add(elapsed_ms);
        if self.idle_ms < SESSION_IDLE_MS {
            return false;
        }
        self.session = None;
        true
    }

    /// Handles one request; `reply` is called once per reply, in order.
    pub fn handle(&mut self, req: &Request<'_>, reply: &mut dyn FnMut(&Reply<'_>)) -> Action {
        self.idle_ms = 0;
        match self.dispatch(req, reply) {
            Ok(action) => action,
            Err((e, entry)) => {
                reply(&Reply::Error {
                    code: e.code(),
                    entry,
                    detail: e.as_str(),
                });
                Action::None
            }
        }
    }

    fn dispatch(
        &mut self,
        req: &Request<'_>,
        reply: &mut dyn FnMut(&Reply<'_>),
    ) -> Result<Action, (Error, Option<u16>)> {
        let plain = |e: Error| (e, None);
        match req {
            Request::Hello { major, .. } => {
                if *major != PROTOCOL_MAJOR {
                    reply(&Reply::Error {
                        code: ota_protocol::ErrorCode::UnsupportedVersion,
                        entry: None,
                        detail: "agent speaks protocol 1.x; update ota or the agent firmware",
                    });
                } else {
                    let image = self.image_state();
                    reply(&Reply::Info(Info {
                        image,
                        ..self.info()
                    }));
                }
            }
            Request::ListFiles { tree } => {
                let t = match tree {
                    TreeSel::Active => self.store.active(),
                    TreeSel::Previous => self.store.previous(),
                }
                .map(|t| t.at);
                let total = t.map_or(0, |t| t.entries);
                if let Some(t) = t {
                    for i in 0..t.entries {
                        let f = self.store.file(&t, i).map_err(plain)?;
                        reply(&Reply::File {
                            index: i,
                            path: f.path.as_str(),
                            size: f.size,
                            sha1: f.sha1,
                            sha256: f.sha256,
                        });
                    }
                }
                reply(&Reply::ListEnd { total });
            }
            Request::Layout { tree } => self.layout(*tree, reply).map_err(plain)?,
            Request::Patch {
                entry,
                base_size,
                base_sha256,
                size,
            } => {
                self.patch(*entry, (*base_size, *base_sha256), *size)
                    .map_err(|e| (e, Some(*entry)))?;
                reply(&Reply::Ack {
                    entry: *entry,
                    offset: 0,
                });
            }
            Request::Begin(b) => {
                self.session = None;
                let s = Session::begin(&mut self.store, b).map_err(plain)?;
                self.session = Some(s);
                reply(&Reply::Ready { session: b.session });
            }
            Request::Entry(e) => {
                let s = self
                    .session
                    .as_mut()
                    .ok_or((Error::BadState, Some(e.index)))?;
                let need = match s.entry(&mut self.store, e) {
                    Ok(n) => n,
                    Err(Error::Unsigned) => {
                        // Not a tree this device will ever take: nothing of it stays.
                        self.session = None;
                        return Err((Error::Unsigned, Some(e.index)));
                    }
                    Err(err) => return Err((err, Some(e.index))),
                };
                reply(&Reply::Need {
                    index: e.index,
                    need,
                });
            }
            Request::Data {
                entry,
                offset,
                bytes,
            } => {
                let s = self
                    .session
                    .as_mut()
                    .ok_or((Error::BadState, Some(*entry)))?;
                match s.data(&mut self.store, *entry, *offset, bytes) {
                    Ok(DataOutcome::Ack { offset }) => reply(&Reply::Ack {
                        entry: *entry,
                        offset,
                    }),
                    Ok(DataOutcome::Done { size }) => {
                        reply(&Reply::Ack {
                            entry: *entry,
                            offset: size,
                        });
                        reply(&Reply::FileDone { entry: *entry });
                    }
                    Err(e) => return Err((e, Some(*entry))),
                }
            }
            Request::Query { entry } => {
                let s = self
                    .session
                    .as_ref()
                    .ok_or((Error::BadState, Some(*entry)))?;
                let at = s.progress(*entry).map_err(|e| (e, Some(*entry)))?;
                if at == u32::MAX {
                    let tree = s.tree();
                    let size = self.store.file(&tree, *entry).map_err(plain)?.size;
                    reply(&Reply::Ack {
                        entry: *entry,
                        offset: size,
                    });
                    reply(&Reply::FileDone { entry: *entry });
                } else {
                    reply(&Reply::Ack {
                        entry: *entry,
                        offset: at,
                    });
                }
            }
            Request::Commit { boots } => {
                let s = self.session.take().ok_or(plain(Error::BadState))?;
                if !s.complete() {
                    self.session = Some(s);
                    return Err(plain(Error::BadState));
                }
                let foreign = self.image_state() == ImageState::Foreign;
                s.commit(&mut self.store, *boots).map_err(plain)?;
                if foreign {
                    self.recopy_image().map_err(plain)?;
                }
                reply(&Reply::Committed { boots: *boots });
            }
            Request::Reboot => {
                reply(&Reply::Done);
                return Ok(Action::Reboot);
            }
            Request::Confirm => {
                self.store.confirm().map_err(plain)?;
                reply(&Reply::Done);
            }
            Request::Rollback => {
                if self.session.is_some() {
                    return Err(plain(Error::BadState));
                }
                self.store.rollback_requested(None).map_err(plain)?;
                reply(&Reply::Done);
            }
            Request::RollbackTrial { boots } => {
                if self.session.is_some() {
                    return Err(plain(Error::BadState));
                }
                self.store.rollback_requested(Some(*boots)).map_err(plain)?;
                reply(&Reply::Done);
            }
            Request::DropPrevious => {
                self.store.drop_previous().map_err(plain)?;
                reply(&Reply::Done);
            }
            Request::Abort => {
                self.session = None;
                reply(&Reply::Done);
            }
            Request::Provision { keys, auth } => {
                if self.session.is_some() {
                    return Err(plain(Error::BadState));
                }
                if keys.len() % 32 != 0 || keys.len() / 32 > MAX_KEYS {
                    return Err(plain(Error::BadEntry));
                }
                let mut new = [[0u8; 32]; MAX_KEYS];
                let n = keys.len() / 32;
                for (i, k) in keys.chunks_exact(32).enumerate() {
                    new[i].copy_from_slice(k);
                    // A key that is not a curve point would lock the device for good.
                    if !valid_key(&new[i]) {
                        return Err(plain(Error::BadEntry));
                    }
                }
                if self.store.provisioned() {
                    let message =
                        keys_message(&self.config.device_id, self.store.key_changes(), &new[..n]);
                    let ok = auth
                        .as_ref()
                        .is_some_and(|a| signed_by_any(self.store.keys(), &message, &a.0));
                    if !ok {
                        return Err(plain(Error::Unsigned));
                    }
                }
                self.store.provision(&new[..n]).map_err(plain)?;
                reply(&Reply::Done);
            }
            Request::Bootsel => {
                // An unfinished session is lost with the RAM anyway; nothing was committed.
                self.session = None;
                reply(&Reply::Done);
                return Ok(Action::Bootsel);
            }
        }
        Ok(Action::None)
    }

    /// Entry `entry` comes as a patch against the slot's first `base.0`
    /// bytes, which must hash to `base.1`.
    fn patch(&mut self, entry: u16, base: (u32, [u8; 32]), size: u32) -> Result<(), Error> {
        let s = self.session.as_mut().ok_or(Error::BadState)?;
        // An agent that does not know where the slot is has no base.
        let slot = self.slot_base.ok_or(Error::BadBase)?;
        let base = crate::patch_in::Base {
            slot,
            size: base.0,
            sha256: base.1,
        };
        s.patch(&mut self.store, entry, base, size)
    }

    /// Where the files of `tree` lie, then where the store is and what
    /// else it holds: what a host needs to model the store.
    fn layout(&mut self, tree: TreeSel, reply: &mut dyn FnMut(&Reply<'_>)) -> Result<(), Error> {
        let t = match tree {
            TreeSel::Active => self.store.active(),
            TreeSel::Previous => self.store.previous(),
        }
        .map(|t| t.at);
        if let Some(t) = t {
            for i in 0..t.entries {
                let f = self.store.file(&t, i)?;
                reply(&Reply::Placed {
                    index: i,
                    first_sector: f.first_sector,
                    offset: f.offset,
                });
            }
        }
        let record = *self.store.record();
        reply(&Reply::LayoutEnd {
            base: self.store.sector_offset(0),
            record: t.map(|t| t.first_sector),
            keys: record.keys,
            original: record.original.map(|o| (o.first_sector, o.sectors)),
        });
        Ok(())
    }

    pub fn info(&self) -> Info<'_> {
        Info {
            major: PROTOCOL_MAJOR,
            minor: PROTOCOL_MINOR,
            agent_version: self.config.agent_version,
            device_id: self.config.device_id,
            sector_size: SECTOR,
            sectors: self.store.sectors(),
            free_sectors: self.store.free_sectors(),
            max_entries: MAX_ENTRIES as u16,
            max_path: MAX_PATH as u16,
            max_chunk: self.config.max_chunk,
            state: match self.store.state() {
                State::Empty => TreeState::Empty,
                State::Confirmed => TreeState::Confirmed,
                State::Trial { boots_left } => TreeState::Trial { boots_left },
                State::Failed => TreeState::Failed,
            },
            active: self.store.active().map(tree_info),
            previous: self.store.previous().map(tree_info),
            session: self.session.as_ref().map(|s| s.id),
            keys: self.store.key_count(),
            app: self.config.app,
            image: ImageState::None,
            history: {
                let h = self.store.record().history;
                TrialHistory {
                    trial_boots: h.trial_boots,
                    active_failed: h.active_failed,
                    previous_failed: h.previous_failed,
                }
            },
            previous_only_sectors: self.store.previous_only_sectors(),
            security_version: self.store.security_version(),
            key_changes: self.store.key_changes(),
            boot_id: self.config.boot_id,
        }
    }

    /// Whether the slot holds what the active tree names (reads the tree,
    /// and the first and last sectors of the slot).
    pub fn image_state(&mut self) -> ImageState {
        let store = &mut self.store;
        let behind = |store: &mut Store<F>, base: Option<u32>| {
            base.is_some_and(|b| crate::slot::written_behind(store, b).unwrap_or(false))
        };
        match crate::slot::active_image(store) {
            Ok(Some(_)) if crate::slot::matches(store).unwrap_or(false) => {
                match behind(store, self.slot_base) {
                    true => ImageState::Foreign,
                    false => ImageState::Installed,
                }
            }
            Ok(Some(_)) => ImageState::Pending,
            _ => ImageState::None,
        }
    }

    /// After a commit over a slot written behind ota's back: when the new
    /// tree carries an image, the journal no longer claims the slot holds
    /// it, so the next boot copies it in (one record; a power cut before it
    /// leaves the foreign image running, and reported, as before).
    fn recopy_image(&mut self) -> Result<(), Error> {
        let store = &mut self.store;
        let wants_image = matches!(
            crate::slot::target(store)?,
            Some(t) if matches!(t.slot, crate::layout::Slot::Image(_))
        );
        if !wants_image {
            return Ok(());
        }
        store.append(crate::layout::Record {
            slot: crate::layout::Slot::Writing,
            ..*store.record()
        })
    }
}

fn tree_info(t: &Tree) -> TreeInfo<'_> {
    TreeInfo {
        version: t.header.version.as_str(),
        git_ref: t.header.git_ref.as_str(),
        commit: t.header.commit.as_str(),
        files: t.header.entries,
        bytes: t.header.total_bytes,
    }
}
