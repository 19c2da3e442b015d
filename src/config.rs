//! `ota_config.json`: the seed updater's fields with their meaning kept, plus
//! the host's own. Precedence: flags > environment > file > defaults.
//!
//! A bad value is reported with the file, the field and what was expected;
//! it is never silently replaced by a default.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value};

use crate::exit::{fail, Kind};
use crate::filter::Filter;

pub const DEFAULT_FILE: &str = "ota_config.json";

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Stable,
    Developer,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// The file this came from, if any.
    pub file: Option<PathBuf>,
    pub owner: Option<String>,
    pub repo: Option<String>,
    pub channel: Channel,
    pub branch: String,
    pub tag: Option<String>,
    pub token: Option<String>,
    pub filter: Filter,
    /// Read buffer in bytes; also caps the payload of one Data frame.
    pub chunk: u32,
    pub connect_timeout: Duration,
    pub http_timeout: Duration,
    pub retries: u32,
    pub backoff: Duration,
    pub debug: bool,
    pub fallback_channel: Option<Channel>,
    pub port: Option<String>,
    pub api_url: String,
    pub raw_url: String,
    /// How long to wait for the device: a reply, a reconnection, a reboot.
    pub device_timeout: Duration,
    /// Boots a new tree gets to confirm itself (0: confirmed at once).
    pub trial_boots: u8,
    /// How long `ota push` waits for the new version to confirm after the reboot.
    pub confirm_timeout: Duration,
    /// How long the application has, at each trial boot, to confirm: the tree
    /// carries it, and `ota-app` stops feeding the trial watchdog after it (0: no deadline).
    pub trial_timeout: Duration,
    /// How long ota waits for a board that can be reached only at its next
    /// power-on (an application without USB) to be reset or replugged.
    pub power_on_wait: Duration,
    /// Data frames in flight before the host waits for an acknowledgement.
    pub window: u32,
    /// Release signing keys (`ed25519:<hex>` or a `.pub` file): when set,
    /// only updates signed by one of them are pushed.
    pub pubkeys: Vec<String>,
    /// Fields that the host reads but does not use (`ssid`, `password`).
    pub ignored: Vec<&'static str>,
    /// Fields this version of ota does not know.
    pub unknown: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            file: None,
            owner: None,
            repo: None,
            channel: Channel::Stable,
            branch: "main".into(),
            tag: None,
            token: None,
            filter: Filter::default(),
            chunk: 4096,
            connect_timeout: Duration::from_secs(10),
            http_timeout: Duration::from_secs(30),
            retries: 3,
            backoff: Duration::from_secs(2),
            debug: false,
            fallback_channel: None,
            port: None,
            api_url: "https://api.github.com".into(),
            raw_url: "https://raw.githubusercontent.com".into(),
            device_timeout: Duration::from_secs(10),
            trial_boots: ota_protocol::DEFAULT_TRIAL_BOOTS,
            confirm_timeout: Duration::from_secs(30),
            trial_timeout: Duration::from_secs(60),
            power_on_wait: Duration::from_secs(60),
            window: 8,
            pubkeys: Vec::new(),
            ignored: Vec::new(),
            unknown: Vec::new(),
        }
    }
}

struct Fields<'a> {
    file: &'a Path,
    map: Map<String, Value>,
}

impl Fields<'_> {
    fn bad(&self, key: &str, expected: &str, got: &Value) -> anyhow::Error {
        fail(
            Kind::Config,
            format!(
                "{}: field `{key}`: expected {expected}, got {got}",
                self.file.display()
            ),
        )
    }

    fn string(&mut self, key: &str) -> anyhow::Result<Option<String>> {
        match self.map.remove(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(self.bad(key, "a string", &v)),
        }
    }

    fn list(&mut self, key: &str) -> anyhow::Result<Vec<String>> {
        match self.map.remove(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|i| match i {
                    Value::String(s) => Ok(s),
                    v => Err(self.bad(key, "a list of path strings", &v)),
                })
                .collect(),
            Some(v) => Err(self.bad(key, "a list of path strings", &v)),
        }
    }

    /// A list of filter entries; an empty one (or `/`, `.`) would match every path.
    fn paths(&mut self, key: &str) -> anyhow::Result<Vec<String>> {
        let list = self.list(key)?;
        if let Some(bad) = list.iter().find(|p| {
            p.trim_start_matches("./")
                .trim_matches('/')
                .trim_matches('.')
                .is_empty()
        }) {
            return Err(self.bad(
                key,
                "paths of files or folders (an empty entry would match everything)",
                &Value::String(bad.clone()),
            ));
        }
        Ok(list)
    }

    fn string_or_list(&mut self, key: &str) -> anyhow::Result<Vec<String>> {
        match self.map.get(key) {
            Some(Value::String(_)) => Ok(self
                .string(key)?
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect()),
            _ => self.list(key),
        }
    }

    fn uint(&mut self, key: &str, min: u64, max: u64, what: &str) -> anyhow::Result<Option<u64>> {
        match self.map.remove(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => match v.as_u64() {
                Some(n) if (min..=max).contains(&n) => Ok(Some(n)),
                _ => Err(self.bad(key, what, &v)),
            },
        }
    }

    fn boolean(&mut self, key: &str) -> anyhow::Result<Option<bool>> {
        match self.map.remove(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(v) => Err(self.bad(key, "true or false", &v)),
        }
    }

    fn channel(&mut self, key: &str) -> anyhow::Result<Option<Channel>> {
        match self.map.remove(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s == "stable" => Ok(Some(Channel::Stable)),
            Some(Value::String(s)) if s == "developer" => Ok(Some(Channel::Developer)),
            Some(v) => Err(self.bad(key, "\"stable\" or \"developer\"", &v)),
        }
    }

    fn url(&mut self, key: &str) -> anyhow::Result<Option<String>> {
        let Some(s) = self.string(key)? else {
            return Ok(None);
        };
        if !(s.starts_with("http://") || s.starts_with("https://")) {
            return Err(self.bad(key, "an http:// or https:// URL", &Value::String(s)));
        }
        Ok(Some(s.trim_end_matches('/').to_string()))
    }
}

impl Config {
    /// Reads `path`, or `ota_config.json` in the current folder when it exists,
    /// or nothing (defaults); then applies the environment.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Config> {
        let mut config = match path {
            Some(p) => Config::from_file(p)?,
            None if Path::new(DEFAULT_FILE).is_file() => {
                Config::from_file(Path::new(DEFAULT_FILE))?
            }
            None => Config::default(),
        };
        config.apply_env(|k| std::env::var(k).ok());
        Ok(config)
    }

    pub fn from_file(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            fail(
                Kind::Config,
                format!("{}: cannot read config: {e}", path.display()),
            )
        })?;
        Config::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> anyhow::Result<Config> {
        let mut f = Fields {
            file: path,
            map: json_object(path, text)?,
        };
        let d = Config::default();
        let secs = |n: Option<u64>, default: Duration| n.map_or(default, Duration::from_secs);
        let mut c = Config {
            file: Some(path.to_path_buf()),
            owner: f.string("owner")?,
            repo: f.string("repo")?,
            channel: f.channel("channel")?.unwrap_or(d.channel),
            branch: f.string("branch")?.unwrap_or(d.branch),
            tag: f.string("tag")?.filter(|t| !t.is_empty()),
            token: f.string("token")?.filter(|t| !t.is_empty()),
            filter: Filter {
                allow: f.paths("allow")?,
                ignore: f.paths("ignore")?,
                paths: f.paths("paths")?,
            },
            chunk: f
                .uint(
                    "chunk",
                    64,
                    ota_protocol::MAX_CHUNK as u64 * 16,
                    "a buffer size in bytes (64 to 65536)",
                )?
                .map_or(d.chunk, |n| n as u32),
            connect_timeout: secs(
                f.uint("connect_timeout_sec", 1, 3600, "seconds (1 to 3600)")?,
                d.connect_timeout,
            ),
            http_timeout: secs(
                f.uint("http_timeout_sec", 1, 3600, "seconds (1 to 3600)")?,
                d.http_timeout,
            ),
            retries: f
                .uint("retries", 0, 100, "a retry count (0 to 100)")?
                .map_or(d.retries, |n| n as u32),
            backoff: secs(
                f.uint("backoff_sec", 0, 3600, "seconds (0 to 3600)")?,
                d.backoff,
            ),
            debug: f.boolean("debug")?.unwrap_or(false),
            fallback_channel: f.channel("fallback_channel")?,
            port: f.string("port")?.filter(|p| !p.is_empty()),
            api_url: f.url("api_url")?.unwrap_or(d.api_url),
            raw_url: f.url("raw_url")?.unwrap_or(d.raw_url),
            pubkeys: f.string_or_list("pubkey")?,
            ignored: Vec::new(),
            unknown: Vec::new(),
            // The device fields, read below.
            ..Config::default()
        };
        c.read_device_fields(&mut f)?;
        c.take_leftovers(f.map);
        Ok(c)
    }

    /// The fields of the link to the board and of trials, over the defaults.
    fn read_device_fields(&mut self, f: &mut Fields) -> anyhow::Result<()> {
        let secs = |n: Option<u64>, default: Duration| n.map_or(default, Duration::from_secs);
        self.device_timeout = secs(
            f.uint("device_timeout_sec", 1, 3600, "seconds (1 to 3600)")?,
            self.device_timeout,
        );
        self.trial_boots = f
            .uint("trial_boots", 0, 255, "a number of boots (0 to 255)")?
            .map_or(self.trial_boots, |n| n as u8);
        self.confirm_timeout = secs(
            f.uint("confirm_timeout_sec", 0, 3600, "seconds (0 to 3600)")?,
            self.confirm_timeout,
        );
        self.trial_timeout = secs(
            f.uint(
                "trial_timeout_sec",
                0,
                65535,
                "seconds (0 to 65535; 0: no deadline)",
            )?,
            self.trial_timeout,
        );
        self.power_on_wait = secs(
            f.uint("power_on_wait_sec", 1, 3600, "seconds (1 to 3600)")?,
            self.power_on_wait,
        );
        self.window = f
            .uint("window", 1, 64, "a number of frames (1 to 64)")?
            .map_or(self.window, |n| n as u32);
        Ok(())
    }

    /// The seed's Wi-Fi fields (the host needs none) and fields nobody
    /// knows, kept to be told at `-v`.
    fn take_leftovers(&mut self, mut map: serde_json::Map<String, Value>) {
        for key in ["ssid", "password"] {
            if map.remove(key).is_some() {
                self.ignored.push(key);
            }
        }
        self.unknown = map.keys().cloned().collect();
    }

    /// `OTA_PORT` and `GITHUB_TOKEN` override the file.
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) {
        if let Some(p) = var("OTA_PORT").filter(|p| !p.is_empty()) {
            self.port = Some(p);
        }
        if let Some(t) = var("GITHUB_TOKEN").filter(|t| !t.is_empty()) {
            self.token = Some(t);
        }
    }

    /// Lines worth telling at `-v`: ignored and unknown fields.
    pub fn notes(&self) -> Vec<String> {
        let name = self
            .file
            .as_ref()
            .map_or("config".into(), |p| p.display().to_string());
        let mut notes = Vec::new();
        for key in &self.ignored {
            notes.push(format!(
                "{name}: `{key}` is for the board's Wi-Fi; the host ignores it"
            ));
        }
        notes
    }

    /// Lines to tell always: fields this version does not know (a typo
    /// such as `chunck` would otherwise be ignored without a word).
    pub fn warnings(&self) -> Vec<String> {
        let name = self
            .file
            .as_ref()
            .map_or("config".into(), |p| p.display().to_string());
        self.unknown
            .iter()
            .map(|key| match closest_field(key) {
                Some(known) => {
                    format!("{name}: unknown field `{key}` ignored (did you mean `{known}`?)")
                }
                None => format!("{name}: unknown field `{key}` ignored"),
            })
            .collect()
    }
}

/// Every field the config file may hold.
const FIELDS: &[&str] = &[
    "owner",
    "repo",
    "channel",
    "branch",
    "tag",
    "token",
    "allow",
    "ignore",
    "paths",
    "chunk",
    "connect_timeout_sec",
    "http_timeout_sec",
    "retries",
    "backoff_sec",
    "debug",
    "fallback_channel",
    "port",
    "api_url",
    "raw_url",
    "device_timeout_sec",
    "trial_boots",
    "confirm_timeout_sec",
    "trial_timeout_sec",
    "power_on_wait_sec",
    "window",
    "pubkey",
    "ssid",
    "password",
];

/// The known field one or two edits away from `key`, if any.
fn closest_field(key: &str) -> Option<&'static str> {
    FIELDS
        .iter()
        .map(|f| (edit_distance(key, f), *f))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, f)| f)
}

/// Levenshtein distance, for typo suggestions.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + (ca != *cb) as usize).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The config file's top level, which must be a JSON object.
fn json_object(path: &Path, text: &str) -> anyhow::Result<serde_json::Map<String, Value>> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        fail(
            Kind::Config,
            format!("{}: not valid JSON: {e}", path.display()),
        )
    })?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(fail(
            Kind::Config,
            format!("{}: expected a JSON object", path.display()),
        )),
    }
}

#[cfg(test)]
mod typo_tests {
    use super::*;

    #[test]
    fn a_typo_gets_a_suggestion_and_every_example_field_is_known() {
        assert_eq!(closest_field("chunck"), Some("chunk"));
        assert_eq!(closest_field("completely_else"), None);
        let example: Value =
            serde_json::from_str(include_str!("../ota_config.example.json")).unwrap();
        for key in example.as_object().unwrap().keys() {
            assert!(FIELDS.contains(&key.as_str()), "{key}");
        }
        let c = Config::parse(
            Path::new("x.json"),
            include_str!("../ota_config.example.json"),
        )
        .unwrap();
        assert!(c.unknown.is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> anyhow::Result<Config> {
        Config::parse(Path::new("ota_config.json"), text)
    }

    #[test]
    fn seed_config_reads_as_is() {
        let c = parse(
            r#"{"ssid": "home", "password": "pw", "owner": "me", "repo": "app", "channel": "developer",
                "branch": "dev", "token": "", "allow": ["lib/", "main.py"], "ignore": ["lib/test"],
                "chunk": 512, "connect_timeout_sec": 10, "http_timeout_sec": 20, "retries": 3,
                "backoff_sec": 2, "debug": false}"#,
        )
        .unwrap();
        assert_eq!(c.channel, Channel::Developer);
        assert_eq!(c.branch, "dev");
        assert_eq!(c.token, None, "empty token means none");
        assert_eq!(c.chunk, 512);
        assert_eq!(c.http_timeout, Duration::from_secs(20));
        assert_eq!(c.ignored, vec!["ssid", "password"]);
        assert!(c.unknown.is_empty());
    }

    #[test]
    fn bad_values_name_the_field() {
        let e = parse(r#"{"chunk": "big"}"#).unwrap_err().to_string();
        assert!(e.contains("ota_config.json: field `chunk`"), "{e}");
        let e = parse(r#"{"channel": "nightly"}"#).unwrap_err().to_string();
        assert!(
            e.contains("`channel`") && e.contains("\"stable\" or \"developer\""),
            "{e}"
        );
        let e = parse(r#"{"allow": "lib"}"#).unwrap_err().to_string();
        assert!(e.contains("`allow`: expected a list"), "{e}");
        let e = parse("{not json").unwrap_err().to_string();
        assert!(e.contains("not valid JSON"), "{e}");
    }

    #[test]
    fn environment_overrides_the_file() {
        let mut c = parse(r#"{"port": "/dev/ttyACM0", "token": "from-file"}"#).unwrap();
        c.apply_env(|k| match k {
            "OTA_PORT" => Some("sim:x.img".into()),
            "GITHUB_TOKEN" => Some("from-env".into()),
            _ => None,
        });
        assert_eq!(c.port.as_deref(), Some("sim:x.img"));
        assert_eq!(c.token.as_deref(), Some("from-env"));
    }

    #[test]
    fn an_empty_filter_entry_is_refused() {
        for bad in [
            r#"{"ignore": [""]}"#,
            r#"{"ignore": ["/"]}"#,
            r#"{"allow": ["./"]}"#,
        ] {
            let e = parse(bad).unwrap_err().to_string();
            assert!(e.contains("would match everything"), "{bad}: {e}");
        }
    }

    #[test]
    fn unknown_fields_are_noted() {
        let c = parse(r#"{"chanel": "stable"}"#).unwrap();
        assert_eq!(c.unknown, vec!["chanel"]);
        assert!(
            c.warnings()[0].contains("unknown field `chanel` ignored (did you mean `channel`?)")
        );
    }
}
