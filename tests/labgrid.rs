//! labgrid, from the Python package registry, drives ota: a coordinator,
//! two exporters each publishing two `NetworkSerialPort`s (each an `ota
//! agent sim --listen`), and a client that locks the four places and pushes
//! one release to all of them through ota_labgrid's `OtaDriver`. One board's
//! agent is killed first: its push fails with ota's message, the others are
//! updated; OtaStrategy then takes the first board to `confirmed` on the
//! next version. The peers run from target/labgrid-venv (`.ci/python-peers`).

mod util;

use util::peers;
use util::*;

#[test]
fn a_labgrid_client_pushes_one_release_to_four_places_on_two_exporters() {
    let Some(python) = peers::venv(
        "labgrid-venv",
        "a_labgrid_client_pushes_one_release_to_four_places_on_two_exporters",
    ) else {
        return;
    };
    let d = tempdir();
    make_tree(&d.path().join("release"), 12, 26);
    let lab = d.path().join("lab");
    std::fs::create_dir(&lab).unwrap();
    let mut sims: Vec<Sim> = (1..=4)
        .map(|i| Sim::tcp(d.path(), &format!("board-{i}.img")))
        .collect();
    sims[3].kill();
    let boards: Vec<String> = sims
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let exporter = if i < 2 { "lab-a" } else { "lab-b" };
            let port = s.port.rsplit(':').next().unwrap();
            format!("{exporter}/board-{}/{port}", i + 1)
        })
        .collect();
    let coordinator = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let coordinator_port = coordinator.local_addr().unwrap().port().to_string();
    drop(coordinator);
    let release = d.path().join("release");
    let mut args = vec![
        lab.to_str().unwrap(),
        &coordinator_port,
        release.to_str().unwrap(),
        "v7",
    ];
    args.extend(boards.iter().map(|b| b.as_str()));
    let out = peers::command(&python, d.path(), "labgrid_lab.py", &args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the lab: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let places = &doc["places"];
    for (i, sim) in sims.iter().enumerate().take(3) {
        let place = &places[format!("board-{}", i + 1)];
        assert_eq!(place["result"], "confirmed", "{place}");
        assert_eq!(place["device"]["active"]["version"], "v7", "{place}");
        assert_eq!(device_files(d.path(), &sim.port), tree_of(&release));
    }
    // OtaStrategy took board-1 to `confirmed` on the next version.
    let status = &places["strategy"]["device"];
    assert_eq!(status["active"]["version"], "v7.1", "{status}");
    assert_eq!(status["state"], "confirmed", "{status}");
    let failed = &places["board-4"];
    assert_eq!(failed["code"], 5, "{failed}");
    let message = failed["error"].as_str().unwrap();
    assert!(
        message.contains(&format!("{}: cannot connect", sims[3].port)),
        "{message}"
    );
}
