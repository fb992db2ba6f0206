//! Requests from the platform to a plugin's backend: the context headers the platform asserts,
//! and the signature that proves the platform sent them.
//!
//! Every request the platform makes to a backend — gateway calls, event pushes, lifecycle hooks,
//! health probes — carries [`SIGNATURE_HEADER`]: `t=<unix seconds>,v1=<hex hmac-sha256>` with
//! the secret that only the core and that backend's process hold. The HMAC covers, one per
//! line: a version tag, the timestamp, the method, the request target (path and query as sent),
//! the SHA-256 of the body, and `name:value` of each of [`SIGNED_HEADERS`] (empty when absent).
//! So a signature is good for one request only: another method, path, query, body or context
//! does not verify, and a signature older than [`MAX_SIGNATURE_SKEW_SECONDS`] is stale.

use hmac::Mac;
use sha2::Digest;

/// The header carrying the platform's signature: `t=<unix seconds>,v1=<hex hmac-sha256>`.
pub const SIGNATURE_HEADER: &str = "x-plexica-signature";
/// The tenant a request is for (its slug).
pub const TENANT_HEADER: &str = "x-plexica-tenant";
/// The workspace of a request (its slug), when it has one.
pub const WORKSPACE_HEADER: &str = "x-plexica-workspace";
/// The user a gateway call is made for.
pub const USER_HEADER: &str = "x-plexica-user";
/// The plugin that made a gateway call (absent when a user did).
pub const CALLER_PLUGIN_HEADER: &str = "x-plexica-caller-plugin";
/// The correlation id of the work a request belongs to.
pub const CORRELATION_HEADER: &str = "x-correlation-id";
/// The request id (the gateway sets it to the correlation id).
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The headers a signature covers, in the order they are signed: how the body reads, and the
/// context the platform asserts.
pub const SIGNED_HEADERS: [&str; 8] = [
    "content-type",
    TENANT_HEADER,
    WORKSPACE_HEADER,
    USER_HEADER,
    CALLER_PLUGIN_HEADER,
    CORRELATION_HEADER,
    REQUEST_ID_HEADER,
    super::events::BATCH_BUDGET_HEADER,
];

/// The largest clock difference a signature may show, in seconds.
pub const MAX_SIGNATURE_SKEW_SECONDS: i64 = 300;

/// The first line of what is signed: the scheme and its version.
const SCHEME: &[u8] = b"PLEXICA-HMAC-SHA256-V1\n";

/// Why a request's signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No signature, or not `t=…,v1=…`.
    #[error("the request carries no platform signature, or a malformed one")]
    Malformed,
    /// Signed too long ago (or in the future): a replay, or a clock far off.
    #[error("the platform signature is stale (more than 5 minutes off)")]
    Stale,
    /// The HMAC does not match: another secret, or a changed method, path, body or context.
    #[error("the platform signature does not match the request")]
    Mismatch,
    /// A signed header is given more than once, so what it says is ambiguous.
    #[error("a signed header is given more than once")]
    Repeated,
}

/// The parts of a request a signature covers besides its headers.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    /// The method, e.g. `POST`.
    pub method: &'a str,
    /// The request target as sent: path and query, e.g. `/contacts?limit=5`.
    pub target: &'a str,
    /// The body (empty for none).
    pub body: &'a [u8],
}

impl SignedRequest<'_> {
    fn mac<'h>(
        &self,
        secret: &[u8],
        timestamp: i64,
        header: impl Fn(&'static str) -> Option<&'h str>,
    ) -> hmac::Hmac<sha2::Sha256> {
        // HMAC accepts keys of any length.
        let mut mac = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(SCHEME);
        let digest = hex(&sha2::Sha256::digest(self.body));
        for part in [
            timestamp.to_string().as_str(),
            self.method,
            self.target,
            digest.as_str(),
        ] {
            mac.update(part.as_bytes());
            mac.update(b"\n");
        }
        for name in SIGNED_HEADERS {
            mac.update(name.as_bytes());
            mac.update(b":");
            mac.update(header(name).unwrap_or_default().as_bytes());
            mac.update(b"\n");
        }
        mac
    }

    /// The [`SIGNATURE_HEADER`] value for this request at `timestamp` (Unix seconds), whose
    /// [`SIGNED_HEADERS`] are read with `header`.
    pub fn sign<'h>(
        &self,
        secret: &[u8],
        timestamp: i64,
        header: impl Fn(&'static str) -> Option<&'h str>,
    ) -> String {
        let tag = self.mac(secret, timestamp, header).finalize().into_bytes();
        format!("t={timestamp},v1={}", hex(&tag))
    }

    /// Checks `signature` for this request received at `now` (Unix seconds): the timestamp
    /// within [`MAX_SIGNATURE_SKEW_SECONDS`], the HMAC compared in constant time.
    pub fn verify<'h>(
        &self,
        secret: &[u8],
        signature: &str,
        now: i64,
        header: impl Fn(&'static str) -> Option<&'h str>,
    ) -> Result<(), SignatureError> {
        let mut timestamp = None;
        let mut tag = None;
        for part in signature.split(',') {
            match part.trim().split_once('=') {
                Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
                Some(("v1", v)) => tag = decode_hex(v),
                _ => {}
            }
        }
        let (Some(timestamp), Some(tag)) = (timestamp, tag) else {
            return Err(SignatureError::Malformed);
        };
        if now.abs_diff(timestamp) > MAX_SIGNATURE_SKEW_SECONDS.unsigned_abs() {
            return Err(SignatureError::Stale);
        }
        self.mac(secret, timestamp, header)
            .verify_slice(&tag)
            .map_err(|_| SignatureError::Mismatch)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers<'a>(pairs: &'a [(&str, &'a str)]) -> impl Fn(&'static str) -> Option<&'a str> {
        move |name| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }

    #[test]
    fn a_signature_is_good_for_its_own_request_only() {
        let body = br#"{"tenant":"acme"}"#;
        let request = SignedRequest {
            method: "POST",
            target: "/_plexica/hooks/on_install",
            body,
        };
        let context = [(TENANT_HEADER, "acme"), (USER_HEADER, "u_1")];
        let signature = request.sign(b"secret", 1_000_000, headers(&context));
        assert!(signature.starts_with("t=1000000,v1="), "{signature}");
        let verify = |request: SignedRequest<'_>, context: &[(&str, &str)], secret: &[u8], now| {
            request.verify(secret, &signature, now, headers(context))
        };
        assert_eq!(verify(request, &context, b"secret", 1_000_100), Ok(()));
        let mismatch = Err(SignatureError::Mismatch);
        assert_eq!(verify(request, &context, b"other", 1_000_000), mismatch);
        let activate = SignedRequest {
            target: "/_plexica/hooks/on_activate",
            ..request
        };
        assert_eq!(verify(activate, &context, b"secret", 1_000_000), mismatch);
        let get = SignedRequest {
            method: "GET",
            ..request
        };
        assert_eq!(verify(get, &context, b"secret", 1_000_000), mismatch);
        let other_body = SignedRequest {
            body: b"{}",
            ..request
        };
        assert_eq!(verify(other_body, &context, b"secret", 1_000_000), mismatch);
        let bravo = [(TENANT_HEADER, "bravo"), (USER_HEADER, "u_1")];
        assert_eq!(verify(request, &bravo, b"secret", 1_000_000), mismatch);
        let admin = [
            (TENANT_HEADER, "acme"),
            (USER_HEADER, "u_1"),
            (WORKSPACE_HEADER, "x"),
        ];
        assert_eq!(verify(request, &admin, b"secret", 1_000_000), mismatch);
        assert_eq!(
            verify(request, &context, b"secret", 1_000_301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(request, &context, b"secret", 999_699),
            Err(SignatureError::Stale)
        );
        for bad in ["", "t=1", "v1=00", "t=x,v1=00", "t=1000000,v1=zz"] {
            assert_eq!(
                request.verify(b"secret", bad, 1_000_000, headers(&context)),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
    }
}
