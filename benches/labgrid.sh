#!/usr/bin/env bash
# The labgrid run's wall time for 4 boards: labgrid's coordinator, two
# exporters of two NetworkSerialPorts each (each an `ota agent sim --listen`),
# a client that locks the four places and pushes one 50-file release to each
# through ota_labgrid's OtaDriver (tests/peers/labgrid_lab.py, as in
# tests/labgrid.rs, here with every board up).
# Needs target/labgrid-venv (.ci/python-peers) and a built ota:
#   cargo build --release && benches/labgrid.sh [target/release/ota]
set -euo pipefail
cd "$(dirname "$0")/.."
ota=$(realpath "${1:-target/release/ota}")
python=target/labgrid-venv/bin/python
[ -x "$python" ] || { echo "target/labgrid-venv is absent: run .ci/python-peers" >&2; exit 1; }
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/lab" "$work/release"
for i in $(seq 1 50); do head -c $((i * 200)) /dev/urandom > "$work/release/file_$i.bin"; done
boards=()
for i in 1 2 3 4; do
    exec {fd}< <(cd "$work" && exec "$ota" agent sim --flash "board-$i.img" --listen 127.0.0.1:0)
    pids+=($!)
    read -r port <&$fd
    exporter=lab-a; [ "$i" -gt 2 ] && exporter=lab-b
    boards+=("$exporter/board-$i/${port##*:}")
done
coordinator=$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
started=$(date +%s.%N)
PATH="$(dirname "$ota"):$PATH" "$python" tests/peers/labgrid_lab.py "$work/lab" "$coordinator" "$work/release" v1 "${boards[@]}" > "$work/doc.json"
ended=$(date +%s.%N)
"$python" - "$work/doc.json" "$started" "$ended" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
results = {p: d.get("result", d.get("error")) for p, d in doc["places"].items() if p != "strategy"}
print(f"labgrid, 4 boards on 2 exporters: {results}")
print(f"  wall time {float(sys.argv[3]) - float(sys.argv[2]):.2f} s in all (Python start included): "
      f"coordinator up, exporters published, 4 places locked {doc['setup_s']:.2f} s; "
      f"4 pushes through OtaDriver {doc['push_s']:.2f} s; then OtaStrategy to `confirmed` on one board {doc['strategy_s']:.2f} s "
      f"and the labgrid processes stopped, {doc['after_pushes_s']:.2f} s with it")
PY
