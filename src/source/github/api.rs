//! GitHub's REST API through octocrab: conditional GETs that replay a cached
//! answer on 304 (free of rate limit), retries with backoff on server errors,
//! and errors that say what to do about 404s and rate limits.
//!
//! Never puts the token in a message: errors name the path, not the request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http::header::{HeaderMap, HeaderValue, ACCEPT, ETAG, IF_NONE_MATCH};
use http::StatusCode;
use octocrab::Octocrab;

use crate::cache::Cache;
use crate::exit::{fail, Kind};

/// Requests made, for `-v` and the notes on rate-limit use.
#[derive(Debug, Default)]
pub struct Counters {
    pub api: AtomicU64,
    /// API answers that were 304 Not Modified (they cost no rate limit).
    pub api_not_modified: AtomicU64,
    pub raw: AtomicU64,
    pub raw_bytes: AtomicU64,
    pub cache_hits: AtomicU64,
}

impl Counters {
    pub fn snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "api_requests": self.api.load(Ordering::Relaxed),
            "api_not_modified": self.api_not_modified.load(Ordering::Relaxed),
            "raw_requests": self.raw.load(Ordering::Relaxed),
            "raw_bytes": self.raw_bytes.load(Ordering::Relaxed),
            "cache_hits": self.cache_hits.load(Ordering::Relaxed),
        })
    }
}

/// Which repository, as whom, with what patience: shared by the API and raw clients.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint<'a> {
    pub owner: &'a str,
    pub repo: &'a str,
    pub token: Option<&'a str>,
    pub connect_timeout: Duration,
    pub http_timeout: Duration,
}

/// How to behave on the network, from the config.
#[derive(Debug, Clone)]
pub struct NetPolicy {
    pub retries: u32,
    pub backoff: Duration,
    /// Wait for a rate limit to reset instead of failing.
    pub wait_rate_limit: bool,
    pub has_token: bool,
}

pub struct Api {
    oc: Octocrab,
    cache: Option<Cache>,
    pub counters: Arc<Counters>,
    policy: NetPolicy,
    repo_name: String,
    /// The API's host, to name in messages.
    host: String,
    /// The longest wait for an answer, and the longest silence within one.
    http_timeout: Duration,
}

/// The largest answer read from the API: a release, a commit SHA, a
/// manifest of as many files as an agent holds all fit well within it.
pub const ANSWER_CAP: u64 = 1024 * 1024;

/// The largest Git tree listing read: sixteen entries per file an agent
/// holds (a repository may hold more files than its filter keeps), each at
/// most 384 bytes of JSON.
pub const TREE_CAP: u64 = ota_agent::layout::MAX_ENTRIES as u64 * 16 * 384;

/// The cap for the answer at `path`.
fn cap_for(path: &str) -> u64 {
    if path.contains("/git/trees/") {
        TREE_CAP
    } else {
        ANSWER_CAP
    }
}

/// `scheme://host[:port]` of a URL, without any credentials or path.
pub fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split('/').next().unwrap_or(rest);
    host.rsplit('@').next().unwrap_or(host).to_string()
}

pub enum Got {
    Body(Vec<u8>),
    NotFound,
}

impl Api {
    pub fn new(
        api_url: &str,
        at: Endpoint<'_>,
        cache: Option<Cache>,
        policy: NetPolicy,
        counters: Arc<Counters>,
    ) -> anyhow::Result<Api> {
        let mut b = Octocrab::builder()
            .base_uri(api_url)
            .map_err(|e| fail(Kind::Config, format!("api_url `{api_url}`: {e}")))?
            // Answers are bounded by `get` itself (a deadline for the
            // headers, then the body's pace), which names the host.
            .set_connect_timeout(Some(at.connect_timeout));
        if let Some(t) = at.token {
            b = b.personal_token(t.to_string());
        }
        let oc = b
            .build()
            .map_err(|e| fail(Kind::Config, format!("GitHub client: {e}")))?;
        Ok(Api {
            oc,
            cache,
            counters,
            policy,
            repo_name: format!("{}/{}", at.owner, at.repo),
            host: host_of(api_url),
            http_timeout: at.http_timeout,
        })
    }

    pub fn has_token(&self) -> bool {
        self.policy.has_token
    }

    pub fn repo_name(&self) -> &str {
        &self.repo_name
    }

    /// GET `path` (relative to the API root) with an optional Accept type.
    /// Answers are cached with their ETag and replayed on 304.
    pub async fn get(&self, path: &str, accept: Option<&str>) -> anyhow::Result<Got> {
        let key = format!("{path} {}", accept.unwrap_or(""));
        let cached = self.cache.as_ref().and_then(|c| c.api_answer(&key));
        let mut attempt = 0;
        loop {
            let headers = request_headers(accept, cached.as_ref().map(|c| c.0.as_str()))?;
            self.counters.api.fetch_add(1, Ordering::Relaxed);
            let answer = tokio::time::timeout(
                self.http_timeout,
                self.oc._get_with_headers(path, Some(headers)),
            )
            .await;
            let res = match answer {
                Ok(Ok(r)) => r,
                Err(_) => return Err(self.silent(path)),
                Ok(Err(e)) if attempt < self.policy.retries => {
                    attempt += 1;
                    let _ = e;
                    tokio::time::sleep(backoff(&self.policy, attempt)).await;
                    continue;
                }
                Ok(Err(e)) => return Err(self.request_failed(path, &e, attempt)),
            };
            let status = res.status();
            let etag = res
                .headers()
                .get(ETAG)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let limit = RateLimit::from_headers(res.headers());
            match status {
                StatusCode::NOT_MODIFIED => {
                    self.counters.api_not_modified.fetch_add(1, Ordering::Relaxed);
                    if let Some((_, body)) = cached {
                        return Ok(Got::Body(body));
                    }
                    return Err(fail(Kind::Source, format!("GitHub API {path}: 304 without a cached answer")));
                }
                s if s.is_success() => {
                    let stream = http_body_util::BodyDataStream::new(res.into_body());
                    let body = self.read_body(path, stream).await?;
                    if let (Some(cache), Some(etag)) = (&self.cache, etag) {
                        cache.store_api_answer(&key, &etag, &body);
                    }
                    return Ok(Got::Body(body));
                }
                StatusCode::NOT_FOUND => return Ok(Got::NotFound),
                StatusCode::UNAUTHORIZED => {
                    return Err(fail(
                        Kind::Source,
                        format!("GitHub API {path}: 401: the token was rejected (check GITHUB_TOKEN or `token`)"),
                    ))
                }
                StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS if limit.exhausted(status) => {
                    let wait = limit.wait();
                    if self.policy.wait_rate_limit
                        && attempt <= self.policy.retries
                        && wait <= MAX_RATE_WAIT
                    {
                        attempt += 1;
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    return Err(fail(Kind::Source, limit.message("GitHub API", self.policy.has_token)));
                }
                s if s.is_server_error() && attempt < self.policy.retries => {
                    attempt += 1;
                    tokio::time::sleep(backoff(&self.policy, attempt)).await;
                }
                s => return Err(fail(Kind::Source, format!("GitHub API {path}: HTTP {s}"))),
            }
        }
    }

    fn silent(&self, path: &str) -> anyhow::Error {
        fail(
            Kind::Source,
            format!(
                "GitHub API {path}: {} sent no answer within {}s (http_timeout_sec)",
                self.host,
                self.http_timeout.as_secs()
            ),
        )
    }

    /// A body, within the bounds: the cap for `path`, no silence longer
    /// than `http_timeout`, and the rate floor after that.
    async fn read_body<S, D, E>(&self, path: &str, mut body: S) -> anyhow::Result<Vec<u8>>
    where
        S: futures_util::Stream<Item = Result<D, E>> + Unpin,
        D: AsRef<[u8]>,
        E: std::fmt::Display,
    {
        use futures_util::StreamExt;
        let mut pace = super::bounded::Pace::new(cap_for(path), self.http_timeout);
        let mut out = Vec::new();
        let bounded = |why: super::bounded::Bound| {
            fail(
                Kind::Source,
                format!("GitHub API {path}: {} {why}; gave up", self.host),
            )
        };
        while let Some(data) = pace.next(body.next()).await.map_err(bounded)? {
            let data = data.map_err(|e| {
                fail(
                    Kind::Source,
                    format!("GitHub API {path} at {}: {e}", self.host),
                )
            })?;
            pace.add(data.as_ref().len()).map_err(bounded)?;
            out.extend_from_slice(data.as_ref());
        }
        Ok(out)
    }

    pub async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
    ) -> anyhow::Result<Option<T>> {
        match self.get(path, None).await? {
            Got::NotFound => Ok(None),
            Got::Body(b) => serde_json::from_slice(&b).map(Some).map_err(|e| {
                fail(
                    Kind::Source,
                    format!("GitHub API {path}: unexpected answer: {e}"),
                )
            }),
        }
    }

    /// The "not found" error, with the likely cause.
    pub fn not_found(&self, what: &str) -> anyhow::Error {
        let hint = if self.policy.has_token {
            "check `owner`, `repo` and the token's access".to_string()
        } else {
            "if the repository is private, a token is needed: set GITHUB_TOKEN or `token`"
                .to_string()
        };
        fail(
            Kind::Source,
            format!(
                "{}: {} not found ({hint})",
                self.repo_name,
                crate::terminal::escape(what)
            ),
        )
    }
}

pub fn backoff(policy: &NetPolicy, attempt: u32) -> Duration {
    let base = policy.backoff.max(Duration::from_millis(10));
    (base * 2u32.saturating_pow(attempt.saturating_sub(1))).min(Duration::from_secs(60))
}

/// The longest `--wait-rate-limit` waits: a server asking for more is not
/// waited for.
pub const MAX_RATE_WAIT: Duration = Duration::from_secs(3600);

/// A wait for people: minutes, hours, or "more than two days".
fn human_wait(secs: u64) -> String {
    match secs.div_ceil(60) {
        m if m <= 120 => format!("in {m} min"),
        m if m <= 48 * 60 => format!("in {} h", m.div_ceil(60)),
        _ => "in more than two days".to_string(),
    }
}

/// What GitHub said about its rate limit.
#[derive(Debug, Clone, Copy, Default)]
pub struct RateLimit {
    remaining: Option<u64>,
    reset: Option<u64>,
    retry_after: Option<u64>,
}

impl RateLimit {
    pub fn from_headers(h: &HeaderMap) -> RateLimit {
        let num = |k: &str| {
            h.get(k)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok())
        };
        RateLimit {
            remaining: num("x-ratelimit-remaining"),
            reset: num("x-ratelimit-reset"),
            retry_after: num("retry-after"),
        }
    }

    pub fn exhausted(&self, status: StatusCode) -> bool {
        status == StatusCode::TOO_MANY_REQUESTS
            || self.remaining == Some(0)
            || self.retry_after.is_some()
    }

    fn now() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs()
    }

    pub fn wait(&self) -> Duration {
        if let Some(s) = self.retry_after {
            return Duration::from_secs(s);
        }
        match self.reset {
            Some(r) => Duration::from_secs(r.saturating_sub(Self::now()).saturating_add(1)),
            None => Duration::from_secs(60),
        }
    }

    pub fn message(&self, host: &str, has_token: bool) -> String {
        let wait = self.wait().as_secs();
        let at = Self::now().saturating_add(wait);
        let clock = format!(
            "{:02}:{:02}:{:02} UTC",
            at / 3600 % 24,
            at / 60 % 60,
            at % 60
        );
        let token = if has_token {
            ""
        } else {
            "set GITHUB_TOKEN for a higher limit, or "
        };
        let hint = if self.wait() > MAX_RATE_WAIT {
            "try again later (ota waits at most an hour)".to_string()
        } else {
            format!("{token}pass --wait-rate-limit to wait for it")
        };
        let clock = if wait > 24 * 3600 {
            String::new()
        } else {
            format!(" at {clock}")
        };
        format!(
            "{host} rate limit exceeded; it resets{clock} ({}); {hint}",
            human_wait(wait)
        )
    }
}

/// Errors from the HTTP stack may quote a URL; they never hold headers, but
/// strip anything that looks like credentials in a URL all the same.
/// The innermost cause of a network error, in words: "connection refused",
/// "network unreachable", "dns error: failed to lookup address information".
pub fn network_reason(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e;
    while let Some(s) = last.source() {
        last = s;
    }
    let text = scrub(&last.to_string());
    let text = match text.find(" (os error") {
        Some(at) => text[..at].to_string(),
        None => text,
    };
    text.to_lowercase()
}

impl Api {
    /// A request that never got an answer: the host and why, and how often it was tried.
    fn request_failed(&self, path: &str, e: &octocrab::Error, retries: u32) -> anyhow::Error {
        let tries = if retries > 0 {
            format!(" ({} tries)", retries + 1)
        } else {
            String::new()
        };
        let reason = network_reason(e);
        let what = if matches!(
            e,
            octocrab::Error::Service { .. } | octocrab::Error::Hyper { .. }
        ) {
            format!("cannot connect to {}: {reason}{tries}", self.host)
        } else {
            format!("GitHub API {path} on {}: {reason}{tries}", self.host)
        };
        fail(Kind::Source, what)
    }
}

pub fn scrub(s: &str) -> String {
    match (s.find("://"), s.find('@')) {
        (Some(a), Some(b)) if b > a => format!("{}://{}", &s[..a], &s[b + 1..]),
        _ => s.to_string(),
    }
}

/// The Accept type asked for, and the cached answer's ETag to revalidate it.
fn request_headers(accept: Option<&str>, etag: Option<&str>) -> anyhow::Result<HeaderMap> {
    let mut headers = HeaderMap::new();
    headers.insert(
        ACCEPT,
        HeaderValue::from_str(accept.unwrap_or("application/vnd.github+json"))?,
    );
    if let Some(v) = etag.and_then(|e| HeaderValue::from_str(e).ok()) {
        headers.insert(IF_NONE_MATCH, v);
    }
    Ok(headers)
}
