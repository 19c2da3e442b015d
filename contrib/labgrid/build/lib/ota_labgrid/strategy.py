"""OtaStrategy: brings a target to `confirmed`, the board running a
release that confirmed its trial (pushing the configured one when it does not)."""

import enum

import attr
from labgrid.factory import target_factory
from labgrid.step import step
from labgrid.strategy.common import Strategy, StrategyError, never_retry


class Status(enum.Enum):
    unknown = 0
    confirmed = 1


@target_factory.reg_driver
@attr.s(eq=False)
class OtaStrategy(Strategy):
    """Args: path, app, version: what `OtaDriver.push` sends when the board
    does not run `version` confirmed already."""

    bindings = {"ota": "OtaDriver"}
    path = attr.ib(default=None)
    app = attr.ib(default=None)
    version = attr.ib(default=None)
    status = attr.ib(default=Status.unknown)

    @never_retry
    @step(args=["status"])
    def transition(self, status, *, step):
        if not isinstance(status, Status):
            status = Status[status]
        if status != Status.confirmed:
            raise StrategyError(f"can not transition to {status}")
        if status == self.status:
            step.skip("nothing to do")
            return
        self.target.activate(self.ota)
        if not self._runs_confirmed(self.ota.status()):
            done = self.ota.push(path=self.path, app=self.app, version=self.version)
            result = done.get("result")
            # "started": the application runs the release and confirms it
            # itself; a board whose application confirmed says so on status.
            if result == "started":
                done = self.ota.status()
                result = "confirmed" if self._runs_confirmed(done) else "not confirmed yet"
            if result not in ("confirmed", "up-to-date"):
                raise StrategyError(f"push of {self.version or self.path} ended {result!r}: {done}")
        self.status = status

    def _runs_confirmed(self, doc):
        device = doc.get("device") or {}
        active = device.get("active") or {}
        wanted = self.version is None or active.get("version") == self.version
        return device.get("state") == "confirmed" and wanted
