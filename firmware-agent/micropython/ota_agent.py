# The ota agent for stock MicroPython boards: ota's own protocol (COBS
# frames with a CRC-32, postcard bodies; see firmware-agent/protocol) over
# the raw REPL's stdin and stdout. ota keeps this file (after ota_boot.py,
# in one namespace with it: the host drops the `ota_boot.` prefixes, and
# comments) on the board as /.ota/agent.py, runs it at the start of each
# session and calls main(); it ends when ota says bye, or resets the board
# when asked to reboot.
#
# Nothing outside /.ota/stage/ is written before Commit, and Commit switches
# only when every file of the new tree is staged and hashed again after it
# was written.
import sys
import os
import binascii
import hashlib
import micropython

AGENT = "0.1.0"
MAJOR, MINOR = 1, 5
MAX_CHUNK = 4096
MAX_ENTRIES = 1024
MAX_PATH = 120
HAVE_SHA1 = hasattr(hashlib, "sha1")

# The protocol's numbers (docs/protocol.md), held equal to the Rust ones by
# tests/protocol_constants.rs. Requests this agent takes:
HELLO, LIST_FILES, BEGIN, ENTRY, DATA, QUERY, COMMIT, REBOOT = 0, 1, 2, 3, 4, 5, 6, 7
CONFIRM, ROLLBACK, ABORT = 8, 9, 10
ROLLBACK_TRIAL = 14
# Replies:
INFO, FILE, LIST_END, READY, NEED, ACK, FILE_DONE, COMMITTED, DONE, ERROR = 0, 1, 2, 3, 4, 5, 6, 7, 8, 9
# Error codes (ErrorCode):
E_UNSUPPORTED_VERSION, E_MALFORMED, E_BAD_STATE, E_BAD_PATH, E_DUPLICATE_PATH = 0, 1, 2, 3, 4
E_TOO_MANY_ENTRIES, E_NO_SPACE, E_BAD_ENTRY, E_HASH_MISMATCH, E_READBACK_MISMATCH = 5, 6, 7, 8, 9
E_FLASH, E_NO_PREVIOUS, E_NOT_TRIAL = 10, 11, 12


class Refused(Exception):
    def __init__(self, code, detail, entry=None):
        self.code, self.detail, self.entry = code, detail, entry


class In:
    """Reads postcard values."""

    def __init__(self, b):
        self.b, self.i = b, 0

    def u8(self):
        v = self.b[self.i]
        self.i += 1
        return v

    def var(self):
        v = sh = 0
        while True:
            x = self.u8()
            v |= (x & 0x7F) << sh
            if x < 0x80:
                return v
            sh += 7

    def raw(self, n):
        v = self.b[self.i : self.i + n]
        if len(v) != n:
            raise IndexError
        self.i += n
        return v

    def bytes(self):
        return self.raw(self.var())

    def str(self):
        return str(bytes(self.bytes()), "utf-8")

    def opt(self, f, *a):
        return f(*a) if self.u8() else None


class Out:
    """Writes postcard values."""

    def __init__(self, tag):
        self.b = bytearray()
        self.var(tag)

    def u8(self, v):
        self.b.append(v)
        return self

    def var(self, v):
        while v >= 0x80:
            self.b.append((v & 0x7F) | 0x80)
            v >>= 7
        self.b.append(v)
        return self

    def raw(self, v):
        self.b.extend(v)
        return self

    def str(self, s):
        s = s.encode() if isinstance(s, str) else s
        return self.var(len(s)).raw(s)

    def opt(self, v, f):
        if v is None:
            return self.u8(0)
        self.u8(1)
        return f(v)


def cobs(data):
    out = bytearray(b"\x00\x00")
    at, code = 1, 1
    for b in data:
        if b:
            out.append(b)
            code += 1
        if not b or code == 0xFF:
            out[at] = code
            at, code = len(out), 1
            out.append(0)
    out[at] = code
    out.append(0)
    return out


def crc(b):
    return binascii.crc32(b) & 0xFFFFFFFF


class Link:
    """Frames on stdin and stdout. A COBS code byte says how many bytes
    follow it, so a frame is read in blocks without waiting for bytes that
    belong to the next one."""

    def __init__(self):
        self.inp = sys.stdin.buffer
        self.out = sys.stdout.buffer
        self.pend = b""

    def read(self, n):
        if self.pend:
            v, self.pend = self.pend[:n], self.pend[n:]
            if len(v) < n:
                v += self.inp.read(n - len(v))
            return v
        return self.inp.read(n)

    def frame(self):
        """The next frame's decoded bytes (CRC not checked yet)."""
        while True:
            c = self.read(1)
            if not c:
                raise EOFError
            c = c[0]
            if c == 0:
                continue
            body = bytearray()
            while True:
                blk = self.read(c - 1) if c > 1 else b""
                z = blk.find(b"\x00") if blk else -1
                if z >= 0:  # a delimiter inside a block: lost bytes; start over there
                    self.pend = blk[z:] + self.pend
                    body = None
                    break
                body.extend(blk)
                n = self.read(1)
                if not n:
                    raise EOFError
                if n[0] == 0:
                    break
                if c != 0xFF:
                    body.append(0)
                c = n[0]
            if body is not None:
                return body

    def send(self, out):
        b = out.b
        b.extend(crc(b).to_bytes(4, "little"))
        self.out.write(cobs(b))


def git_hasher(size):
    if HAVE_SHA1:
        h = hashlib.sha1()
        h.update(b"blob %d\x00" % size)
        return h
    return hashlib.sha256()


def want_of(e):
    return e["sha1"] if HAVE_SHA1 else e["sha256"]


def urandom(n):
    # Not every port has os.urandom: a SHA-256 of the clock and of where the
    # heap put a new object is enough for ids that only need to differ.
    try:
        return os.urandom(n)
    except (AttributeError, OSError):
        import time

        t = time.ticks_us() if hasattr(time, "ticks_us") else time.time()
        seed = repr((t, id(object()), sys.implementation.version)).encode()
        return hashlib.sha256(seed).digest()[:n]


def hash_file(path, size):
    h = git_hasher(size)
    buf = bytearray(1024)
    n = 0
    with open(path, "rb") as f:
        while True:
            k = f.readinto(buf)
            if not k:
                break
            h.update(buf[:k] if k < len(buf) else buf)
            n += k
    return h.digest() if n == size else None


def recorded(f):
    # The hash this board checks a file of the journal with (None: not kept).
    h = f[1] if HAVE_SHA1 else f[2]
    return binascii.unhexlify(h) if h and h != "0" * 40 else None


def drifted(tree):
    """The paths of `tree` whose file on the board is missing, has another
    size, or (same size) another hash: changed outside ota (mpremote, an
    editor). Each file is read once per session (see Agent.drift)."""
    out = []
    for p, f in ota_boot.files_of(tree).items():
        here = ota_boot.board_path(p)
        try:
            if os.stat(here)[6] != f[0]:
                out.append(p)
                continue
        except OSError:
            out.append(p)
            continue
        want = recorded(f)
        if want is not None and hash_file(here, f[0]) != want:
            out.append(p)
    return sorted(out)


def describe(impl, st, changed):
    # Info's agent_version: what the board is, then facts ota status shows.
    words = ["micropython " + impl, "agent " + AGENT, "sha1" if HAVE_SHA1 else "sha256"]
    try:
        with open("/boot.py") as f:
            hooked = f.read(len(ota_boot.HOOK_LINE)) == ota_boot.HOOK_LINE
    except OSError:
        hooked = False
    words.append("hook" if hooked else "no hook")
    words.append("own boot.py" if ota_boot.exists(ota_boot.USER_BOOT) else "no own boot.py")
    if changed:
        words.append("changed " + " ".join(changed[:8]) + (" ..." if len(changed) > 8 else ""))
    return ", ".join(words)


def check_path(p):
    if not p or len(p) > MAX_PATH or p[0] == "/" or "\\" in p or p[-1] == "/":
        return False
    for seg in p.split("/"):
        if seg in ("", ".", ".."):
            return False
    return not (p.startswith(".ota/") or p == ".ota" or p == "lib/ota_boot.py" or p == "version.json")


class Agent:
    def __init__(self, boot_src):
        self.boot_src = boot_src
        self.link = Link()
        self.sess = None
        self.cur = None
        self.changed = None
        # push --keep-local: files changed outside ota stay as they are.
        self.keep = False
        self.id = self.device_id()
        # Info's boot_id: each start of this agent draws a new one, so ota
        # knows a board that still answers with it never took its Reboot.
        self.boot_id = int.from_bytes(urandom(4), "little") or 1

    def device_id(self):
        try:
            import machine

            return bytes(machine.unique_id()[:8]) + bytes(8 - len(machine.unique_id()[:8]))
        except Exception:
            pass
        p = ota_boot.OTA + "/id"
        try:
            with open(p, "rb") as f:
                v = f.read()
            if len(v) == 8:
                return v
        except OSError:
            pass
        v = urandom(8)
        ota_boot.makedirs(ota_boot.OTA)
        ota_boot.write_atomic(p, v)
        return v

    def reply(self, out):
        self.link.send(out)

    def drift(self, st):
        """The active tree's files changed outside ota, when that tree stays
        in place (a trial tree is rolled back before a switch); worked out
        once per session, and again after ota itself changed the files."""
        if st["state"] == "trial" and st["previous"]:
            return []
        if self.changed is None:
            self.changed = drifted(st["active"])
        return self.changed

    def run(self):
        while True:
            body = self.link.frame()
            if body == b"\x00":  # bye: the host is done
                return
            if body == b"\x00\x00\x00":  # bye, and ota will soft-reset the board to restart its program
                ota_boot.makedirs(ota_boot.OTA)
                open(ota_boot.SOFT, "w").close()
                return
            if body == b"\x00\x00\x00\x00":  # the next update keeps what changed outside ota
                self.keep = True
                continue
            if body == b"\x00\x00":  # ping: is an agent still running here?
                self.link.out.write(b"OTA-PONG\r\n")
                continue
            if len(body) <= 4 or crc(body[:-4]) != int.from_bytes(body[-4:], "little"):
                continue
            req = In(memoryview(body)[:-4])
            try:
                if self.handle(req):
                    return "reboot"
            except Refused as e:
                o = Out(ERROR).var(e.code)
                o.opt(e.entry, o.var)
                self.reply(o.str(e.detail))
            except (IndexError, ValueError, UnicodeError):
                self.reply(Out(ERROR).var(E_MALFORMED).u8(0).str("malformed message"))
            except OSError as e:
                self.reply(Out(ERROR).var(E_FLASH).u8(0).str("filesystem error: " + repr(e)))

    def handle(self, r):
        tag = r.var()
        if tag == HELLO:
            major = r.var()
            r.var()
            if major != MAJOR:
                raise Refused(E_UNSUPPORTED_VERSION, "agent speaks protocol 1.x; update ota")
            self.info()
        elif tag == LIST_FILES:
            self.list_files(r.var())
        elif tag == BEGIN:
            self.begin(r)
        elif tag == ENTRY:
            self.entry(r)
        elif tag == DATA:
            entry, offset = r.var(), r.var()
            self.data(entry, offset, r.bytes())
        elif tag == QUERY:
            self.query(r.var())
        elif tag == COMMIT:
            self.commit(r.u8())
        elif tag == REBOOT:
            self.reply(Out(DONE))
            return True
        elif tag == CONFIRM:
            if not ota_boot.confirm(False) and ota_boot.load()["state"] == "empty":
                raise Refused(E_NOT_TRIAL, "active tree is not in trial")
            self.reply(Out(DONE))
        elif tag == ROLLBACK:
            self.rollback()
        elif tag == ROLLBACK_TRIAL:
            self.rollback_trial(r.u8())
        elif tag == ABORT:
            self.drop()
            self.reply(Out(DONE))
        else:
            raise Refused(E_BAD_STATE, "this MicroPython agent does not take release keys")
        return False

    # --- what the board holds -------------------------------------------

    def info(self):
        st = ota_boot.load()
        v = os.statvfs("/")
        o = Out(INFO).var(MAJOR).var(MINOR)
        impl = ".".join(str(x) for x in sys.implementation.version[:3])
        o.str(describe(impl, st, self.drift(st)))
        o.raw(self.id).var(v[0]).var(v[2]).var(v[4])
        o.var(MAX_ENTRIES).var(MAX_PATH).var(MAX_CHUNK)
        if st["active"] is None:
            o.var(0)
        elif st["state"] == "trial":
            o.var(2).u8(max(0, min(255, st["boots"])))
        elif st["state"] == "failed":
            o.var(3)
        else:
            o.var(1)
        for t in (st["active"], st["previous"]):
            o.opt(t, lambda t: o.str(t["version"]).str(t["ref"]).str(t["commit"]).var(len(t["files"])).var(sum(f[0] for f in t["files"].values())))
        o.opt(self.sess and self.sess["id"], o.var)
        o.u8(0)
        # No application slot on a MicroPython board: AppSlot::Empty, ImageState::None;
        # the trial history its journal keeps (boots given, boots failed; a
        # failed tree rolled back from is gone), and no previous-only sectors.
        o.var(0).var(0)
        byte = lambda n: o.u8(max(0, min(254, n)))
        o.opt(st.get("given") if st["state"] == "trial" else None, byte)
        o.opt(st.get("failed") if st["state"] == "failed" else None, byte)
        o.u8(0).var(0)
        # No release keys here, so no security version and no key changes.
        o.var(0).var(0)
        o.var(self.boot_id)
        self.reply(o)

    def list_files(self, which):
        st = ota_boot.load()
        t = st["active"] if which == 0 else st["previous"]
        files = ota_boot.files_of(t)
        for i, p in enumerate(sorted(files)):
            size, sha1, sha256 = files[p]
            o = Out(FILE).var(i).str(p).var(size).raw(binascii.unhexlify(sha1))
            o.opt(sha256, lambda h: o.raw(binascii.unhexlify(h)))
            self.reply(o)
        self.reply(Out(LIST_END).var(len(files)))

    # --- an update ------------------------------------------------------

    def drop(self):
        if self.cur:
            self.cur["f"].close()
        self.sess = self.cur = None

    def begin(self, r):
        self.drop()
        sid, entries, total = r.var(), r.var(), r.var()
        version, ref, commit = r.str(), r.str(), r.str()
        post, back = r.opt(r.str), r.opt(r.str)
        r.opt(r.raw, 64)  # a signature: this agent holds no release keys
        if entries > MAX_ENTRIES:
            raise Refused(E_TOO_MANY_ENTRIES, "too many files")
        for h in (post, back):
            if h is not None and not check_path(h):
                raise Refused(E_BAD_PATH, "invalid hook path " + h)
        v = os.statvfs("/")
        if total > v[0] * v[2]:
            raise Refused(E_NO_SPACE, "the tree is larger than the board's filesystem")
        ota_boot.rmtree(ota_boot.STAGE)
        st = ota_boot.load()
        drift = set(self.drift(st))
        left = drift if self.keep else set()
        if self.keep:
            drift = set()
        held = {}
        for t, kept in ((st["previous"], True), (st["active"], False)):
            for p, f in ota_boot.files_of(t).items():
                here = ota_boot.board_path(p)
                if kept and ota_boot.exists(ota_boot.PREV + "/" + p):
                    here = ota_boot.PREV + "/" + p
                elif p in drift or p in left:
                    continue  # what is there now is not what the tree says
                held[(f[1], f[0])] = here
        # The tree the switch starts from: a trial tree is rolled back first.
        base = st["previous"] if st["state"] == "trial" and st["previous"] else st["active"]
        self.sess = {
            "id": sid, "entries": entries, "declared": 0, "files": {}, "order": [],
            "need": set(), "done": set(), "copy": {}, "active": ota_boot.files_of(base),
            "held": held, "drift": drift, "kept": left, "blocks": 0, "bsize": v[0], "free": v[4],
            "tree": {"version": version, "ref": ref, "commit": commit, "post_update": post, "rollback": back},
        }
        self.reply(Out(READY).var(sid))

    def entry(self, r):
        s = self.sess
        index = r.var()
        if s is None:
            raise Refused(E_BAD_STATE, "no update in progress", index)
        path, size = r.str(), r.var()
        sha1 = bytes(r.raw(20))
        sha256 = r.opt(r.raw, 32)
        sha256 = bytes(sha256) if sha256 is not None else None
        if index != s["declared"] or index >= s["entries"]:
            raise Refused(E_BAD_ENTRY, "entry out of order", index)
        if not check_path(path):
            raise Refused(E_BAD_PATH, "invalid path " + path, index)
        if path in s["files"]:
            raise Refused(E_DUPLICATE_PATH, "duplicate path " + path, index)
        if not HAVE_SHA1 and sha256 is None:
            raise Refused(E_HASH_MISMATCH, "this board's hashlib has no SHA-1: it needs each file's SHA-256 (update ota: it sends them for every source)", index)
        rec = [size, binascii.hexlify(sha1).decode(), binascii.hexlify(sha256).decode() if sha256 else None]
        e = {"index": index, "path": path, "size": size, "sha1": sha1, "sha256": sha256, "rec": rec}
        need = False
        if path in s["kept"]:
            pass  # changed outside ota, and left so: the tree's is not written
        elif ota_boot.same(s["active"].get(path), rec) and path not in s["drift"]:
            pass  # unchanged where it is
        elif size == 0:
            if git_hasher(0).digest() != want_of(e):
                raise Refused(E_HASH_MISMATCH, path + ": an empty file with a non-empty hash", index)
            s["copy"][index] = None
        elif (rec[1], size) in s["held"]:
            s["copy"][index] = s["held"][(rec[1], size)]
        else:
            need = True
        if need or index in s["copy"]:
            # Room for the staged copy, checked before any of it is written.
            s["blocks"] += (size + s["bsize"] - 1) // s["bsize"] + 1
            if s["blocks"] + 4 > s["free"]:
                raise Refused(E_NO_SPACE, "not enough free space on the board for " + path, index)
        if need:
            s["need"].add(index)
        s["files"][path] = rec
        s["order"].append(e)
        s["declared"] += 1
        self.reply(Out(NEED).var(index).u8(1 if need else 0))

    def data(self, index, offset, b):
        s = self.sess
        if s is None or s["declared"] != s["entries"]:
            raise Refused(E_BAD_STATE, "data before the tree is declared", index)
        if index >= s["declared"]:
            raise Refused(E_BAD_ENTRY, "no such entry", index)
        e = s["order"][index]
        if index in s["done"] or index not in s["need"]:
            return self.reply(Out(ACK).var(index).var(e["size"]))
        c = self.cur
        if c is None or c["index"] != index:
            if offset != 0:
                return self.reply(Out(ACK).var(index).var(0))
            if c:
                c["f"].close()
            stage = ota_boot.STAGE + "/" + e["path"]
            ota_boot.makedirs(ota_boot.parent(stage))
            c = self.cur = {"index": index, "pos": 0, "h": git_hasher(e["size"]), "f": open(stage, "wb"), "stage": stage}
        if offset != c["pos"]:
            return self.reply(Out(ACK).var(index).var(c["pos"]))
        if offset + len(b) > e["size"]:
            self.drop_current()
            raise Refused(E_BAD_ENTRY, "data past the end of " + e["path"], index)
        c["h"].update(b)
        c["f"].write(b)
        c["pos"] += len(b)
        if c["pos"] < e["size"]:
            return self.reply(Out(ACK).var(index).var(c["pos"]))
        c["f"].close()
        self.cur = None
        if c["h"].digest() != want_of(e):
            os.remove(c["stage"])
            raise Refused(E_HASH_MISMATCH, "hash mismatch", index)
        if hash_file(c["stage"], e["size"]) != want_of(e):
            os.remove(c["stage"])
            raise Refused(E_READBACK_MISMATCH, "read back from the filesystem, the file does not hash as it should", index)
        s["done"].add(index)
        self.reply(Out(ACK).var(index).var(e["size"]))
        self.reply(Out(FILE_DONE).var(index))

    def drop_current(self):
        if self.cur:
            self.cur["f"].close()
            self.cur = None

    def query(self, index):
        s = self.sess
        if s is None or index >= s["declared"]:
            raise Refused(E_BAD_STATE, "no such entry in progress", index)
        e = s["order"][index]
        if index in s["done"] or index not in s["need"]:
            self.reply(Out(ACK).var(index).var(e["size"]))
            return self.reply(Out(FILE_DONE).var(index))
        at = self.cur["pos"] if self.cur and self.cur["index"] == index else 0
        self.reply(Out(ACK).var(index).var(at))

    def commit(self, boots):
        s = self.sess
        if s is None or s["declared"] != s["entries"] or not s["need"].issubset(s["done"]):
            raise Refused(E_BAD_STATE, "commit before every file is written and verified")
        for index, src in s["copy"].items():
            e = s["order"][index]
            stage = ota_boot.STAGE + "/" + e["path"]
            ota_boot.makedirs(ota_boot.parent(stage))
            copy(src, stage)
            if hash_file(stage, e["size"]) != want_of(e):
                raise Refused(E_READBACK_MISMATCH, e["path"] + ": the copy made on the board does not hash as it should", index)
        ota_boot.install(self.boot_src)
        tree = s["tree"]
        tree["files"] = s["files"]
        self.sess = None
        st = ota_boot.load()
        for p in s["drift"]:
            # What the board holds there is not the active tree's file: the
            # switch puts it aside (a rollback brings it back) and puts the
            # new tree's in place.
            here = ota_boot.board_path(p)
            try:
                size = os.stat(here)[6]
                h = binascii.hexlify(hash_file(here, size)).decode()
            except (OSError, TypeError):
                size, h = 0, None
            rec = [size, h, None] if HAVE_SHA1 else [size, None, h]
            st["active"]["files"][p] = [rec[0], rec[1] or "0" * 40, rec[2]]
        for p in s["kept"]:
            # Left as it is: the switch passes over it (the new tree's record
            # says what the tree holds, so it stays seen as changed).
            if p in tree["files"]:
                st["active"]["files"][p] = tree["files"][p]
            else:
                st["active"]["files"].pop(p, None)
        ota_boot.switch(st, tree, boots)
        self.changed = None
        self.reply(Out(COMMITTED).u8(boots))

    def rollback(self):
        if self.sess is not None:
            raise Refused(E_BAD_STATE, "an update is in progress")
        st = ota_boot.load()
        if not st["previous"]:
            raise Refused(E_NO_PREVIOUS, "no previous tree")
        ota_boot.rollback(st)
        self.changed = None
        self.reply(Out(DONE))

    def rollback_trial(self, boots):
        # The one RollbackTrial a board without history needs: a tree that
        # failed its trial with nothing before it goes into a new trial.
        if self.sess is not None:
            raise Refused(E_BAD_STATE, "an update is in progress")
        if not ota_boot.retry(boots):
            raise Refused(E_BAD_STATE, "only a tree that failed its trial with no previous tree can be tried again here")
        self.reply(Out(DONE))


def copy(src, dst):
    buf = bytearray(1024)
    with open(dst, "wb") as out:
        if src is None:
            return
        with open(src, "rb") as f:
            while True:
                k = f.readinto(buf)
                if not k:
                    break
                out.write(buf[:k] if k < len(buf) else buf)


def main(boot_len):
    # The board keeps this program as /.ota/agent.py; its first boot_len
    # bytes are ota_boot.py, the module installed as /lib/ota_boot.py.
    with open(ota_boot.OTA + "/agent.py", "rb") as f:
        boot_src = f.read(boot_len)
    micropython.kbd_intr(-1)
    try:
        agent = Agent(boot_src)
        sys.stdout.buffer.write(b"OTA-AGENT-READY\r\n")
        outcome = agent.run()
    finally:
        micropython.kbd_intr(3)
    if outcome == "reboot":
        try:
            import machine

            machine.reset()
        except (ImportError, AttributeError):
            sys.exit(0)  # the unix port: the process ending is the board's reset
