//! The HTTP execution core shared by both executor forms (and by the direct fetch): one real
//! request with reqwest, the whole body read into memory under a size cap, everything bounded by
//! the executor-side timeout.
use super::error::FetchError;
use super::limits::HttpLimits;
use super::message::{decode_body, FetchRequest, FetchResponse};

/// Most HTTP exchanges in flight at once in this process; more wait for a free slot (inside
/// their timeout). Bounds sockets: 10,000 concurrent fetches must not exhaust file descriptors.
pub const MAX_CONCURRENT_EXCHANGES: usize = 512;

static SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(MAX_CONCURRENT_EXCHANGES);

/// A pooled HTTP client. Cheap to clone (the pool is shared). Must be used inside a tokio
/// runtime.
#[derive(Debug, Clone)]
pub struct HttpClient {
    client: reqwest::Client,
}

impl Default for HttpClient {
    fn default() -> Self {
        HttpClient::new()
    }
}

impl HttpClient {
    /// A client with reqwest's defaults (connection pooling, up to 10 redirects, rustls).
    pub fn new() -> HttpClient {
        HttpClient {
            client: reqwest::Client::new(),
        }
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
        if resp.content_length().is_some_and(|n| n > cap) {
            return Err(too_large());
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| classify(&req.url, &e))? {
            if bytes.len() as u64 + chunk.len() as u64 > cap {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
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
