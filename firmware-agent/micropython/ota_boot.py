# ota on a MicroPython board: the committed state and the atomic switch.
#
# ota keeps everything it needs under /.ota/: state.json (the journal: the
# active and previous trees, trial boots, and a switch or rollback under
# way), stage/ (files of an update being received) and prev/ (files of the
# previous tree that the active one replaced, kept so it can roll back).
# The journal is only ever replaced whole (write, flush, rename), and every
# step of a switch or a rollback can be done again, so the boot hook finishes
# whatever a power cut interrupted: the board always comes back with exactly
# the old tree or the new one. Files that no tree lists are never touched.
#
# The application confirms a trial tree with `import ota_boot; ota_boot.confirm()`.
#
# A trial that runs out of boots with no previous tree leaves the state
# "failed" (never "confirmed"): `ota confirm` accepts it, `ota rollback
# --force` tries it again, a push replaces it. The journal also keeps the
# boots the active tree's trial was given ("given"), the boots it failed with
# ("failed"), and, for a previous tree replaced while still in trial, the
# boots of that trial ("prev_trial"): going back to it starts a trial again.
import os
import json

OTA = "/.ota"
STATE = OTA + "/state.json"
STAGE = OTA + "/stage"
PREV = OTA + "/prev"
USER_BOOT = OTA + "/boot_user.py"
VERSION = "/version.json"
# Left by the agent when ota soft-resets the board to restart the program it
# interrupted: that reset is not a boot that counts against a trial.
SOFT = OTA + "/soft_reset"
# What the hook left at its last run during a trial: a token, the board's
# uptime then, and its uptime at the last real boot (see soft_reset_seen).
MARK = OTA + "/boot_mark"
# After a real reset the hook runs at about the same uptime each time; a
# soft reset shows as an uptime at least this much past that.
SOFT_GAP_MS = 1000
HOOK_LINE = "# ota boot hook"

try:
    # A test board defines this builtin to cut its power at the n-th filesystem change.
    cut_point = ota_fault_point  # noqa: F821
except NameError:

    def cut_point():
        pass


def exists(p):
    try:
        os.stat(p)
        return True
    except OSError:
        return False


def is_dir(p):
    try:
        return os.stat(p)[0] & 0x4000 != 0
    except OSError:
        return False


def makedirs(d):
    if not d or d == "/" or is_dir(d):
        return
    makedirs(d.rsplit("/", 1)[0])
    try:
        os.mkdir(d)
    except OSError:
        pass


def rmtree(p):
    if not exists(p):
        return
    if is_dir(p):
        for name in os.listdir(p):
            rmtree(p + "/" + name)
        cut_point()
        os.rmdir(p)
    else:
        cut_point()
        os.remove(p)


def parent(p):
    return p.rsplit("/", 1)[0]


def board_path(path):
    # The tree's boot.py is the application's own: it runs after the hook.
    if path == "boot.py":
        return USER_BOOT
    return "/" + path


def write_atomic(path, data):
    tmp = path + ".tmp"
    cut_point()
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
    cut_point()
    try:
        os.rename(tmp, path)
    except OSError:
        # A filesystem that will not rename over a file (FAT): the reader
        # falls back to the .tmp while the old one is gone.
        os.remove(path)
        os.rename(tmp, path)


def load():
    for p in (STATE, STATE + ".tmp"):
        try:
            with open(p) as f:
                return json.load(f)
        except (OSError, ValueError):
            pass
    return {"active": None, "previous": None, "state": "empty", "boots": 0, "op": None}


def save(st):
    makedirs(OTA)
    write_atomic(STATE, json.dumps(st).encode())


def same(a, b):
    return a is not None and b is not None and a[0] == b[0] and a[1] == b[1]


def files_of(tree):
    return tree["files"] if tree else {}


def write_version(tree):
    if tree is None:
        if exists(VERSION):
            os.remove(VERSION)
        return
    v = {"version": tree["version"], "ref": tree["ref"], "commit": tree["commit"]}
    write_atomic(VERSION, json.dumps(v).encode())


def move(src, dst):
    makedirs(parent(dst))
    cut_point()
    os.rename(src, dst)


def run_hook(tree, which):
    path = tree and tree.get(which)
    if not path:
        return
    try:
        with open(board_path(path)) as f:
            code = f.read()
        exec(code, {"__name__": "__ota_hook__"})
        log(which + " hook " + path + ": ok")
    except Exception as e:  # a failing hook never leaves a half-switched tree
        log(which + " hook " + path + ": " + repr(e))


def log(line):
    try:
        makedirs(OTA)
        with open(OTA + "/log.txt", "a") as f:
            f.write(line + "\n")
    except OSError:
        pass


def switch(st, target, boots):
    # A trial tree never confirmed is not one to come back to: go back to
    # the previous tree first, then switch from there.
    if st["state"] == "trial" and st["previous"]:
        st = rollback(st, hooks=False)
    rmtree(PREV)
    st["op"] = "switch"
    st["target"] = target
    st["boots"] = boots
    save(st)
    return finish(st)


def finish_switch(st):
    old = files_of(st["active"])
    target = st["target"]
    new = files_of(target)
    for p in sorted(set(old) | set(new)):
        if same(old.get(p), new.get(p)):
            continue
        here, staged, kept = board_path(p), STAGE + "/" + p, PREV + "/" + p
        if p not in new:
            if exists(here) and not exists(kept):
                move(here, kept)
        elif exists(staged):
            if exists(here) and not exists(kept):
                move(here, kept)
            move(staged, here)
    write_version(target)
    st = {
        "active": target,
        "previous": st["active"],
        "state": "trial" if st["boots"] > 0 else "confirmed",
        "boots": st["boots"],
        "given": st["boots"] if st["boots"] > 0 else None,
        "prev_trial": (st.get("given") or 1) if st["state"] in ("trial", "failed") else None,
        "op": None,
    }
    save(st)
    rmtree(STAGE)
    run_hook(target, "post_update")
    return st


def rollback(st, hooks=True):
    if hooks:
        run_hook(st["active"], "rollback")
    st["op"] = "rollback"
    save(st)
    return finish(st)


def finish_rollback(st):
    cur = files_of(st["active"])
    back = files_of(st["previous"])
    for p in sorted(set(cur) | set(back)):
        if same(cur.get(p), back.get(p)):
            continue
        here, kept = board_path(p), PREV + "/" + p
        if exists(kept):
            move(kept, here)
        elif p not in back and exists(here):
            cut_point()
            os.remove(here)
    write_version(st["previous"])
    # A tree replaced while in trial never confirmed: it comes back in trial.
    again = st.get("prev_trial")
    st = {
        "active": st["previous"],
        "previous": None,
        "state": "trial" if again else "confirmed",
        "boots": again or 0,
        "given": again,
        "op": None,
    }
    save(st)
    rmtree(PREV)
    return st


def finish(st):
    if st.get("op") == "switch":
        return finish_switch(st)
    if st.get("op") == "rollback":
        return finish_rollback(st)
    return st


def confirm(say=True):
    """Keeps the active trial tree: call it once the application runs well
    (`ota confirm` also accepts a tree that failed its trial, as it is).
    Returns False when there was nothing to confirm."""
    st = finish(load())
    if st["state"] not in ("trial", "failed"):
        return False
    st["state"] = "confirmed"
    st["boots"] = 0
    st["given"] = st["failed"] = None
    save(st)
    if say:
        # ota, waiting after the reboot, takes the REPL once it sees this.
        print("ota_boot: confirmed " + st["active"]["version"])
    return True


def retry(boots):
    """Puts a tree that failed its trial, with nothing to fall back to, into
    a new trial of `boots` boots. Returns False when it is not such a tree."""
    st = finish(load())
    if st["state"] != "failed" or st["previous"] or boots <= 0:
        return False
    st["state"] = "trial"
    st["boots"] = st["given"] = boots
    save(st)
    return True


def soft_reset_seen():
    """Whether this run of boot.py follows a soft reset (Ctrl-D, mpremote's,
    machine.soft_reset()) rather than a real boot, from what survives the one
    and not the other. The hook leaves a token where a soft reset keeps it:
    the process's environment on ports hosted by an operating system (the
    unix port: a real boot is a new process), and on a microcontroller the
    board's uptime (time.ticks_ms(), which a soft reset leaves counting and a
    power-on, reset button, watchdog or machine.reset() starts again): a soft
    reset finds it no lower than at the hook's last run, and at least
    SOFT_GAP_MS past where it was when the hook ran at the last real boot.
    Where neither can be read every run counts, as a boot. Unsure means a
    boot: a board that resets in a loop always runs out of trial boots."""
    import time

    try:
        with open(MARK) as f:
            token, at, booted = f.read().split()
        at, booted = int(at), int(booted)
    except (OSError, ValueError):
        token = at = booted = None
    mine = "%08x" % (int.from_bytes(os.urandom(4), "little") if hasattr(os, "urandom") else id(token))
    now = time.ticks_ms() & 0x3FFFFFFF if hasattr(time, "ticks_ms") else 0
    seen = False
    if hasattr(os, "putenv") and hasattr(os, "getenv"):
        seen = token is not None and os.getenv("OTA_BOOT_MARK") == token
        os.putenv("OTA_BOOT_MARK", mine)
    elif hasattr(time, "ticks_ms") and at is not None:
        seen = time.ticks_diff(now, at) >= 0 and now >= booted + SOFT_GAP_MS
    makedirs(OTA)
    with open(MARK, "w") as f:
        f.write("%s %d %d" % (mine, now, booted if seen else now))
    return seen


def boot():
    """Runs from boot.py at every boot: finishes an interrupted switch or
    rollback, spends a trial boot or rolls back (a soft reset spends none),
    then runs the board's own boot.py."""
    soft = exists(SOFT)
    if soft:
        os.remove(SOFT)
    if exists(STATE) or exists(STATE + ".tmp"):
        st = finish(load())
        if st["state"] == "trial" and not soft_reset_seen() and not soft:
            if st["boots"] <= 0 and st["previous"]:
                log("trial of " + st["active"]["version"] + " ran out of boots: rolling back")
                rollback(st)
            elif st["boots"] <= 0:
                # Nothing to go back to: failed, never taken for confirmed.
                log("trial of " + st["active"]["version"] + " ran out of boots: failed")
                st["state"] = "failed"
                st["failed"] = st.get("given") or 0
                save(st)
            else:
                st["boots"] -= 1
                save(st)
    if exists(USER_BOOT):
        with open(USER_BOOT) as f:
            code = f.read()
        exec(code, {"__name__": "__main__"})


HOOK = HOOK_LINE + """: finishes or undoes an interrupted ota update and
# counts trial boots, then runs this board's own boot.py (kept as /.ota/boot_user.py).
import ota_boot
ota_boot.boot()
"""


def install(boot_src):
    """Puts this module in /lib and the hook in /boot.py, keeping the board's own boot.py."""
    makedirs("/lib")
    mine = "/lib/ota_boot.py"
    try:
        with open(mine, "rb") as f:
            current = f.read()
    except OSError:
        current = None
    if current != boot_src:
        write_atomic(mine, boot_src)
    try:
        with open("/boot.py") as f:
            theirs = f.read()
    except OSError:
        theirs = None
    if theirs == HOOK:
        return
    makedirs(OTA)
    tmp = OTA + "/boot_hook.tmp"
    with open(tmp, "w") as f:
        f.write(HOOK)
    # A boot.py ota did not write is the board's own, however new: it is
    # kept, replacing an older copy, never overwritten.
    if theirs is not None and not theirs.startswith(HOOK_LINE):
        if exists(USER_BOOT):
            os.remove(USER_BOOT)
        os.rename("/boot.py", USER_BOOT)
    os.rename(tmp, "/boot.py")
