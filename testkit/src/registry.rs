//! Registry chores of test set-ups, done as a client does them.

use plexica_sdk::api::registry::{KeyChallenge, RegisterKeyRequest};
use plexica_sdk::package::signing::SecretKey;

/// Registers `key` with the registry at `base` for the holder of `token`, proving possession
/// over a fresh challenge; the status of the registration.
///
/// # Panics
///
/// When the registry cannot be reached or gives no challenge.
pub async fn register_key(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    key: &SecretKey,
) -> reqwest::StatusCode {
    let challenge: KeyChallenge = http
        .post(format!("{base}/api/v1/keys/challenges"))
        .bearer_auth(token)
        .send()
        .await
        .expect("ask for a key challenge")
        .json()
        .await
        .expect("a key challenge");
    http.put(format!("{base}/api/v1/keys"))
        .bearer_auth(token)
        .json(&RegisterKeyRequest::proven(key, &challenge))
        .send()
        .await
        .expect("register the key")
        .status()
}
