//! The fetch policy against a real local server: by default nothing on loopback (or any other
//! non-public address) is reached, redirects included; an explicit opt-in reaches it. The only
//! addresses requested here are loopback ones and 0.0.0.0 / `::` (which would reach this host),
//! so even a broken policy sends nothing off this machine; private, link-local and metadata
//! addresses are checked without I/O.

mod fetch_support;

use std::time::Duration;

use fetch_support::*;
use lumenize_core::clock::ManualClock;
use lumenize_core::fetch::{
    EndpointServer, FetchError, FetchPolicy, FetchRequest, FetchResponse, HttpClient, HttpLimits,
};
use lumenize_core::prelude::*;

fn get(client: &HttpClient, url: &str) -> Result<FetchResponse, FetchError> {
    let limits = HttpLimits {
        timeout: Duration::from_secs(10),
        ..HttpLimits::default()
    };
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(client.execute(&FetchRequest::get(url), limits))
}

fn denied(r: Result<FetchResponse, FetchError>) -> String {
    match r {
        Err(FetchError::Denied { message, .. }) => message,
        other => panic!("expected a refusal by the policy, got {other:?}"),
    }
}

fn redirect(from: &EndpointServer, to: &str) -> String {
    from.url(&format!("/redirect?to={to}"))
}

#[test]
fn the_default_policy_refuses_loopback_before_connecting() {
    let server = EndpointServer::start().unwrap();
    let client = HttpClient::new();
    let port = server.addr().port();
    for url in [
        server.url("/uuid"),
        format!("http://localhost:{port}/uuid"),
        format!("http://[::1]:{port}/uuid"),
        format!("http://[::ffff:127.0.0.1]:{port}/uuid"),
        format!("http://2130706433:{port}/uuid"),
    ] {
        let message = denied(get(&client, &url));
        assert!(message.contains("loopback"), "{url}: {message}");
        assert!(message.contains("allow_loopback"), "{url}: {message}");
    }
    // "This host" is refused too (connecting to 0.0.0.0 reaches local services).
    for url in [
        format!("http://0.0.0.0:{port}/uuid"),
        format!("http://[::]:{port}/uuid"),
    ] {
        let message = denied(get(&client, &url));
        assert!(message.contains("unspecified"), "{url}: {message}");
    }
    // Private, link-local and metadata addresses take the same path (the URL check runs
    // before any connection); checked without I/O, so a regression here can never send
    // traffic off this machine.
    for (url, what) in [
        ("http://10.255.255.1/", "private"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://[fe80::1]/", "link-local"),
        ("http://metadata.google.internal/", "metadata"),
    ] {
        let message = client.policy().check_url(url).unwrap_err().to_string();
        assert!(message.contains(what), "{url}: {message}");
    }
    assert_eq!(server.requests(), 0, "nothing reached the server");
}

#[test]
fn opting_in_to_loopback_reaches_the_local_server() {
    let server = EndpointServer::start().unwrap();
    let client = HttpClient::with_policy(FetchPolicy::default().allow_loopback());
    let port = server.addr().port();
    assert_eq!(get(&client, &server.url("/uuid")).unwrap().status, 200);
    assert_eq!(
        get(&client, &format!("http://localhost:{port}/uuid"))
            .unwrap()
            .status,
        200
    );
    // Loopback only: the rest stays refused.
    denied(get(&client, &format!("http://0.0.0.0:{port}/uuid")));
    assert!(client.policy().check_url("http://10.255.255.1/").is_err());
    assert!(client
        .policy()
        .check_url("http://169.254.169.254/")
        .is_err());
}

#[test]
fn a_redirect_from_an_allowed_server_to_a_refused_address_is_not_followed() {
    let allowed = EndpointServer::start().unwrap();
    let other = EndpointServer::start().unwrap();
    // Only the first server, by its literal address and port.
    let client = HttpClient::with_policy(FetchPolicy::default().allow_addr(allowed.addr()));
    let same = redirect(&allowed, &allowed.url("/uuid"));
    assert_eq!(
        get(&client, &same).unwrap().status,
        200,
        "allowed -> allowed"
    );
    assert_eq!(allowed.requests(), 2);
    let other_port = other.addr().port();
    for target in [
        other.url("/uuid"),
        format!("http://localhost:{}/uuid", allowed.addr().port()),
        format!("http://localhost:{other_port}/uuid"),
        format!("http://0.0.0.0:{other_port}/uuid"),
    ] {
        let before = allowed.requests();
        let message = denied(get(&client, &redirect(&allowed, &target)));
        assert!(message.contains("redirect"), "{target}: {message}");
        assert_eq!(allowed.requests(), before + 1, "the first hop was sent");
    }
    assert_eq!(
        other.requests(),
        0,
        "no redirect reached the refused server"
    );
    // Hops are capped too.
    let loopy = FetchPolicy::default().allow_loopback();
    let mut url = allowed.url("/uuid");
    for _ in 0..=lumenize_core::fetch::MAX_REDIRECTS {
        url = redirect(&allowed, &url);
    }
    match get(&HttpClient::with_policy(loopy), &url) {
        Err(FetchError::Network { message, .. }) => {
            assert!(message.contains("redirects"), "{message}")
        }
        other => panic!("expected too many redirects, got {other:?}"),
    }
}

/// The outcome a continuation sees, for every design: the executor's policy (the direct
/// design: the options' policy) refuses, nothing reaches the server.
#[test]
fn a_refused_fetch_is_a_definite_outcome_for_every_design() {
    let server = EndpointServer::start().unwrap();
    let (rt, _clock) = runtime_with_policy(None, ManualClock::new(T0), FetchPolicy::default());
    let o = origin(&rt);
    let designs = [
        ("simple", "worker"),
        ("simple", "rpc"),
        ("orchestrated", "worker"),
        ("direct", "worker"),
    ];
    for (design, executor) in designs {
        let tag = format!("{design}/{executor}");
        let o2 = opts(&[
            ("executor", Value::from(executor)),
            ("strict", Value::Bool(true)),
        ]);
        start(&o, design, &server.url("/uuid"), &tag, o2).unwrap();
    }
    settle(&rt);
    let mut got = results(&o);
    got.sort();
    let mut want: Vec<(String, String, i64)> = designs
        .iter()
        .map(|(d, e)| (format!("{d}/{e}"), "FetchDeniedError".to_string(), 0))
        .collect();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(server.requests(), 0);
    assert_eq!(pending_and_no_ops(&o), (0, 0));
}
