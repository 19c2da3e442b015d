# Reads a blink pattern "ON_MS,OFF_MS" from a file, with a safe default.


def read_pattern(path, default=(500, 500)):
    try:
        with open(path) as f:
            on_ms, off_ms = f.read().strip().split(",")
            return int(on_ms), int(off_ms)
    except (OSError, ValueError):
        return default
