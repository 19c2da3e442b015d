# Example application for ota: blinks an LED on GP15 with the pattern in
# blink.txt, and reports the version that ota installed (version.json).
import json
import time

from lib.pattern import read_pattern

try:
    from machine import Pin
except ImportError:  # running on a PC
    Pin = None


def version():
    try:
        with open("version.json") as f:
            return json.load(f).get("version", "?")
    except OSError:
        return "?"


def main():
    on_ms, off_ms = read_pattern("blink.txt")
    print("example app", version(), "blinking", on_ms, off_ms)
    if Pin is None:
        return
    led = Pin(15, Pin.OUT)
    while True:
        led.on()
        time.sleep_ms(on_ms)
        led.off()
        time.sleep_ms(off_ms)


main()
