//! The HTTP execution core shared by both executor forms (and by the direct fetch): one real
//! request with reqwest, the whole body read into memory under a size cap, everything bounded by
//! the executor-side timeout, every address checked against the client's [`FetchPolicy`].
use std::net::SocketAddr;
use std::sync::Arc;

use super::error::FetchError;
use super::limits::{CappedBody, HttpLimits};
use super::message::{decode_body, FetchRequest, FetchResponse};
use super::policy::{DeniedAddress, FetchPolicy, MAX_REDIRECTS};

/// Most HTTP exchanges in flight at once in this process; more wait for a free slot (inside
/// their timeout). Bounds sockets: 10,000 concurrent fetches must not exhaust file descriptors.
pub const MAX_CONCURRENT_EXCHANGES: usize = 512;

static SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(MAX_CONCURRENT_EXCHANGES);

/// A pooled HTTP client that only reaches what its [`FetchPolicy`] allows. Cheap to clone (the
/// pool is shared). Must be used inside a tokio runtime.
///
/// ```
/// use lumenize_core::fetch::{FetchPolicy, HttpClient};
/// let public_only = HttpClient::new();
/// let for_tests = HttpClient::with_policy(FetchPolicy::default().allow_loopback());
/// assert!(for_tests.policy().check_url("http://127.0.0.1:8080/").is_ok());
/// # drop(public_only);
/// ```
#[derive(Debug, Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    policy: Arc<FetchPolicy>,
}

impl Default for HttpClient {
    fn default() -> Self {
        HttpClient::new()
    }
}

/// Resolves host names and refuses the lot when any address is one the policy refuses, so the
/// check applies to the very addresses the client connects to (no second lookup to race).
struct CheckedResolver {
    policy: Arc<FetchPolicy>,
}

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            for a in &addrs {
                policy
                    .check_ip(a.ip())
                    .map_err(|e| Box::new(e.resolved_from(&host)))?;
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// More than [`MAX_REDIRECTS`] redirects.
#[derive(Debug)]
struct TooManyRedirects;

impl std::fmt::Display for TooManyRedirects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "more than {MAX_REDIRECTS} redirects")
    }
}

impl std::error::Error for TooManyRedirects {}

impl HttpClient {
    /// A client for public addresses only ([`FetchPolicy::default`]): connection pooling,
    /// rustls, up to [`MAX_REDIRECTS`] redirects, each checked. System proxy settings are
    /// ignored (a proxy would resolve names where the policy cannot check them).
    pub fn new() -> HttpClient {
        HttpClient::with_policy(FetchPolicy::default())
    }

    /// A client that reaches what `policy` allows.
    pub fn with_policy(policy: FetchPolicy) -> HttpClient {
        let policy = Arc::new(policy);
        let hops = policy.clone();
        let redirect = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > MAX_REDIRECTS {
                return attempt.error(TooManyRedirects);
            }
            match hops.check_url(attempt.url().as_str()) {
                Ok(()) => attempt.follow(),
                Err(e) => attempt.error(e.redirected()),
            }
        });
        let client = reqwest::Client::builder()
            .no_proxy()
            .dns_resolver(Arc::new(CheckedResolver {
                policy: policy.clone(),
            }))
            .redirect(redirect)
            .build()
            // What `reqwest::Client::new()` does too: only a broken TLS backend fails here.
            .expect("the HTTP client builds");
        HttpClient { client, policy }
    }

    /// The policy this client enforces.
    pub fn policy(&self) -> &FetchPolicy {
        &self.policy
    }

    /// Performs `req` and reads the whole response. Every HTTP status is `Ok`; the `Err` cases
    /// are definite failures (see [`FetchError`]).
    pub async fn execute(
        &self,
        req: &FetchRequest,
        limits: HttpLimits,
    ) -> Result<FetchResponse, FetchError> {
        match tokio::time::timeout(limits.timeout, self.exchange(req, limits.max_body_bytes)).await
        {
            Ok(r) => r,
            Err(_) => Err(FetchError::ExecutorTimeout {
                url: req.url.clone(),
                timeout_ms: limits.timeout.as_millis() as u64,
            }),
        }
    }

    async fn exchange(&self, req: &FetchRequest, cap: u64) -> Result<FetchResponse, FetchError> {
        let _slot = SLOTS.acquire().await.map_err(|e| FetchError::Executor {
            url: req.url.clone(),
            message: format!("exchange slots closed: {e}"),
        })?;
        let invalid = |message: String| FetchError::InvalidRequest {
            url: req.url.clone(),
            message,
        };
        let url = reqwest::Url::parse(&req.url).map_err(|e| invalid(e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid(format!("unsupported scheme `{}`", url.scheme())));
        }
        self.policy
            .check_url(url.as_str())
            .map_err(|e| FetchError::Denied {
                url: req.url.clone(),
                message: e.to_string(),
            })?;
        let method = reqwest::Method::from_bytes(req.method.as_bytes())
            .map_err(|_| invalid(format!("invalid method `{}`", req.method)))?;
        let mut builder = self.client.request(method, url);
        for (k, v) in &req.headers {
            let name = reqwest::header::HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| invalid(format!("invalid header name `{k}`")))?;
            let value = reqwest::header::HeaderValue::from_str(v)
                .map_err(|_| invalid(format!("invalid value for header `{k}`")))?;
            builder = builder.header(name, value);
        }
        if let Some(b) = &req.body {
            builder = builder.body(b.clone());
        }
        let mut resp = builder.send().await.map_err(|e| classify(&req.url, &e))?;
        let status = resp.status();
        let too_large = || FetchError::BodyTooLarge {
            url: req.url.clone(),
            limit: cap,
            status: status.as_u16(),
        };
        let mut body = CappedBody::new(cap, resp.content_length()).map_err(|_| too_large())?;
        while let Some(chunk) = resp.chunk().await.map_err(|e| classify(&req.url, &e))? {
            body.push(&chunk).map_err(|_| too_large())?;
        }
        let bytes = body.into_bytes();
        let headers = collect_headers(resp.headers());
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        Ok(FetchResponse {
            status: status.as_u16(),
            status_text: status.canonical_reason().unwrap_or("").to_string(),
            headers,
            body: decode_body(&content_type, bytes),
        })
    }
}

/// Maps a reqwest error onto the definite failure kinds.
fn classify(url: &str, e: &reqwest::Error) -> FetchError {
    // reqwest's Display omits the underlying cause, which is the useful part ("connection
    // refused"), so append the source chain.
    let mut message = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        if let Some(denied) = s.downcast_ref::<DeniedAddress>() {
            // The policy refused a redirect hop or a resolved address: say only that.
            return FetchError::Denied {
                url: url.to_string(),
                message: denied.to_string(),
            };
        }
        message.push_str(": ");
        message.push_str(&s.to_string());
        src = s.source();
    }
    let url = url.to_string();
    if e.is_builder() {
        FetchError::InvalidRequest { url, message }
    } else if e.is_connect() {
        FetchError::Connect { url, message }
    } else {
        FetchError::Network { url, message }
    }
}

fn collect_headers(map: &reqwest::header::HeaderMap) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for name in map.keys() {
        let values: Vec<String> = map
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        out.push((name.as_str().to_string(), values.join(", ")));
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::dns::Resolve;
    use std::str::FromStr;

    fn resolve(policy: FetchPolicy, name: &str) -> Result<Vec<SocketAddr>, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let resolver = CheckedResolver {
            policy: Arc::new(policy),
        };
        let name = reqwest::dns::Name::from_str(name).unwrap();
        rt.block_on(resolver.resolve(name))
            .map(Iterator::collect)
            .map_err(|e| e.to_string())
    }

    /// The resolver checks what a name resolves to, whatever the name looks like.
    #[test]
    fn the_resolver_refuses_names_that_resolve_to_refused_addresses() {
        let err = resolve(FetchPolicy::default(), "localhost").unwrap_err();
        assert!(err.contains("localhost, which resolved to"), "{err}");
        assert!(err.contains("loopback"), "{err}");
        let ok = resolve(FetchPolicy::default().allow_loopback(), "localhost").unwrap();
        assert!(ok.iter().all(|a| a.ip().is_loopback()), "{ok:?}");
    }
}
