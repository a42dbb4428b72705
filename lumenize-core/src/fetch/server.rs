//! [`EndpointServer`]: a local HTTP server with scripted endpoints, for tests, benchmarks and the
//! experiment. It runs on its own thread and tokio runtime, so it works the same whether the
//! caller is inside a runtime or not, and it stops (dropping even hanging requests) on drop.
//!
//! | path | answer |
//! |---|---|
//! | `/uuid` | `200 {"uuid":"<v4>"}` |
//! | `/delay/{ms}` | waits `ms` (at most 60 000), then `200 {"delayMs":ms}` |
//! | `/status/{code}` | that status (100..=999 rejected with 400 unless 200..=599), text body |
//! | `/bytes/{n}` | `n` bytes (at most 256 MiB), `application/octet-stream`, `i % 251` pattern |
//! | `/echo` | any method: `200 {"method","path","headers":[[k,v]...],"body"}` (body as text) |
//! | `/hang` | never answers |
//! | `/trickle/{n}` | `200`, `n` bytes (at most 256 MiB) in 64 KiB chunks without a length, then never ends |
//! | `/redirect?to={url}` | `302` to `url` (any method) |

use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use tokio::sync::oneshot;

/// Longest `/delay/{ms}` honoured.
pub const MAX_DELAY_MS: u64 = 60_000;
/// Largest `/bytes/{n}` honoured.
pub const MAX_BYTES: usize = 256 * 1024 * 1024;

/// A running local endpoint server. Stops on drop.
///
/// ```no_run
/// let server = lumenize_core::fetch::EndpointServer::start().unwrap();
/// println!("{}", server.url("/uuid")); // http://127.0.0.1:<port>/uuid
/// ```
pub struct EndpointServer {
    addr: SocketAddr,
    stats: Arc<Stats>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct Stats {
    requests: AtomicU64,
}

impl EndpointServer {
    /// Binds `127.0.0.1:0` and serves on a background thread with a 2-worker runtime.
    pub fn start() -> std::io::Result<EndpointServer> {
        EndpointServer::start_with_workers(2)
    }

    /// Like [`EndpointServer::start`], with `workers` runtime threads (at least 1).
    pub fn start_with_workers(workers: usize) -> std::io::Result<EndpointServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers.max(1))
            .thread_name("lmz-endpoint-server")
            .enable_all()
            .build()?;
        let stats = Arc::new(Stats::default());
        let app = router(stats.clone());
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<std::io::Result<()>>();
        let thread = std::thread::Builder::new()
            .name("lmz-endpoint-server".into())
            .spawn(move || {
                rt.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok(()));
                    tokio::select! {
                        r = axum::serve(listener, app) => {
                            if let Err(e) = r {
                                eprintln!("lumenize endpoint server stopped: {e}");
                            }
                        }
                        _ = stop_rx => {}
                    }
                });
                // Hanging requests (`/hang`) are still pending: drop them rather than wait.
                rt.shutdown_timeout(Duration::ZERO);
            })?;
        ready_rx
            .recv()
            .map_err(|_| std::io::Error::other("endpoint server thread exited early"))??;
        Ok(EndpointServer {
            addr,
            stats,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The absolute URL of `path` (which should start with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many requests have reached a handler so far (`/hang` included).
    pub fn requests(&self) -> u64 {
        self.stats.requests.load(Ordering::SeqCst)
    }
}

impl Drop for EndpointServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn router(stats: Arc<Stats>) -> Router {
    Router::new()
        .route("/uuid", get(uuid))
        .route("/delay/:ms", get(delay))
        .route("/status/:code", any(status))
        .route("/bytes/:n", get(bytes))
        .route("/echo", any(echo))
        .route("/hang", any(hang))
        .route("/trickle/:n", get(trickle))
        .route("/redirect", any(redirect))
        .layer(axum::middleware::from_fn_with_state(stats.clone(), count))
        .with_state(stats)
}

async fn count(
    State(stats): State<Arc<Stats>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    stats.requests.fetch_add(1, Ordering::SeqCst);
    next.run(req).await
}

async fn uuid() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "uuid": super::new_uuid() }))
}

async fn delay(Path(ms): Path<u64>) -> Response {
    if ms > MAX_DELAY_MS {
        return (
            StatusCode::BAD_REQUEST,
            format!("delay above {MAX_DELAY_MS} ms"),
        )
            .into_response();
    }
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Json(serde_json::json!({ "delayMs": ms })).into_response()
}

async fn status(Path(code): Path<u16>) -> Response {
    match StatusCode::from_u16(code) {
        Ok(s) if (200..=599).contains(&code) => (s, format!("status {code}")).into_response(),
        _ => (
            StatusCode::BAD_REQUEST,
            format!("unsupported status {code}"),
        )
            .into_response(),
    }
}

async fn bytes(Path(n): Path<usize>) -> Response {
    if n > MAX_BYTES {
        return (
            StatusCode::BAD_REQUEST,
            format!("more than {MAX_BYTES} bytes"),
        )
            .into_response();
    }
    let body: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
    ([("content-type", "application/octet-stream")], body).into_response()
}

async fn echo(
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Json<serde_json::Value> {
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    Json(serde_json::json!({
        "method": method.as_str(),
        "path": uri.to_string(),
        "headers": headers,
        "body": String::from_utf8_lossy(&body),
    }))
}

async fn hang() -> Response {
    std::future::pending::<Response>().await
}

/// A body whose length is not declared and whose end never comes: an executor that waits for
/// the whole body before checking its cap hangs here, one that streams stops at the cap.
async fn trickle(Path(n): Path<usize>) -> Response {
    if n > MAX_BYTES {
        return (
            StatusCode::BAD_REQUEST,
            format!("more than {MAX_BYTES} bytes"),
        )
            .into_response();
    }
    const CHUNK: usize = 64 * 1024;
    let chunks = (0..n.div_ceil(CHUNK)).map(move |c| {
        let len = CHUNK.min(n - c * CHUNK);
        Ok::<_, std::io::Error>(Bytes::from(vec![b'x'; len]))
    });
    let stream = futures_util::stream::StreamExt::chain(
        futures_util::stream::iter(chunks),
        futures_util::stream::pending(),
    );
    (
        [("content-type", "application/octet-stream")],
        axum::body::Body::from_stream(stream),
    )
        .into_response()
}

#[derive(serde::Deserialize)]
struct RedirectTo {
    to: String,
}

async fn redirect(Query(q): Query<RedirectTo>) -> Response {
    match axum::http::HeaderValue::from_str(&q.to) {
        Ok(location) => (
            StatusCode::FOUND,
            [(axum::http::header::LOCATION, location)],
        )
            .into_response(),
        Err(_) => (StatusCode::BAD_REQUEST, "invalid redirect target").into_response(),
    }
}
