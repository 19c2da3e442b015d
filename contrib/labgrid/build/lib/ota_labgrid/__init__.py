"""ota for labgrid: `OtaDriver` updates the board behind a serial port
(NetworkSerialPort or USBSerialPort) with the `ota` command line, and
`OtaStrategy` brings a target to the `confirmed` state. Importing the
package registers both with labgrid's target_factory."""

from .driver import OtaDriver, OtaError
from .strategy import OtaStrategy, Status

__all__ = ["OtaDriver", "OtaError", "OtaStrategy", "Status"]
