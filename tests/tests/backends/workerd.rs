//! The suite's Cloudflare backend: the example worker built with worker-build and served by a
//! real `workerd` on 127.0.0.1, with SQLite-backed Durable Object storage on disk in a
//! temporary directory. Every process started here is killed when the backend is dropped.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lumenize_cloudflare::envelope::{
    Answer, Envelope, Outcome, Target, MESSAGE_PATH, TOKEN_HEADER,
};
use lumenize_core::fetch::EndpointServer;
use lumenize_core::ocan::ctn;
use lumenize_core::structured_clone::{self, ObjectKind, Value};

use crate::suite::Backend;
use crate::tools::{built_worker, tools};

/// A port on 127.0.0.1 that was just free (bound, then released), for workerd to listen on.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The shared secret the worker is configured with (at least 32 bytes, or it is refused).
pub const TOKEN: &str = "suite-token-0123456789abcdef-0123456789abcdef";

/// The example config's dev token, which the suite replaces with [`TOKEN`].
const DEV_TOKEN: &str = "\"dev-only-token-not-a-secret-0123456789abcdef\"";

/// A running workerd with the example worker.
pub struct Workerd {
    child: Option<Child>,
    dir: tempfile::TempDir,
    port: u16,
    http: reqwest::blocking::Client,
    server: EndpointServer,
}

/// The example's own workerd configuration, with this run's port, token and file layout.
fn config(port: u16) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/reminders-worker/workerd/config.capnp");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let replaced = text
        .replace("127.0.0.1:8787", &format!("127.0.0.1:{port}"))
        .replace("\"../build/index.js\"", "\"index.js\"")
        .replace("\"../build/index_bg.wasm\"", "\"index_bg.wasm\"")
        .replace(DEV_TOKEN, &format!("{TOKEN:?}"));
    for piece in [
        format!("127.0.0.1:{port}"),
        "embed \"index.js\"".into(),
        format!("{TOKEN:?}"),
    ] {
        assert!(
            replaced.contains(&piece),
            "{} changed shape: {piece} not substituted",
            path.display()
        );
    }
    replaced
}

impl Workerd {
    /// Builds the worker (once per process), then starts workerd on fresh storage.
    pub fn start() -> Workerd {
        Workerd::start_with(|c| c)
    }

    /// [`Workerd::start`] with the configuration changed by `edit` (which receives the
    /// example's config with this run's substitutions).
    pub fn start_with(edit: impl FnOnce(String) -> String) -> Workerd {
        let build = built_worker();
        let dir = tempfile::tempdir().expect("temp dir");
        for f in ["index.js", "index_bg.wasm"] {
            std::fs::copy(build.join(f), dir.path().join(f)).expect("copy the worker");
        }
        std::fs::create_dir_all(dir.path().join("do-disk")).expect("storage dir");
        let port = free_port();
        std::fs::write(dir.path().join("config.capnp"), edit(config(port))).expect("write config");
        let mut w = Workerd {
            child: None,
            dir,
            port,
            http: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            server: EndpointServer::start().expect("endpoint server"),
        };
        w.spawn();
        w
    }

    fn spawn(&mut self) {
        let log = |name: &str| std::fs::File::create(self.dir.path().join(name)).expect("log file");
        let child = Command::new(&tools().workerd)
            .args(["serve", "config.capnp"])
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(log("workerd.out"))
            .stderr(log("workerd.err"))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", tools().workerd.display()));
        self.child = Some(child);
        let started = Instant::now();
        loop {
            let url = format!("http://127.0.0.1:{}/health", self.port);
            if self
                .http
                .get(&url)
                .send()
                .is_ok_and(|r| r.status().is_success())
            {
                return;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("workerd exited ({status}):\n{}", self.logs());
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "workerd did not answer /health within 20 s:\n{}",
                self.logs()
            );
            std::thread::park_timeout(Duration::from_millis(20));
        }
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// What workerd printed (for failure messages).
    pub fn logs(&self) -> String {
        let read = |n: &str| std::fs::read_to_string(self.dir.path().join(n)).unwrap_or_default();
        format!(
            "--- stdout\n{}\n--- stderr\n{}",
            read("workerd.out"),
            read("workerd.err")
        )
    }

    fn post(&self, envelope: &Envelope) -> Result<Answer, String> {
        let url = format!("http://127.0.0.1:{}{MESSAGE_PATH}", self.port);
        let resp = self
            .http
            .post(url)
            .header(TOKEN_HEADER, TOKEN)
            .body(serde_json::to_string(envelope).expect("envelope encodes"))
            .send()
            .map_err(|e| format!("POST failed: {e}"))?;
        let status = resp.status();
        let text = resp.text().unwrap_or_default();
        if !status.is_success() {
            return Err(format!("HTTP {status}: {text}\n{}", self.logs()));
        }
        serde_json::from_str(&text).map_err(|e| format!("unreadable answer ({e}): {text}"))
    }

    /// Sends raw bytes to workerd's port and reads what comes back until the connection
    /// closes or `limit` passes (a watchdog, so a server that waits forever fails the test).
    pub fn raw_exchange(&self, request: &[u8], limit: Duration) -> String {
        use std::io::Write;
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        s.set_read_timeout(Some(limit)).expect("read timeout");
        s.write_all(request).expect("write the request");
        read_head(&mut s, limit)
    }

    /// POSTs `len` bytes of `x` to `path` with chunked encoding (no declared length) from a
    /// writer thread, and reads the response head (see [`Workerd::raw_exchange`]); the writer
    /// stops quietly when the server stops reading.
    pub fn chunked_exchange(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        len: usize,
        limit: Duration,
    ) -> String {
        use std::io::Write;
        let s = std::net::TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        s.set_read_timeout(Some(limit)).expect("read timeout");
        let mut w = s.try_clone().expect("clone the socket");
        let mut head = format!("POST {path} HTTP/1.1\r\nhost: 127.0.0.1:{}\r\n", self.port);
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("transfer-encoding: chunked\r\nconnection: close\r\n\r\n");
        let writer = std::thread::spawn(move || {
            let chunk = vec![b'x'; 64 * 1024];
            let mut left = len;
            let mut go = || -> std::io::Result<()> {
                w.write_all(head.as_bytes())?;
                while left > 0 {
                    let n = left.min(chunk.len());
                    w.write_all(format!("{n:x}\r\n").as_bytes())?;
                    w.write_all(&chunk[..n])?;
                    w.write_all(b"\r\n")?;
                    left -= n;
                }
                w.write_all(b"0\r\n\r\n")
            };
            let _ = go();
        });
        let mut r = s;
        let answer = read_head(&mut r, limit);
        let _ = r.shutdown(std::net::Shutdown::Both);
        let _ = writer.join();
        answer
    }

    /// How many requests reached the suite's endpoint server.
    pub fn endpoint_requests(&self) -> u64 {
        self.server.requests()
    }

    /// The port workerd listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// How many times `needle` occurs in what workerd printed since it last started (both
    /// streams; a restart starts new files).
    pub fn log_count(&self, needle: &str) -> usize {
        ["workerd.out", "workerd.err"]
            .iter()
            .map(|n| {
                std::fs::read_to_string(self.dir.path().join(n))
                    .unwrap_or_default()
                    .matches(needle)
                    .count()
            })
            .sum()
    }

    /// Posts a raw body with `token` to the message path, for the protocol tests.
    pub fn post_raw(&self, token: Option<&str>, body: &str) -> (u16, String) {
        let url = format!("http://127.0.0.1:{}{MESSAGE_PATH}", self.port);
        let mut req = self.http.post(url).body(body.to_string());
        if let Some(t) = token {
            req = req.header(TOKEN_HEADER, t);
        }
        let resp = req.send().expect("POST");
        (resp.status().as_u16(), resp.text().unwrap_or_default())
    }
}

fn error_message(wire: &str) -> String {
    match structured_clone::parse(wire) {
        Ok(Value::Object(o)) => match &*o.borrow() {
            ObjectKind::Error(e) => format!("{}: {}", e.name, e.message),
            _ => format!("not an Error value: {wire}"),
        },
        Ok(v) => format!("{v:?}"),
        Err(e) => format!("unreadable error ({e}): {wire}"),
    }
}

impl Backend for Workerd {
    fn call(&self, desk: &str, method: &str, args: Vec<Value>) -> Result<Value, String> {
        let chain = ctn()
            .call(method, args)
            .stringify()
            .map_err(|e| e.to_string())?;
        let answer = self.post(&Envelope::Call {
            to: Target::object("DESK", desk),
            chain,
            reply: None,
        })?;
        match answer.outcome {
            Outcome::Ok(wire) => structured_clone::parse(&wire).map_err(|e| e.to_string()),
            Outcome::Err(wire) => Err(error_message(&wire)),
        }
    }

    fn trigger(&self, desk: &str, limit: u32) -> Vec<String> {
        let answer = self
            .post(&Envelope::Trigger {
                to: Target::object("DESK", desk),
                limit,
            })
            .unwrap_or_else(|e| panic!("trigger: {e}"));
        match answer.outcome {
            Outcome::Ok(json) => serde_json::from_str(&json).expect("ids"),
            Outcome::Err(wire) => panic!("trigger failed: {}", error_message(&wire)),
        }
    }

    fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    fn endpoint(&self) -> String {
        self.server.base_url()
    }
}

impl Workerd {
    /// The SQLite files workerd keeps for the objects (one per object, on disk).
    pub fn object_files(&self) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        let mut stack = vec![self.dir.path().join("do-disk")];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "sqlite") {
                    out.push(p);
                }
            }
        }
        out
    }
}

impl Drop for Workerd {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Reads from `s` until the connection closes or a response head has arrived (one response is
/// all these tests read); past `limit` without an answer the test fails.
fn read_head(s: &mut std::net::TcpStream, limit: Duration) -> String {
    use std::io::Read;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                out.extend_from_slice(&buf[..n]);
                if out.windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
            Err(e) => panic!(
                "no answer within {limit:?} ({e}); got so far: {}",
                String::from_utf8_lossy(&out)
            ),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
