//! What a host checks before it acts on a message, and the rules its fetch executor follows
//! between redirect hops. Portable (no Workers types), so the rules are unit-tested on the host.
//!
//! - The shared token ([`check_token`]): compared in constant time, and refused outright when
//!   shorter than [`MIN_TOKEN_BYTES`] (a guessable secret is no secret).
//! - Message size ([`MAX_MESSAGE_BYTES`]): the declared length is checked first, then the body
//!   is read under the cap (`413` beyond it).
//! - The `Trigger` test hook ([`test_hooks_enabled`], [`trigger_limit`]): served only when the
//!   worker's configuration sets [`TEST_HOOKS_BINDING`], and at most [`MAX_TRIGGER`] schedules per
//!   message.
//! - Redirects of the fetch executor ([`next_hop`]), which follows them itself so that every
//!   hop passes the [`FetchPolicy`](lumenize_core::fetch::FetchPolicy).

use subtle::ConstantTimeEq;

/// The shortest accepted token, in bytes: 32 bytes of a random secret (e.g. `openssl rand
/// -hex 32`, 64 characters) cannot be guessed.
pub const MIN_TOKEN_BYTES: usize = 32;

/// The largest message body a host reads (32 MiB), far below what a Durable Object can hold.
/// A fetch result at the default 10 MiB body cap fits after its encoding (base64 for binary
/// bodies, JSON escaping for text), except a text body made mostly of characters JSON escapes
/// (quotes, control characters): that delivery is refused and the origin sees its timeout.
pub const MAX_MESSAGE_BYTES: u64 = 32 * 1024 * 1024;

/// The variable that turns the test hooks on (the `Trigger` message). Set it (to `"1"` or
/// `"true"`) only in test configurations: a trigger runs every schedule of an object early.
pub const TEST_HOOKS_BINDING: &str = "LUMENIZE_TEST_HOOKS";

/// Most schedules one `Trigger` message runs (a larger `limit` is lowered to this).
pub const MAX_TRIGGER: u32 = 1000;

/// Why a message's token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRefusal {
    /// The worker has no token configured: every message is refused (a configuration error).
    NotConfigured,
    /// The configured token is shorter than [`MIN_TOKEN_BYTES`]: every message is refused
    /// (a configuration error).
    TooShort {
        /// Its length in bytes.
        len: usize,
    },
    /// The message carried no token or a different one.
    Wrong,
}

impl TokenRefusal {
    /// The HTTP status to answer with: 500 for a misconfigured worker, 403 for a wrong token.
    pub fn status(self) -> u16 {
        match self {
            TokenRefusal::Wrong => 403,
            _ => 500,
        }
    }
}

impl std::fmt::Display for TokenRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::envelope::TOKEN_BINDING;
        match self {
            TokenRefusal::NotConfigured => write!(
                f,
                "the {TOKEN_BINDING} secret is not set: lumenize messages are refused \
                 (wrangler secret put {TOKEN_BINDING})"
            ),
            TokenRefusal::TooShort { len } => write!(
                f,
                "the {TOKEN_BINDING} secret has {len} bytes, fewer than {MIN_TOKEN_BYTES}: \
                 lumenize messages are refused (use a random secret, e.g. openssl rand -hex 32)"
            ),
            TokenRefusal::Wrong => write!(f, "missing or wrong lumenize token"),
        }
    }
}

/// Checks the token a message carries (`given`) against the configured one. The comparison
/// takes the same time wherever the tokens differ.
///
/// ```
/// use lumenize_cloudflare::guard::{check_token, TokenRefusal};
/// let secret = "0123456789abcdef0123456789abcdef";
/// assert_eq!(check_token(Some(secret), Some(secret)), Ok(()));
/// assert_eq!(check_token(Some(secret), Some("guess")), Err(TokenRefusal::Wrong));
/// assert_eq!(check_token(Some("short"), Some("short")), Err(TokenRefusal::TooShort { len: 5 }));
/// ```
pub fn check_token(configured: Option<&str>, given: Option<&str>) -> Result<(), TokenRefusal> {
    let expected = match configured {
        None | Some("") => return Err(TokenRefusal::NotConfigured),
        Some(t) if t.len() < MIN_TOKEN_BYTES => {
            return Err(TokenRefusal::TooShort { len: t.len() })
        }
        Some(t) => t,
    };
    let given = given.unwrap_or("");
    // `ct_eq` on slices of different lengths is false without comparing contents; the length
    // of the secret is not what protects it.
    if bool::from(expected.as_bytes().ct_eq(given.as_bytes())) {
        Ok(())
    } else {
        Err(TokenRefusal::Wrong)
    }
}

/// True when the test-hooks variable is set to `"1"` or `"true"`.
pub fn test_hooks_enabled(value: Option<&str>) -> bool {
    matches!(value.map(str::trim), Some("1" | "true"))
}

/// The number of schedules a `Trigger` with `limit` runs: at most [`MAX_TRIGGER`].
pub fn trigger_limit(limit: u32) -> usize {
    limit.min(MAX_TRIGGER) as usize
}

/// A request as the executor sends it, hop after hop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    /// The absolute URL.
    pub url: String,
    /// The method.
    pub method: String,
    /// Whether the original body is still sent (not after a redirect that turns the request
    /// into a GET).
    pub keeps_body: bool,
    /// Whether credentials (`authorization`, `cookie`, `proxy-authorization`) are still sent:
    /// not once a redirect has left the original origin.
    pub keeps_credentials: bool,
}

/// The request a redirect leads to, or `None` when `status` is not a redirect that can be
/// followed (no `Location`, or one that does not parse against the current URL). Follows the
/// Fetch standard: 303 turns into GET (except HEAD), 301/302 turn a POST into GET, 307/308
/// keep method and body; credentials are dropped when the origin changes.
pub fn next_hop(current: &Hop, status: u16, location: Option<&str>) -> Option<Hop> {
    if !matches!(status, 301 | 302 | 303 | 307 | 308) {
        return None;
    }
    let base = url::Url::parse(&current.url).ok()?;
    let next = base.join(location?).ok()?;
    let to_get = (status == 303 && current.method != "HEAD")
        || (matches!(status, 301 | 302) && current.method == "POST");
    let same_origin = next.origin() == base.origin();
    Some(Hop {
        url: next.to_string(),
        method: if to_get {
            "GET".to_string()
        } else {
            current.method.clone()
        },
        keeps_body: current.keeps_body && !to_get,
        keeps_credentials: current.keeps_credentials && same_origin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn tokens_are_refused_unless_configured_long_and_equal() {
        assert_eq!(
            check_token(None, Some(SECRET)),
            Err(TokenRefusal::NotConfigured)
        );
        assert_eq!(
            check_token(Some(""), Some("")),
            Err(TokenRefusal::NotConfigured)
        );
        let short = &SECRET[..31];
        assert_eq!(
            check_token(Some(short), Some(short)),
            Err(TokenRefusal::TooShort { len: 31 })
        );
        assert_eq!(check_token(Some(SECRET), Some(SECRET)), Ok(()));
        assert_eq!(check_token(Some(SECRET), None), Err(TokenRefusal::Wrong));
        assert_eq!(
            check_token(Some(SECRET), Some(short)),
            Err(TokenRefusal::Wrong)
        );
        let mut flipped = SECRET.to_string();
        flipped.replace_range(31.., "0");
        assert_eq!(
            check_token(Some(SECRET), Some(&flipped)),
            Err(TokenRefusal::Wrong)
        );
        assert_eq!(TokenRefusal::Wrong.status(), 403);
        assert_eq!(TokenRefusal::TooShort { len: 3 }.status(), 500);
        assert!(TokenRefusal::TooShort { len: 3 }
            .to_string()
            .contains("fewer than 32"));
    }

    #[test]
    fn test_hooks_need_an_explicit_flag_and_triggers_are_capped() {
        assert!(!test_hooks_enabled(None));
        assert!(!test_hooks_enabled(Some("")));
        assert!(!test_hooks_enabled(Some("0")));
        assert!(!test_hooks_enabled(Some("false")));
        assert!(test_hooks_enabled(Some("1")));
        assert!(test_hooks_enabled(Some("true")));
        assert_eq!(trigger_limit(3), 3);
        assert_eq!(trigger_limit(u32::MAX), MAX_TRIGGER as usize);
    }

    #[test]
    fn redirects_follow_the_fetch_standard() {
        let post = Hop {
            url: "https://a.example/x/y".into(),
            method: "POST".into(),
            keeps_body: true,
            keeps_credentials: true,
        };
        assert_eq!(next_hop(&post, 200, Some("/z")), None);
        assert_eq!(next_hop(&post, 302, None), None);
        let h = next_hop(&post, 302, Some("z")).unwrap();
        assert_eq!(h.url, "https://a.example/x/z");
        assert_eq!((h.method.as_str(), h.keeps_body), ("GET", false));
        assert!(h.keeps_credentials);
        let h = next_hop(&post, 307, Some("https://b.example/")).unwrap();
        assert_eq!((h.method.as_str(), h.keeps_body), ("POST", true));
        assert!(!h.keeps_credentials, "another origin gets no credentials");
        let head = Hop {
            method: "HEAD".into(),
            ..post.clone()
        };
        assert_eq!(next_hop(&head, 303, Some("/")).unwrap().method, "HEAD");
        let put = Hop {
            method: "PUT".into(),
            ..post
        };
        assert_eq!(next_hop(&put, 303, Some("/")).unwrap().method, "GET");
        assert_eq!(next_hop(&put, 301, Some("/")).unwrap().method, "PUT");
    }
}
