//! File bytes from the raw host at an immutable commit: streamed to disk
//! through the hashers (constant memory, any size), retried with backoff,
//! and accepted only when size and hashes match.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use futures_util::StreamExt;
use sha1::Digest;
use tokio::io::AsyncWriteExt;

use super::api::{backoff, scrub, Counters, Endpoint, NetPolicy, RateLimit};
use crate::bundle::{hex, Expect};
use crate::exit::{fail, Kind};

pub struct Raw {
    client: reqwest::Client,
    base: String,
    token: Option<String>,
    policy: NetPolicy,
    counters: Arc<Counters>,
    /// The raw host, to name in messages.
    host: String,
    /// The longest wait for an answer, and the longest silence within one.
    http_timeout: std::time::Duration,
}

/// Percent-encodes a path for a URL, keeping `/` between segments.
pub fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

enum Failure {
    /// Worth another try: a dropped connection, a truncated body, a 5xx.
    Transient(String),
    Final(anyhow::Error),
}

impl Raw {
    pub fn new(
        raw_url: &str,
        at: Endpoint<'_>,
        policy: NetPolicy,
        counters: Arc<Counters>,
    ) -> anyhow::Result<Raw> {
        let client = reqwest::Client::builder()
            // Answers are bounded by `try_fetch` (a deadline for the
            // headers, then the body's pace), which names the host.
            .connect_timeout(at.connect_timeout)
            .user_agent(concat!("ota/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| fail(Kind::Config, format!("HTTP client: {e}")))?;
        Ok(Raw {
            client,
            base: format!("{}/{}/{}", raw_url.trim_end_matches('/'), at.owner, at.repo),
            token: at.token.map(str::to_string),
            policy,
            counters,
            host: super::api::host_of(raw_url),
            http_timeout: at.http_timeout,
        })
    }

    /// Downloads `path` at `commit` into `dest`, checking `expect`. On any
    /// failure `dest` does not exist afterwards.
    pub async fn fetch(
        &self,
        commit: &str,
        path: &str,
        expect: Expect,
        dest: &Path,
    ) -> anyhow::Result<[u8; 20]> {
        let url = format!("{}/{commit}/{}", self.base, encode_path(path));
        let mut attempt = 0;
        loop {
            match self.try_fetch(&url, path, expect, dest).await {
                Ok(sha1) => return Ok(sha1),
                Err(Failure::Transient(why)) if attempt < self.policy.retries => {
                    let _ = tokio::fs::remove_file(dest).await;
                    attempt += 1;
                    let _ = why;
                    tokio::time::sleep(backoff(&self.policy, attempt)).await;
                }
                Err(Failure::Transient(why)) => {
                    let _ = tokio::fs::remove_file(dest).await;
                    return Err(fail(
                        Kind::Source,
                        format!("{path}: download failed after {} tries: {why}", attempt + 1),
                    ));
                }
                Err(Failure::Final(e)) => {
                    let _ = tokio::fs::remove_file(dest).await;
                    return Err(e);
                }
            }
        }
    }

    async fn try_fetch(
        &self,
        url: &str,
        path: &str,
        expect: Expect,
        dest: &Path,
    ) -> Result<[u8; 20], Failure> {
        let res = self.answer(url, path).await?;
        let (sha1, sha256) = self.stream_to(res, path, expect, dest).await?;
        check_hashes(path, expect, sha1, sha256)
    }

    /// Asks the raw host for `url`; an answer that is not the file's bytes
    /// is an error, retried when it may pass (a server error, a wait for the rate limit).
    async fn answer(&self, url: &str, path: &str) -> Result<reqwest::Response, Failure> {
        let mut req = self.client.get(url);
        if let Some(t) = &self.token {
            req = req.header(reqwest::header::AUTHORIZATION, format!("token {t}"));
        }
        self.counters.raw.fetch_add(1, Ordering::Relaxed);
        let res = tokio::time::timeout(self.http_timeout, req.send())
            .await
            .map_err(|_| {
                Failure::Final(fail(
                    Kind::Source,
                    format!(
                        "{path}: the raw host {} sent no answer within {}s (http_timeout_sec)",
                        self.host,
                        self.http_timeout.as_secs()
                    ),
                ))
            })?
            .map_err(|e| {
                let reason = super::api::network_reason(&e);
                Failure::Transient(if e.is_connect() {
                    format!("cannot connect to {}: {reason}", super::api::host_of(url))
                } else {
                    scrub(&e.without_url().to_string())
                })
            })?;
        let status = res.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            let hint = if self.policy.has_token {
                ""
            } else {
                " (a private repository needs a token)"
            };
            return Err(Failure::Final(fail(
                Kind::Source,
                format!("{path}: not found on the raw host{hint}"),
            )));
        }
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS
            || status == reqwest::StatusCode::FORBIDDEN
        {
            let mut h = http::HeaderMap::new();
            for (k, v) in res.headers() {
                if let (Ok(k), Ok(v)) = (
                    http::HeaderName::from_bytes(k.as_str().as_bytes()),
                    http::HeaderValue::from_bytes(v.as_bytes()),
                ) {
                    h.insert(k, v);
                }
            }
            let limit = RateLimit::from_headers(&h);
            if self.policy.wait_rate_limit && limit.wait() <= super::api::MAX_RATE_WAIT {
                tokio::time::sleep(limit.wait()).await;
                return Err(Failure::Transient("rate limited".into()));
            }
            return Err(Failure::Final(fail(
                Kind::Source,
                format!(
                    "{path}: {}",
                    limit.message("raw host", self.policy.has_token)
                ),
            )));
        }
        if status.is_server_error() {
            return Err(Failure::Transient(format!("HTTP {status}")));
        }
        if !status.is_success() {
            return Err(Failure::Final(fail(
                Kind::Source,
                format!("{path}: raw host answered HTTP {status}"),
            )));
        }
        Ok(res)
    }

    /// Writes the body into `dest` as it arrives, hashing it; more bytes
    /// than expected, or a silent or dripping host, end it.
    async fn stream_to(
        &self,
        res: reqwest::Response,
        path: &str,
        expect: Expect,
        dest: &Path,
    ) -> Result<(sha1::Sha1, Option<sha2::Sha256>), Failure> {
        let mut file = tokio::fs::File::create(dest)
            .await
            .map_err(|e| Failure::Final(fail(Kind::Source, format!("{}: {e}", dest.display()))))?;
        // Trees and manifests both give the size, which the Git blob header needs up front.
        let size = expect
            .size
            .ok_or_else(|| Failure::Final(fail(Kind::Source, format!("{path}: size unknown"))))?;
        let mut sha1 = sha1::Sha1::new();
        sha1.update(format!("blob {size}\0").as_bytes());
        let mut sha256 = expect.sha256.map(|_| sha2::Sha256::new());
        let mut got = 0u64;
        let mut stream = res.bytes_stream();
        // The size cap is checked below with its own message; the pace
        // bounds silence and drip.
        let mut pace = super::bounded::Pace::new(u64::MAX, self.http_timeout);
        let bounded = |why: super::bounded::Bound| {
            Failure::Final(fail(
                Kind::Source,
                format!(
                    "{path}: the raw host {} {why}; gave up (nothing was written to the device)",
                    self.host
                ),
            ))
        };
        while let Some(chunk) = pace.next(stream.next()).await.map_err(bounded)? {
            let _ = pace.add(chunk.as_ref().map_or(0, |c| c.len()));
            let chunk = chunk.map_err(|e| {
                Failure::Transient(format!("connection dropped: {}", e.without_url()))
            })?;
            got += chunk.len() as u64;
            if got > size {
                return Err(Failure::Final(fail(
                    Kind::Verify,
                    format!("{path}: expected {size} bytes, the raw host sent more; nothing was written to the device"),
                )));
            }
            if let Some(h) = &mut sha256 {
                h.update(&chunk);
            }
            sha1.update(&chunk);
            file.write_all(&chunk).await.map_err(|e| {
                Failure::Final(fail(Kind::Source, format!("{}: {e}", dest.display())))
            })?;
            self.counters
                .raw_bytes
                .fetch_add(chunk.len() as u64, Ordering::Relaxed);
        }
        file.flush().await.map_err(|e| Failure::Final(e.into()))?;
        if got != size {
            // A short body is a broken transfer, not a wrong file: try again.
            return Err(Failure::Transient(format!(
                "expected {size} bytes, got {got}"
            )));
        }
        Ok((sha1, sha256))
    }
}

/// The downloaded bytes' hashes against what the tree or the manifest says.
fn check_hashes(
    path: &str,
    expect: Expect,
    sha1: sha1::Sha1,
    sha256: Option<sha2::Sha256>,
) -> Result<[u8; 20], Failure> {
    let got_sha1: [u8; 20] = sha1.finalize().into();
    if let Some(want) = expect.sha1 {
        if want != got_sha1 {
            return Err(Failure::Final(fail(
                Kind::Verify,
                format!(
                    "{path}: expected SHA-1 {}, got {} (downloaded from the raw host); nothing was written to the device",
                    hex(&want),
                    hex(&got_sha1)
                ),
            )));
        }
    }
    if let (Some(want), Some(h)) = (expect.sha256, sha256) {
        let got: [u8; 32] = h.finalize().into();
        if want != got {
            return Err(Failure::Final(fail(
                Kind::Verify,
                format!(
                    "{path}: expected SHA-256 {}, got {} (downloaded from the raw host); nothing was written to the device",
                    hex(&want),
                    hex(&got)
                ),
            )));
        }
    }
    Ok(got_sha1)
}
