"""A lab of bench boards, run with labgrid's own parts: a coordinator, two
exporters each publishing two boards' NetworkSerialPort, and a client that
creates a place per board, locks all of them and pushes one release to each
through ota_labgrid's OtaDriver; then the first board goes to OtaStrategy's
`confirmed` state for the next version. Driven by tests/labgrid.rs and
benches/labgrid.sh; the boards are `ota agent sim --listen` processes.

Usage: labgrid_lab.py WORKDIR COORDINATOR_PORT RELEASE_DIR VERSION BOARD...
  BOARD is EXPORTER/PLACE/TCP_PORT, e.g. lab-a/board-1/40001.
Prints one JSON document: each place's ota document (or its error), and
the wall times of the setup and of the pushes.
"""

import argparse
import contextlib
import json
import os
import subprocess
import sys
import threading
import time

LABGRID_BIN = os.path.dirname(sys.executable)


def start(cwd, name, *args):
    """A labgrid process, its log kept in WORKDIR/NAME.log."""
    log = open(os.path.join(cwd, f"{name}-{len(os.listdir(cwd))}.log"), "w")
    return subprocess.Popen(
        [os.path.join(LABGRID_BIN, name), *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT if name != "labgrid-coordinator" else subprocess.PIPE,
        text=True,
    )


def wait_for_line(proc, text):
    """Reads the coordinator's log until it says `text`, then drains the rest."""
    for line in proc.stderr:
        if text in line:
            threading.Thread(target=proc.stderr.read, daemon=True).start()
            return
    raise SystemExit(f"labgrid-coordinator ended before saying {text!r}")


def start_exporters(work, coordinator, boards):
    exporters = []
    for exporter in sorted({b["exporter"] for b in boards}):
        config = os.path.join(work, f"{exporter}.yaml")
        with open(config, "w") as f:
            for b in boards:
                if b["exporter"] == exporter:
                    f.write(f"{b['place']}:\n  NetworkSerialPort:\n")
                    f.write(f"    host: 127.0.0.1\n    port: {b['port']}\n    protocol: raw\n")
        exporters.append(
            start(work, "labgrid-exporter", "-c", coordinator, "-n", exporter, "--hostname", "127.0.0.1", config)
        )
    return exporters


def lock_places(session, boards):
    """Waits until the coordinator lists every board's port, then creates a
    place per board, matches it, and acquires it (labgrid-client's create,
    add-match and lock)."""
    from argparse import Namespace

    run = session.loop.run_until_complete
    wanted = {(b["exporter"], b["place"]) for b in boards}
    deadline = time.monotonic() + 30
    while not wanted <= {(e, g) for e, groups in session.resources.items() for g in groups}:
        if time.monotonic() > deadline:
            raise SystemExit(f"the exporters' resources never reached the coordinator: {session.resources}")
        run(session.sync_with_coordinator())
    for b in boards:
        session.args = Namespace(
            place=b["place"],
            patterns=[f"{b['exporter']}/{b['place']}/NetworkSerialPort"],
            allow_unmatched=False,
        )
        run(session.add_place())
        run(session.add_match())
        run(session.acquire())


def push_all(work, boards, release, version):
    from labgrid import Environment

    import ota_labgrid  # for OtaError; the environment imports it too, as a lab's would

    env_file = os.path.join(work, "lab-env.yaml")
    with open(env_file, "w") as f:
        f.write("imports:\n  - ota_labgrid\ntargets:\n")
        for b in boards:
            f.write(f"  {b['place']}:\n    resources:\n      RemotePlace:\n        name: {b['place']}\n")
            f.write(f"    drivers:\n      OtaDriver:\n        cwd: {work}\n")
            if b is boards[0]:
                # The strategy's release: the next version of the same files.
                f.write(f"      OtaStrategy:\n        path: {release}\n        version: {version}.1\n")
    env = Environment(env_file)
    results = {}
    for b in boards:
        target = env.get_target(b["place"])
        ota = target.get_driver("OtaDriver")
        try:
            results[b["place"]] = ota.push(path=release, version=version)
        except ota_labgrid.OtaError as e:
            results[b["place"]] = {"error": e.message, "code": e.code}
    pushed = time.monotonic()
    # The first board to `confirmed` through the strategy: it pushes the next version.
    first = env.get_target(boards[0]["place"])
    first.get_driver("OtaStrategy").transition("confirmed")
    results["strategy"] = first.get_driver("OtaDriver").status()
    results["strategy_s"] = round(time.monotonic() - pushed, 3)
    env.cleanup()
    return results, pushed


def main():
    p = argparse.ArgumentParser()
    p.add_argument("work")
    p.add_argument("coordinator_port", type=int)
    p.add_argument("release")
    p.add_argument("version")
    p.add_argument("boards", nargs="+")
    a = p.parse_args()
    boards = [dict(zip(("exporter", "place", "port"), b.split("/"))) for b in a.boards]
    coordinator = f"127.0.0.1:{a.coordinator_port}"
    os.environ["LG_COORDINATOR"] = coordinator
    began = time.monotonic()
    processes = [start(a.work, "labgrid-coordinator", "--listen", coordinator)]
    # labgrid's client prints as it goes: stdout is kept for the one document.
    with contextlib.redirect_stdout(sys.stderr):
        results, locked, done = run_lab(a, boards, coordinator, processes)
    print(json.dumps({
        "places": {k: v for k, v in results.items() if k != "strategy_s"},
        "strategy_s": results["strategy_s"],
        "setup_s": round(locked - began, 3),
        "push_s": round(done - locked, 3),
        "after_pushes_s": round(time.monotonic() - done, 3),
    }))


def run_lab(a, boards, coordinator, processes):
    try:
        wait_for_line(processes[0], "Coordinator ready")
        processes += start_exporters(a.work, coordinator, boards)
        # One client session per process (the coordinator tells clients
        # apart by their connection): the one the targets' RemotePlaces use.
        from labgrid.resource.remote import RemotePlaceManager

        manager = RemotePlaceManager.get()
        manager.url, manager.env = coordinator, None
        manager._start()
        lock_places(manager.session, boards)
        locked = time.monotonic()
        results, done = push_all(a.work, boards, a.release, a.version)
        # The client goes first: the coordinator waits for open streams.
        manager.session.loop.run_until_complete(manager.session.stop())
        manager.session.loop.run_until_complete(manager.session.close())
    finally:
        # Exporters first: each says goodbye to the coordinator on its way out.
        for proc in reversed(processes):
            proc.terminate()
            proc.wait()
    return results, locked, done


main()
