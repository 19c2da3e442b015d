"""OtaDriver: runs `ota --port PORT --json ...` for the board behind the
bound serial port and returns ota's JSON document as a dict; a non-zero
exit raises OtaError with ota's own message."""

import json
import shutil
import subprocess

import attr
from labgrid.driver.common import Driver
from labgrid.factory import target_factory
from labgrid.resource import NetworkSerialPort
from labgrid.step import step


class OtaError(Exception):
    """ota exited non-zero: `message` is what it said, `code` its exit code
    (see ota's documentation of exit codes), `document` its JSON (or None)."""

    def __init__(self, message, code, document=None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.document = document


def port_of(resource):
    """ota's --port (and --serial) arguments for a labgrid serial resource."""
    if isinstance(resource, NetworkSerialPort):
        if resource.protocol == "raw":
            return ["--port", f"tcp:{resource.host}:{resource.port}"]
        if resource.protocol == "rfc2217":
            return ["--port", f"rfc2217://{resource.host}:{resource.port}"]
        raise ValueError(
            f"NetworkSerialPort {resource.name}: protocol {resource.protocol!r}; "
            "expected 'raw' or 'rfc2217'"
        )
    # USBSerialPort: the board is followed by its USB serial number, which
    # survives the reboot into the agent and re-enumeration.
    device = getattr(resource, "device", None)
    serial = device.properties.get("ID_SERIAL_SHORT") if device is not None else None
    if serial:
        return ["--serial", serial]
    if resource.port:
        return ["--port", resource.port]
    raise ValueError(f"USBSerialPort {resource.name}: no device matched")


@target_factory.reg_driver
@attr.s(eq=False)
class OtaDriver(Driver):
    """Updates the board with ota.

    Args:
        ota (str): the ota executable, by path or by name on PATH
        extra_args (list): arguments given to every ota run before the command
            (for example ["--config", "lab/ota_config.json"])
        cwd (str): folder ota runs in (where it finds ota_config.json)
    """

    bindings = {"port": {"NetworkSerialPort", "USBSerialPort"}}
    ota = attr.ib(default="ota", validator=attr.validators.instance_of(str))
    extra_args = attr.ib(default=attr.Factory(list), validator=attr.validators.instance_of(list))
    cwd = attr.ib(default=None, validator=attr.validators.optional(attr.validators.instance_of(str)))

    def on_activate(self):
        if shutil.which(self.ota) is None:
            raise OtaError(f"{self.ota}: not found (set OtaDriver's `ota` to its path)", 127)

    def run(self, *args):
        """`ota PORT --json ARGS...`: its JSON document, or OtaError."""
        cmd = [self.ota, *port_of(self.port), "--json", *self.extra_args, *args]
        self.logger.debug("running %s", " ".join(cmd))
        done = subprocess.run(cmd, cwd=self.cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        try:
            document = json.loads(done.stdout) if done.stdout.strip() else None
        except ValueError:
            document = None
        if done.returncode != 0:
            said = document.get("error") if isinstance(document, dict) else None
            message = said or done.stderr.strip() or f"ota exited with {done.returncode}"
            raise OtaError(message, done.returncode, document)
        if not isinstance(document, dict):
            raise OtaError(f"ota printed no JSON document: {done.stdout[:200]!r}", 0)
        return document

    @Driver.check_active
    @step(args=["path", "app", "version", "boots"])
    def push(self, path=None, app=None, version=None, boots=None):
        """Pushes the folder `path` (without it: the source ota's
        configuration names), the application ELF `app`, as `version`,
        with `boots` trial boots."""
        args = ["push"]
        for flag, value in (("--dir", path), ("--app", app), ("--version", version), ("--boots", boots)):
            if value is not None:
                args += [flag, str(value)]
        return self.run(*args)

    @Driver.check_active
    @step()
    def status(self):
        return self.run("status")

    @Driver.check_active
    @step()
    def rollback(self):
        return self.run("rollback")
