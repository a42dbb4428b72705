//! The HTTP exchange on Cloudflare, shared by the fetch executor (an [`ExecutorJob`]'s) and the
//! direct design ([`direct_fetch`](crate::direct_fetch)): the runtime's own `fetch`, bounded by the job's timeout (an `AbortController` plus a timer) and
//! body cap (the body is streamed and dropped at the cap), every hop checked by the executor's
//! [`FetchPolicy`] (redirects are followed here, `redirect: "manual"`), producing the same
//! [`FetchResponse`] / [`FetchError`] as the native executor.

use futures_util::future::{select, Either};
use futures_util::StreamExt;
use lumenize_core::fetch::{
    decode_body, CappedBody, ExecutorJob, FetchError, FetchPolicy, FetchRequest, FetchResponse,
    HttpLimits, MAX_REDIRECTS,
};
use worker::{
    AbortController, Delay, Fetch, Headers, Method, Request, RequestInit, RequestRedirect,
};

use crate::guard::{next_hop, Hop};
use crate::sql::js_error_text;

/// Headers that carry credentials: not sent once a redirect leaves the original origin.
const CREDENTIALS: [&str; 3] = ["authorization", "cookie", "proxy-authorization"];

/// Performs the job's request, reading the whole body. Every HTTP status is `Ok`.
pub async fn perform_job(
    job: &ExecutorJob,
    policy: &FetchPolicy,
) -> Result<FetchResponse, FetchError> {
    match &job.request {
        Ok(req) => perform(req, job.limits, policy).await,
        Err(e) => Err(e.clone()),
    }
}

/// Performs `req` within `limits`, every hop checked by `policy`, reading the whole body.
/// Every HTTP status is `Ok`.
pub async fn perform(
    req: &FetchRequest,
    limits: HttpLimits,
    policy: &FetchPolicy,
) -> Result<FetchResponse, FetchError> {
    let controller = AbortController::default();
    let signal = controller.signal();
    let exchange = Box::pin(exchange(req, policy, &signal, limits.max_body_bytes));
    let timer = Delay::from(limits.timeout);
    let finished = match select(exchange, timer).await {
        Either::Left((outcome, _)) => Some(outcome),
        Either::Right(((), _)) => None,
    };
    // Also after a refused (oversized) body: stop the download in flight.
    controller.abort();
    finished.unwrap_or_else(|| {
        Err(FetchError::ExecutorTimeout {
            url: req.url.clone(),
            timeout_ms: u64::try_from(limits.timeout.as_millis()).unwrap_or(u64::MAX),
        })
    })
}

async fn exchange(
    req: &FetchRequest,
    policy: &FetchPolicy,
    signal: &worker::AbortSignal,
    cap: u64,
) -> Result<FetchResponse, FetchError> {
    let url = req.url.clone();
    let invalid = |message: String| FetchError::InvalidRequest {
        url: url.clone(),
        message,
    };
    if !(req.url.starts_with("http://") || req.url.starts_with("https://")) {
        return Err(invalid("only http and https URLs can be fetched".into()));
    }
    let mut hop = Hop {
        url: req.url.clone(),
        method: req.method.clone(),
        keeps_body: true,
        keeps_credentials: true,
    };
    for hops in 0..=MAX_REDIRECTS {
        policy.check_url(&hop.url).map_err(|e| FetchError::Denied {
            url: url.clone(),
            message: if hops == 0 { e } else { e.redirected() }.to_string(),
        })?;
        let headers = Headers::new();
        for (k, v) in &req.headers {
            if !hop.keeps_credentials && CREDENTIALS.contains(&k.to_ascii_lowercase().as_str()) {
                continue;
            }
            headers
                .append(k, v)
                .map_err(|e| invalid(format!("header `{k}`: {e}")))?;
        }
        let mut init = RequestInit::new();
        init.with_method(Method::from(hop.method.clone()))
            .with_headers(headers)
            .with_redirect(RequestRedirect::Manual);
        if let (Some(body), true) = (&req.body, hop.keeps_body) {
            init.with_body(Some(js_sys::Uint8Array::from(body.as_slice()).into()));
        }
        let request =
            Request::new_with_init(&hop.url, &init).map_err(|e| invalid(e.to_string()))?;
        let resp = Fetch::Request(request)
            .send_with_signal(signal)
            .await
            .map_err(|e| classify(&url, e))?;
        let status = resp.status_code();
        let location = resp.headers().get("location").ok().flatten();
        if let Some(next) = next_hop(&hop, status, location.as_deref()) {
            hop = next;
            continue;
        }
        return read_response(&url, resp, status, cap).await;
    }
    Err(FetchError::Network {
        url: url.clone(),
        message: format!("more than {MAX_REDIRECTS} redirects"),
    })
}

/// Reads the body chunk by chunk, stopping at the cap (a missing or lying length header
/// changes nothing).
async fn read_response(
    url: &str,
    mut resp: worker::Response,
    status: u16,
    cap: u64,
) -> Result<FetchResponse, FetchError> {
    let too_large = || FetchError::BodyTooLarge {
        url: url.to_string(),
        limit: cap,
        status,
    };
    let declared = resp
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|n| n.trim().parse::<u64>().ok());
    let mut body = CappedBody::new(cap, declared).map_err(|_| too_large())?;
    // A response without a body (204, HEAD) has no stream.
    if let Ok(mut stream) = resp.stream() {
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| classify(url, e))?;
            body.push(&chunk).map_err(|_| too_large())?;
        }
    }
    let bytes = body.into_bytes();
    let mut headers: Vec<(String, String)> = resp
        .headers()
        .entries()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect();
    headers.sort();
    let content_type = headers
        .iter()
        .find(|(k, _)| k == "content-type")
        .map(|(_, v)| v.to_ascii_lowercase())
        .unwrap_or_default();
    Ok(FetchResponse {
        status,
        status_text: reason(status).to_string(),
        headers,
        body: decode_body(&content_type, bytes),
    })
}

/// A rejected `fetch()`: a refused or failed connection, or anything else on the network.
fn classify(url: &str, e: worker::Error) -> FetchError {
    let message = match &e {
        worker::Error::JsError(s) => s.clone(),
        worker::Error::Internal(v) => js_error_text(v),
        other => other.to_string(),
    };
    let lower = message.to_ascii_lowercase();
    if lower.contains("connect") || lower.contains("refused") || lower.contains("dns") {
        FetchError::Connect {
            url: url.to_string(),
            message,
        }
    } else {
        FetchError::Network {
            url: url.to_string(),
            message,
        }
    }
}

/// The canonical reason phrase (workerd's `statusText` is empty for HTTP/1.1 peers that send
/// none, so it is derived from the code, as the native executor does).
fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        418 => "I'm a teapot",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}
