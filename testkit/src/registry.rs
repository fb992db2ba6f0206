//! Registry chores of test set-ups, done as a client does them.

use plexica_sdk::api::registry::{KeyChallenge, RegisterKeyRequest};
use plexica_sdk::package::signing::SecretKey;

/// Registers `key` with the registry at `base` for the holder of `token`, proving possession
/// over a fresh challenge; the status of the registration, or why the registry could not be
/// asked.
pub async fn register_key(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    key: &SecretKey,
) -> Result<reqwest::StatusCode, reqwest::Error> {
    let challenge: KeyChallenge = http
        .post(format!("{base}/api/v1/keys/challenges"))
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(http
        .put(format!("{base}/api/v1/keys"))
        .bearer_auth(token)
        .json(&RegisterKeyRequest::proven(key, &challenge))
        .send()
        .await?
        .status())
}
