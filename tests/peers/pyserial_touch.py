"""The 1200-baud touch as any pyserial program does it over the network:
open rfc2217://HOST:PORT at 1200 baud, drop DTR, close. Driven by
tests/rfc2217.rs against `ota agent sim --listen --app`.

Usage: pyserial_touch.py rfc2217://HOST:PORT
"""

import sys

import serial

port = serial.serial_for_url(sys.argv[1], baudrate=1200, timeout=2)
port.dtr = False
try:
    port.close()
except OSError:
    pass  # the board reset and its port went away: that is the touch working
print("touched", flush=True)
