//! The HTTP execution core shared by both executor forms (and by the direct fetch): one real
//! request with reqwest, the whole body read into memory under a size cap, everything bounded by
//! the executor-side timeout, every address checked against the client's [`FetchPolicy`].
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::error::FetchError;
use super::limits::{CappedBody, HttpLimits};
use super::message::{decode_body, FetchRequest, FetchResponse};
use super::policy::{DeniedAddress, FetchPolicy, MAX_REDIRECTS};

/// The most HTTP exchanges a pool has in flight at once; more wait for a free slot (inside
/// their timeout). The cap adapts below it (see [`HttpClient`]): it halves when a connection
/// fails for lack of descriptors or ports and grows back by one per exchange that had to wait
/// and succeeded. It bounds sockets: 10,000 concurrent fetches must not exhaust file
/// descriptors. (Growing past it was measured: on loopback, more connections at once made
/// 10,000 concurrent fetches slower, not faster.)
pub const MAX_CONCURRENT_EXCHANGES: usize = 512;

/// The cap never goes below this (a burst of descriptor errors cannot stall fetching).
const MIN_EXCHANGES: usize = 16;

/// The cap's ceiling: a quarter of the soft `RLIMIT_NOFILE` (each exchange may hold a socket,
/// a local server its other end, and the rest of the process needs descriptors too), within
/// `MIN_EXCHANGES..=MAX_CONCURRENT_EXCHANGES`: a process allowed few descriptors starts low.
fn ceiling() -> usize {
    #[cfg(unix)]
    {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into the rlimit we own and reads nothing else.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0 {
            let quarter = usize::try_from(lim.rlim_cur / 4).unwrap_or(usize::MAX);
            return quarter.clamp(MIN_EXCHANGES, MAX_CONCURRENT_EXCHANGES);
        }
    }
    MAX_CONCURRENT_EXCHANGES
}

/// The adaptive cap of one pool: a semaphore whose permits are the cap.
///
/// Invariant: `limit` = permits free + permits taken - `debt`; `debt` permits are retired
/// (forgotten) as they come back, which is how the cap shrinks while exchanges hold permits.
#[derive(Debug)]
struct Gate {
    sem: tokio::sync::Semaphore,
    limit: AtomicUsize,
    debt: AtomicUsize,
    ceiling: usize,
}

/// A slot of the gate, held for one exchange.
struct Slot<'a> {
    gate: &'a Gate,
    permit: Option<tokio::sync::SemaphorePermit<'a>>,
    waited: bool,
}

impl Gate {
    fn new() -> Gate {
        Gate::with_ceiling(ceiling())
    }

    fn with_ceiling(ceiling: usize) -> Gate {
        Gate {
            sem: tokio::sync::Semaphore::new(ceiling),
            limit: AtomicUsize::new(ceiling),
            debt: AtomicUsize::new(0),
            ceiling,
        }
    }

    async fn enter(&self) -> Result<Slot<'_>, tokio::sync::AcquireError> {
        let (permit, waited) = match self.sem.try_acquire() {
            Ok(p) => (p, false),
            Err(_) => (self.sem.acquire().await?, true),
        };
        Ok(Slot {
            gate: self,
            permit: Some(permit),
            waited,
        })
    }

    /// Additive increase: an exchange that had to wait and then succeeded says the cap, not
    /// the system, was the limit.
    fn grow(&self) {
        let grown = self
            .limit
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |l| {
                (l < self.ceiling).then_some(l + 1)
            })
            .is_ok();
        if grown {
            self.sem.add_permits(1);
        }
    }

    /// Multiplicative decrease: the system ran out of descriptors or ports.
    fn shrink(&self) {
        let Ok(old) = self
            .limit
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |l| {
                (l > MIN_EXCHANGES).then_some((l / 2).max(MIN_EXCHANGES))
            })
        else {
            return;
        };
        let cut = old - (old / 2).max(MIN_EXCHANGES);
        let forgotten = self.sem.forget_permits(cut);
        self.debt.fetch_add(cut - forgotten, Ordering::SeqCst);
    }

    fn limit(&self) -> usize {
        self.limit.load(Ordering::SeqCst)
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let retire = self
            .gate
            .debt
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |d| d.checked_sub(1))
            .is_ok();
        if let (true, Some(p)) = (retire, self.permit.take()) {
            p.forget();
        }
    }
}

/// Whether a failed exchange ran out of a system resource (descriptors, ports, buffers).
fn exhausted(e: &reqwest::Error) -> bool {
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            #[cfg(unix)]
            if matches!(
                io.raw_os_error(),
                Some(libc::EMFILE | libc::ENFILE | libc::EADDRNOTAVAIL | libc::ENOBUFS)
            ) {
                return true;
            }
            #[cfg(not(unix))]
            let _ = io;
        }
        src = s.source();
    }
    false
}

/// Most pools kept (one per tokio runtime and policy); the oldest goes first. A runtime that
/// ended leaves its pool behind until then.
const MAX_POOLS: usize = 16;

/// The pools: one per tokio runtime and policy. reqwest's connections are driven by tasks of
/// the runtime that opened them, so a pool cannot serve another runtime; within one runtime
/// every thread shares it (and its adaptive cap), instead of each growing its own.
static POOLS: Mutex<Vec<(tokio::runtime::Id, HttpClient)>> = Mutex::new(Vec::new());

/// The pooled client of the current tokio runtime for `policy` (a fresh one outside a
/// runtime).
pub(crate) fn pooled(policy: &FetchPolicy) -> HttpClient {
    let Ok(rt) = tokio::runtime::Handle::try_current().map(|h| h.id()) else {
        return HttpClient::with_policy(policy.clone());
    };
    let mut pools = POOLS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, c)) = pools
        .iter()
        .find(|(id, c)| *id == rt && c.policy() == policy)
    {
        return c.clone();
    }
    let made = HttpClient::with_policy(policy.clone());
    if pools.len() >= MAX_POOLS {
        pools.remove(0);
    }
    pools.push((rt, made.clone()));
    made
}

/// A pooled HTTP client that only reaches what its [`FetchPolicy`] allows. Cheap to clone (the
/// pool is shared). Must be used inside a tokio runtime. Its exchanges in flight are capped:
/// at most [`MAX_CONCURRENT_EXCHANGES`] (less when the descriptor limit is low), halved when
/// the system runs out of descriptors or ports, grown back one at a time.
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
    gate: Arc<Gate>,
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
        let gate = Arc::new(Gate::new());
        let client = reqwest::Client::builder()
            .no_proxy()
            // Idle connections kept per host: what the cap can have in flight.
            .pool_max_idle_per_host(gate.ceiling)
            .dns_resolver(Arc::new(CheckedResolver {
                policy: policy.clone(),
            }))
            .redirect(redirect)
            .build()
            // What `reqwest::Client::new()` does too: only a broken TLS backend fails here.
            .expect("the HTTP client builds");
        HttpClient {
            client,
            policy,
            gate,
        }
    }

    /// The current cap on this client's exchanges in flight (see [`HttpClient`]).
    pub fn exchange_cap(&self) -> usize {
        self.gate.limit()
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
        let slot = self.gate.enter().await.map_err(|e| FetchError::Executor {
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
        let mut resp = match builder.send().await {
            Ok(r) => r,
            Err(e) => {
                if exhausted(&e) {
                    self.gate.shrink();
                }
                return Err(classify(&req.url, &e));
            }
        };
        if slot.waited {
            self.gate.grow();
        }
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

    /// The cap halves on exhaustion, also while its permits are out (they are retired as they
    /// come back), never below the floor, and grows by one per exchange that waited.
    #[test]
    fn the_exchange_cap_halves_on_exhaustion_and_grows_back_one_at_a_time() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let gate = Gate::with_ceiling(MAX_CONCURRENT_EXCHANGES);
            let mut held = Vec::new();
            for _ in 0..300 {
                held.push(gate.enter().await.unwrap());
            }
            assert_eq!(gate.limit(), MAX_CONCURRENT_EXCHANGES);
            assert!((MIN_EXCHANGES..=MAX_CONCURRENT_EXCHANGES).contains(&Gate::new().ceiling));
            gate.shrink();
            assert_eq!(gate.limit(), MAX_CONCURRENT_EXCHANGES / 2);
            // 212 free permits were forgotten at once; 44 of the 300 out are retired on return.
            assert_eq!(gate.sem.available_permits(), 0);
            held.truncate(256);
            assert_eq!(gate.sem.available_permits(), 0);
            held.clear();
            assert_eq!(gate.sem.available_permits(), gate.limit());
            for _ in 0..10 {
                gate.shrink();
            }
            assert_eq!(gate.limit(), MIN_EXCHANGES);
            assert_eq!(gate.sem.available_permits(), MIN_EXCHANGES);
            gate.grow();
            assert_eq!(gate.limit(), MIN_EXCHANGES + 1);
            assert_eq!(gate.sem.available_permits(), MIN_EXCHANGES + 1);
            // Never past the ceiling.
            for _ in 0..2 * MAX_CONCURRENT_EXCHANGES {
                gate.grow();
            }
            assert_eq!(gate.limit(), gate.ceiling);
            assert_eq!(gate.sem.available_permits(), gate.ceiling);
        });
    }

    /// One pool per runtime: every thread of a runtime gets the same client (and cap).
    #[test]
    fn one_pool_per_runtime_and_policy() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let policy = FetchPolicy::default().allow_loopback();
        let gates: Vec<usize> = (0..8)
            .map(|_| {
                let p = policy.clone();
                rt.block_on(rt.spawn(async move { Arc::as_ptr(&pooled(&p).gate) as usize }))
                    .unwrap()
            })
            .collect();
        assert!(gates.iter().all(|g| *g == gates[0]));
        let other = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let p = policy.clone();
        let there = other.block_on(async move { Arc::as_ptr(&pooled(&p).gate) as usize });
        assert_ne!(there, gates[0]);
        let strict =
            rt.block_on(async { Arc::as_ptr(&pooled(&FetchPolicy::default()).gate) as usize });
        assert_ne!(strict, gates[0]);
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
