# A MicroPython board on a computer: the MicroPython unix port with the
# folder OTA_BOARD_ROOT as its whole filesystem, running boot.py and main.py
# as a board does at each boot, then its REPL (`micropython -i` this file).
# `ota agent sim --micropython` and the tests run it; whatever ota and the
# board's programs write through the board's filesystem stays in that
# folder (the interpreter's own modules, os.system and the like still reach
# the computer: it is no security boundary).
#
# For the tests: OTA_BOARD_FREE_BLOCKS reports a small filesystem,
# OTA_CUT_POINT cuts the power at the n-th filesystem change of a switch,
# and OTA_BOARD_NO_SHA1 makes a board whose hashlib has SHA-256 only.
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
        free = os.getenv("OTA_BOARD_FREE_BLOCKS")
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
for script in ("boot.py", "main.py"):
    try:
        os.stat(script)
    except OSError:
        continue
    exec(open(script).read(), {"__name__": "__main__"})
