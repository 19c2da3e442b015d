"""An RFC 2217 server made of pyserial's own PortManager, in front of a
serial port (here a pseudo-terminal of `ota agent sim --pty`), as a lab
host serves its boards. One client at a time. Driven by tests/rfc2217.rs.

Usage: pyserial_bridge.py TTY   (prints the TCP port it listens on)

A pseudo-terminal has no modem lines: DTR and RTS requests are taken and
dropped, and CTS, DSR and CD read as up, as on a USB CDC port.
"""

import socket
import sys
import threading

import serial
import serial.rfc2217


class NoModemLines(serial.Serial):
    def _update_dtr_state(self):
        pass

    def _update_rts_state(self):
        pass

    cts = dsr = cd = property(lambda self: True)
    ri = property(lambda self: False)


class Connection:
    """The socket as PortManager writes to it: from two threads at once."""

    def __init__(self, sock):
        self.sock = sock
        self.lock = threading.Lock()

    def write(self, data):
        with self.lock:
            self.sock.sendall(data)


def pump_serial(port, manager, conn, stop):
    while not stop.is_set():
        data = port.read(port.in_waiting or 1)
        if data:
            try:
                conn.write(b"".join(manager.escape(data)))
            except OSError:
                break


def serve(port, sock):
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conn = Connection(sock)
    manager = serial.rfc2217.PortManager(port, conn)
    stop = threading.Event()
    reader = threading.Thread(target=pump_serial, args=(port, manager, conn, stop))
    reader.start()
    try:
        while True:
            data = sock.recv(4096)
            if not data:
                break
            port.write(b"".join(manager.filter(data)))
    except OSError:
        pass
    finally:
        stop.set()
        reader.join()
        sock.close()


def main():
    port = NoModemLines(sys.argv[1], 115200, timeout=0.05)
    listener = socket.create_server(("127.0.0.1", 0))
    print(listener.getsockname()[1], flush=True)
    while True:
        conn, _ = listener.accept()
        serve(port, conn)


main()
