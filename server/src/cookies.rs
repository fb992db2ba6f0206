//! The session cookies both servers' web pages use: read from a request, and written so that
//! no script reads them (`HttpOnly`) and no other site's page makes the browser send them
//! (`SameSite=Strict`).

use std::time::Duration;

use axum::http::header::{COOKIE, InvalidHeaderValue};
use axum::http::{HeaderMap, HeaderValue};

/// The value of cookie `name` in `headers`, if sent once and not empty. Sent twice, it is
/// none: another page of this host (another port, a narrower path) may have planted one.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    let mut values = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(key, _)| *key == name)
        .map(|(_, value)| value);
    match (values.next(), values.next()) {
        (Some(value), None) if !value.is_empty() => Some(value),
        _ => None,
    }
}

/// A `Set-Cookie` value for cookie `name` (empty with a zero `max_age`: cleared), sent to
/// `path` and below, `Secure` when the site is served over HTTPS.
pub fn set_cookie(
    name: &str,
    value: &str,
    path: &str,
    max_age: Duration,
    secure: bool,
) -> Result<HeaderValue, InvalidHeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; Max-Age={}; HttpOnly; SameSite=Strict{secure}",
        max_age.as_secs()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(cookies: &[&'static str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in cookies {
            headers.append(COOKIE, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn a_cookie_is_read_once_and_refused_twice() {
        assert_eq!(cookie(&headers(&["a=1; s=x"]), "s"), Some("x"));
        assert_eq!(cookie(&headers(&["a=1", "s=x"]), "s"), Some("x"));
        assert_eq!(cookie(&headers(&["s=x; s=y"]), "s"), None);
        assert_eq!(cookie(&headers(&["s=x", "s=y"]), "s"), None);
        assert_eq!(cookie(&headers(&["s="]), "s"), None);
        assert_eq!(cookie(&headers(&["t=x"]), "s"), None);
    }

    #[test]
    fn a_session_cookie_is_http_only_and_strict() -> Result<(), InvalidHeaderValue> {
        let value = set_cookie("s", "x", "/api", Duration::from_secs(60), true)?;
        assert_eq!(
            value,
            "s=x; Path=/api; Max-Age=60; HttpOnly; SameSite=Strict; Secure"
        );
        let cleared = set_cookie("s", "", "/", Duration::ZERO, false)?;
        assert_eq!(cleared, "s=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
        Ok(())
    }
}
