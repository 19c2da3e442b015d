#!/usr/bin/env bash
# What a code change costs when the application image travels as a delta
# against the image the device runs, next to the same push with the image
# whole (--no-delta): blink with one function changed (Pattern::parse also
# refuses times of 7n + 3 ms: a few instructions more, so that LTO moves
# what is linked after it), and the project `ota new` writes with one line
# changed (its loop counter wraps at 1000: a division more). Each pair is built twice from one folder with the release profile
# of firmware-agent/pico (so the builds differ only by the change), the
# first build pushed with its files to a simulated Pico W, then the second
# pushed over it from the same flash both ways, on `sim:FILE?model=pico-w`.
# Prints one line a case; measures, never fails on a figure.
# Needs the thumbv6m-none-eabi target (the firmware's toolchain).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cargo build --quiet --locked
ota="$root/target/debug/ota"
# The firmware's target folder: the dependencies are built there already.
target="$root/firmware-agent/pico/target"
out="$target/thumbv6m-none-eabi/release"
build() { # folder, bin name, where to copy the ELF
    (cd "$1" && CARGO_TARGET_DIR="$target" cargo build --quiet --release --target thumbv6m-none-eabi --bin "$2")
    cp "$out/$2" "$3"
}

# blink, outside the firmware workspace under a name of its own.
b="$tmp/blink"
cp -r examples/blink "$b"
sed -i -e '/^workspace = /d' -e 's#"../../firmware-agent/app"#"'"$root"'/firmware-agent/app"#' \
    -e 's#^name = "ota-blink"$#name = "ota-delta-blink"#' "$b/Cargo.toml"
printf '\n[workspace]\n\n[profile.release]\nopt-level = "s"\nlto = "fat"\ncodegen-units = 1\ndebug = 2\npanic = "abort"\n' >>"$b/Cargo.toml"
cp firmware-agent/pico/Cargo.lock "$b/"
build "$b" ota-delta-blink "$tmp/blink-1.elf"
sed -i 's/(1..=60_000).contains(&ms) ||/(1..=60_000).contains(\&ms) || ms % 7 == 3 ||/' "$b/src/pattern.rs"
grep -q 'ms % 7 == 3' "$b/src/pattern.rs"
build "$b" ota-delta-blink "$tmp/blink-2.elf"

# The template of `ota new`, its loop counting by two.
(cd "$tmp" && "$ota" new ota-delta-template --ota-app "$root/firmware-agent/app" >/dev/null 2>&1)
t="$tmp/ota-delta-template"
build "$t" ota-delta-template "$tmp/template-1.elf"
sed -i 's/n = n.wrapping_add(1);/n = n.wrapping_add(1) % 1000;/' "$t/src/main.rs"
grep -q 'wrapping_add(1) % 1000' "$t/src/main.rs"
build "$t" ota-delta-template "$tmp/template-2.elf"

measure() { # case, first ELF, second ELF
    local d="$tmp/$1"
    mkdir -p "$d/files"
    echo "100,400" >"$d/files/blink.txt"
    cd "$d"
    export OTA_CACHE_DIR="$d/cache"
    "$ota" --port sim:a.img push --dir files --app "$2" --version v1 --boots 0 >/dev/null 2>&1
    cp a.img b.img
    "$ota" --json --port 'sim:a.img?model=pico-w' push --dir files --app "$3" --version v2 --boots 0 >delta.json
    "$ota" --json --port 'sim:b.img?model=pico-w' push --dir files --app "$3" --version v2 --boots 0 --no-delta >whole.json
    python3 - "$1" delta.json whole.json <<'PY'
import json, sys
case, delta, whole = sys.argv[1], json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
img = delta["image"]
d, w = delta["wire"], whole["wire"]
td, tw = d["board"]["seconds"], w["board"]["seconds"]
part = lambda b: f"flash {b['flash_seconds']:.3f} s, USB {b['link_seconds']:.3f} s, CPU {b['cpu_seconds']:.3f} s"
print(f"delta {case}: image {img['bytes']} B, {img['sectors_changed']} of {img['sectors']} slot sectors change; "
      f"patch {img['delta_bytes']} B ({img['delta_bytes'] / 1024:.1f} KiB); on the wire {d['bytes_out']} B, "
      f"whole {w['bytes_out']} B ({w['bytes_out'] / d['bytes_out']:.1f}x); modeled board time {td:.3f} s "
      f"({part(d['board'])}), whole {tw:.3f} s ({part(w['board'])}): {tw / td:.2f}x")
PY
    cd "$root"
}
measure blink-one-function "$tmp/blink-1.elf" "$tmp/blink-2.elf"
measure template-one-line "$tmp/template-1.elf" "$tmp/template-2.elf"
