#!/usr/bin/env bash
# What ota-app costs an application's flash: the same small application built
# without ota-app (src/bin/without.rs) and with it (src/bin/with.rs: a file,
# the version, the trial state, feed, confirm), both with the release profile
# of firmware-agent/pico. Prints one line; measures, never fails on a figure.
# Needs the firmware workspace built (cd firmware-agent/pico && cargo build --release).
set -euo pipefail
cd "$(dirname "$0")/../.."
fw=firmware-agent/pico/target/thumbv6m-none-eabi/release
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
flash_bytes() {
    cargo run --quiet --locked -- --json agent uf2 "$fw/ota-agent-pico" --app "$fw/$1" -o "$tmp/$1.uf2" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["app"]["flash_bytes"])'
}
without=$(flash_bytes app-size-without)
with=$(flash_bytes app-size-with)
added=$((with - without))
echo "ota-app adds $added bytes ($(awk "BEGIN { printf \"%.1f\", $added / 1024 }") KiB) of flash to an application: $without without it, $with with files, trial state, feed and confirm"
