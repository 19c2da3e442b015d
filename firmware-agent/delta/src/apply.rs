//! The applier: patch bytes in, in pieces of any size, new image bytes out,
//! old bytes read by offset. Every length and offset the patch names is
//! checked against the old and new sizes before a byte moves, so a corrupt
//! or hostile patch ends in [`ApplyError::Corrupt`], never in a read past
//! the old image, a write past the new one, or a panic.

use heatshrink::decoder::HeatshrinkDecoder;
use heatshrink::{Finish, Poll, SinkError};

use crate::{LOOKAHEAD_BITS, MAGIC, WINDOW_BITS};

/// Compressed bytes the decoder buffers.
const INPUT: usize = 64;
/// Bytes decoded, read and written at a time.
const CHUNK: usize = 64;

type Decoder = HeatshrinkDecoder<WINDOW_BITS, LOOKAHEAD_BITS, INPUT, { 1 << WINDOW_BITS }>;

/// Where the old image is read and the new one goes (the slot and the
/// store on the board, slices in tests).
pub trait PatchIo {
    type Error;
    /// Fills `buf` with the old image's bytes from `at` (always within it).
    fn read_old(&mut self, at: u32, buf: &mut [u8]) -> Result<(), Self::Error>;
    /// The next bytes of the new image, in order.
    fn write_new(&mut self, bytes: &[u8]) -> Result<(), Self::Error>;
}

/// Why a patch did not apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyError<E> {
    /// The patch is not one, or names bytes outside the images.
    Corrupt(&'static str),
    /// Reading the old image or writing the new one failed.
    Io(E),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Magic(u8),
    NewSize,
    Seek,
    AddLen,
    CopyLen,
    Add(u32),
    Copy(u32),
    Done,
}

/// A patch being applied.
pub struct Applier {
    dec: Decoder,
    state: State,
    varint: u64,
    shift: u32,
    old_size: u32,
    new_size: u32,
    old_pos: u32,
    new_pos: u32,
    /// The command's add and copy lengths, once read.
    add: u32,
    copy: u32,
}

impl Applier {
    /// A patch against an old image of `old_size` bytes.
    pub fn new(old_size: u32) -> Self {
        Applier {
            dec: Decoder::new(),
            state: State::Magic(0),
            varint: 0,
            shift: 0,
            old_size,
            new_size: 0,
            old_pos: 0,
            new_pos: 0,
            add: 0,
            copy: 0,
        }
    }

    /// Bytes of the new image made so far.
    pub fn made(&self) -> u32 {
        self.new_pos
    }

    /// Takes the next patch bytes; writes what they make.
    pub fn feed<I: PatchIo>(
        &mut self,
        mut input: &[u8],
        io: &mut I,
    ) -> Result<(), ApplyError<I::Error>> {
        while !input.is_empty() {
            match self.dec.sink(input) {
                Ok(n) => input = &input[n..],
                Err(SinkError::Full) => {}
                Err(SinkError::Misuse) => return Err(ApplyError::Corrupt("decoder misuse")),
            }
            self.drain(io)?;
        }
        Ok(())
    }

    /// The patch is all in: the new image's size when it came out whole.
    pub fn finish<I: PatchIo>(&mut self, io: &mut I) -> Result<u32, ApplyError<I::Error>> {
        self.drain(io)?;
        if self.dec.finish() != Finish::Done || self.state != State::Done {
            return Err(ApplyError::Corrupt("the patch ends before the new image"));
        }
        Ok(self.new_size)
    }

    fn drain<I: PatchIo>(&mut self, io: &mut I) -> Result<(), ApplyError<I::Error>> {
        let mut buf = [0u8; CHUNK];
        loop {
            let (n, more) = match self.dec.poll(&mut buf) {
                Ok(Poll::More(n)) => (n, true),
                Ok(Poll::Empty(n)) => (n, false),
                Err(_) => return Err(ApplyError::Corrupt("decoder misuse")),
            };
            self.take(&buf[..n], io)?;
            if !more {
                return Ok(());
            }
        }
    }

    /// Runs decompressed bytes through the command state machine.
    fn take<I: PatchIo>(&mut self, data: &[u8], io: &mut I) -> Result<(), ApplyError<I::Error>> {
        let mut i = 0;
        while i < data.len() {
            let rest = &data[i..];
            i += match self.state {
                State::Magic(n) => {
                    if rest[0] != MAGIC[n as usize] {
                        return Err(ApplyError::Corrupt("not an ota patch"));
                    }
                    self.state = match n {
                        3 => State::NewSize,
                        _ => State::Magic(n + 1),
                    };
                    1
                }
                State::NewSize | State::Seek | State::AddLen | State::CopyLen => {
                    if let Some(v) = self.varint(rest[0])? {
                        self.field(v)?;
                    }
                    1
                }
                State::Add(left) => self.add_bytes(left, rest, io)?,
                State::Copy(left) => {
                    let n = (left as usize).min(rest.len());
                    io.write_new(&rest[..n]).map_err(ApplyError::Io)?;
                    self.new_pos += n as u32;
                    self.after(State::Copy(left - n as u32), 0);
                    n
                }
                State::Done => return Err(ApplyError::Corrupt("bytes after the new image")),
            };
        }
        Ok(())
    }

    /// Old bytes plus the patch's, for up to `left` bytes of `rest`.
    fn add_bytes<I: PatchIo>(
        &mut self,
        left: u32,
        rest: &[u8],
        io: &mut I,
    ) -> Result<usize, ApplyError<I::Error>> {
        let n = (left as usize).min(rest.len()).min(CHUNK);
        let mut old = [0u8; CHUNK];
        io.read_old(self.old_pos, &mut old[..n])
            .map_err(ApplyError::Io)?;
        for (o, d) in old[..n].iter_mut().zip(&rest[..n]) {
            *o = o.wrapping_add(*d);
        }
        io.write_new(&old[..n]).map_err(ApplyError::Io)?;
        self.old_pos += n as u32;
        self.new_pos += n as u32;
        self.after(State::Add(left - n as u32), self.copy);
        Ok(n)
    }

    /// Where a command goes once `now` has `0` bytes left: its copy, or the
    /// next command, or the end.
    fn after(&mut self, now: State, copy: u32) {
        self.state = match now {
            State::Add(0) if copy > 0 => State::Copy(copy),
            State::Add(0) | State::Copy(0) if self.new_pos == self.new_size => State::Done,
            State::Add(0) | State::Copy(0) => State::Seek,
            other => other,
        };
    }

    /// One LEB128 byte; the value once its last byte is in.
    fn varint<E>(&mut self, b: u8) -> Result<Option<u64>, ApplyError<E>> {
        if self.shift >= 64 {
            return Err(ApplyError::Corrupt("a number longer than 64 bits"));
        }
        self.varint |= ((b & 0x7F) as u64) << self.shift;
        self.shift += 7;
        if b & 0x80 != 0 {
            return Ok(None);
        }
        let v = self.varint;
        self.varint = 0;
        self.shift = 0;
        Ok(Some(v))
    }

    /// A field of the header or of a command, checked against the images.
    fn field<E>(&mut self, v: u64) -> Result<(), ApplyError<E>> {
        let size =
            |v: u64| u32::try_from(v).map_err(|_| ApplyError::Corrupt("a length over 4 GiB"));
        match self.state {
            State::NewSize => {
                self.new_size = size(v)?;
                self.state = match self.new_size {
                    0 => State::Done,
                    _ => State::Seek,
                };
            }
            State::Seek => {
                let seek = (v >> 1) as i64 ^ -((v & 1) as i64);
                let at = self.old_pos as i64 + seek;
                if at < 0 || at > self.old_size as i64 {
                    return Err(ApplyError::Corrupt("a seek outside the old image"));
                }
                self.old_pos = at as u32;
                self.state = State::AddLen;
            }
            State::AddLen => {
                self.add = size(v)?;
                if self.add > self.old_size - self.old_pos {
                    return Err(ApplyError::Corrupt("an add past the old image"));
                }
                self.state = State::CopyLen;
            }
            _ => {
                self.copy = size(v)?;
                let made = self.new_pos as u64 + self.add as u64 + self.copy as u64;
                if made > self.new_size as u64 {
                    return Err(ApplyError::Corrupt("a command past the new image"));
                }
                self.state = State::Add(self.add);
                self.after(State::Add(self.add), self.copy);
            }
        }
        Ok(())
    }
}
