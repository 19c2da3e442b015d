# A MicroPython board on a computer: the MicroPython unix port with the
# folder OTA_BOARD_ROOT as its whole filesystem, running boot.py and main.py
# as a board does at each boot, then its REPL (`micropython -i` this file).
# `ota agent sim --micropython` and the tests run it; whatever ota and the
# board's programs write through the board's filesystem stays in that
# folder (the interpreter's own modules, os.system and the like still reach
# the computer: it is no security boundary).
#
# machine.soft_reset() runs boot.py and main.py again in the same
# interpreter, as a board's soft reset does.
#
# For the tests: OTA_BOARD_FREE_BLOCKS reports a small filesystem,
# OTA_CUT_POINT cuts the power at the n-th filesystem change of a switch,
# OTA_BOARD_NO_SHA1 makes a board whose hashlib has SHA-256 only, and
# OTA_BOARD_MCU one that tells a soft reset as a microcontroller does.
import os, sys


class Sandbox:
    # The sandbox folder as the board's whole filesystem. VfsPosix with a
    # root joins both of rename's paths in one buffer (both become the
    # second), so rename passes the first one relative to the process's
    # folder, which stays the sandbox's root.
    def __init__(self, root):
        self.v = os.VfsPosix(root)
        self.cwd = "/"
    def mount(self, readonly, mkfs):
        pass
    def umount(self):
        pass
    def open(self, p, m):
        return self.v.open(p, m)
    def ilistdir(self, p):
        return self.v.ilistdir(p)
    def mkdir(self, p):
        return self.v.mkdir(p)
    def rmdir(self, p):
        return self.v.rmdir(p)
    def remove(self, p):
        return self.v.remove(p)
    def stat(self, p):
        return self.v.stat(p)
    def statvfs(self, p):
        v = self.v.statvfs(p)
        if free:
            # A small board: its filesystem's blocks, as littlefs reports them.
            n = int(free)
            return (v[0], v[1], n * 4, n, n, v[5], v[6], v[7], v[8], v[9])
        return v
    def chdir(self, p):
        self.cwd = p
    def getcwd(self):
        return self.cwd
    def rename(self, a, b):
        return self.v.rename(a.lstrip("/"), b)


root = os.getenv("OTA_BOARD_ROOT")
free = os.getenv("OTA_BOARD_FREE_BLOCKS")
os.umount("/")
os.mount(Sandbox(root), "/")
os.chdir("/")
sys.path[:] = ["", ".frozen", "/lib"]
if os.getenv("OTA_BOARD_NO_SHA1"):
    import hashlib

    class Sha256Only:
        sha256 = hashlib.sha256

    sys.modules["hashlib"] = Sha256Only
cut = os.getenv("OTA_CUT_POINT")
if cut:
    import builtins
    left = [int(cut)]
    def ota_fault_point():
        left[0] -= 1
        if left[0] == 0:
            os.system("kill -9 $PPID")
    builtins.ota_fault_point = ota_fault_point


def run_scripts():
    for script in ("boot.py", "main.py"):
        try:
            os.stat(script)
        except OSError:
            continue
        exec(open(script).read(), {"__name__": "__main__"})


# A microcontroller's uptime: time.ticks_ms() from zero at each start of
# the interpreter (the unix port's counts from the computer's boot), and no
# process environment; its first soft reset comes after the program ran
# 2 s, the next ones at once.
mcu = os.getenv("OTA_BOARD_MCU")
ran = [0]
if mcu:
    import time as real_time

    started = real_time.ticks_ms()

    # The board's programs import these over this file's own names (the
    # REPL's namespace is this file's): each keeps the module it stands for.
    class Clock:
        def __init__(self, real):
            self.real = real

        def __getattr__(self, name):
            return getattr(self.real, name)

        def ticks_ms(self):
            t = self.real
            return (t.ticks_diff(t.ticks_ms(), started) + ran[0]) & 0x3FFFFFFF

    class Os:
        def __init__(self, real):
            self.real = real

        def __getattr__(self, name):
            if name in ("getenv", "putenv", "unsetenv"):
                raise AttributeError(name)
            return getattr(self.real, name)

    sys.modules["time"] = Clock(real_time)
    sys.modules["os"] = Os(os)


class Machine:
    # The board's machine module, with the soft reset a board has: boot.py
    # and main.py run again in the same interpreter (what the unix port's
    # own machine.soft_reset() does instead is end the interpreter: here,
    # a real reset). A reset, the process ending, is sys.exit().
    def __init__(self, real):
        self.real = real

    def __getattr__(self, name):
        return getattr(self.real, name)

    def soft_reset(self):
        ran[0] = max(ran[0], 2000)
        try:
            run_scripts()
        except Exception as e:
            sys.print_exception(e)


import machine

sys.modules["machine"] = Machine(machine)
run_scripts()
