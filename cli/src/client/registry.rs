//! The registry's HTTP API (registry.md), one method per route, with the wire types of
//! `plexica_sdk::api::registry`.

use std::io::{Cursor, Read};
use std::sync::Arc;

use indicatif::ProgressBar;
use plexica_sdk::api::registry::{
    CreateInviteRequest, CreateTokenRequest, CreateUserRequest, CreatedInvite, CreatedToken,
    Deprecation, KeyChallenge, Me, NewTokenRequest, Owners, OwnersRequest, PluginDetail, Published,
    PublisherKey, RegisterKeyRequest, SearchResults, SearchSort, TokenInfo, UserInfo,
    VersionDetail, YankRequest,
};
use reqwest::blocking::{Body, Response};
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::{Method, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{
    ClientError, Idempotent, NO_BODY, Progress, TRANSFER_TIMEOUT, Transport, decode, endpoint,
};
use crate::credentials::Token;
use crate::profile::ServiceUrl;

/// Largest package a download accepts.
const MAX_DOWNLOAD: u64 = 1024 * 1024 * 1024;

/// Parameters of `GET /api/v1/plugins`.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    /// Search text.
    pub q: String,
    /// Only this category.
    pub category: Option<String>,
    /// Order.
    pub sort: SearchSort,
    /// Page, from 1.
    pub page: Option<u32>,
    /// Page size.
    pub per_page: Option<u32>,
}

/// Does a route need the caller's token?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Auth {
    None,
    Bearer,
}

/// A client of one registry, with the caller's token when there is one.
#[derive(Debug)]
pub struct RegistryClient {
    base: ServiceUrl,
    token: Option<Token>,
    transport: Transport,
}

impl RegistryClient {
    /// A client of `base`, authenticating with `token` where routes need it.
    pub fn new(base: ServiceUrl, token: Option<Token>) -> Result<Self, ClientError> {
        Ok(Self {
            base,
            token,
            transport: Transport::new()?,
        })
    }

    /// Reports each retry through `notice`.
    pub fn on_retry(mut self, notice: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.transport.on_retry(notice);
        self
    }

    /// The registry's base URL.
    pub fn registry(&self) -> &ServiceUrl {
        &self.base
    }

    /// `POST /api/v1/tokens`: trades a username and password for a token.
    pub fn create_token(&self, request: &CreateTokenRequest) -> Result<CreatedToken, ClientError> {
        self.json(Method::POST, &["tokens"], Some(request), Auth::None)
    }

    /// `POST /api/v1/me/tokens`: a new token for the caller.
    pub fn create_my_token(&self, request: &NewTokenRequest) -> Result<CreatedToken, ClientError> {
        self.json(Method::POST, &["me", "tokens"], Some(request), Auth::Bearer)
    }

    /// `GET /api/v1/tokens`: the caller's tokens.
    pub fn tokens(&self) -> Result<Vec<TokenInfo>, ClientError> {
        self.json(Method::GET, &["tokens"], NO_BODY, Auth::Bearer)
    }

    /// `DELETE /api/v1/tokens/{id}`: revokes a token.
    pub fn revoke_token(&self, id: &str) -> Result<(), ClientError> {
        self.send(Method::DELETE, &["tokens", id], NO_BODY, Auth::Bearer)
            .map(drop)
    }

    /// `GET /api/v1/me`: the caller and their token.
    pub fn me(&self) -> Result<Me, ClientError> {
        self.json(Method::GET, &["me"], NO_BODY, Auth::Bearer)
    }

    /// `POST /api/v1/keys/challenges`: a text for a key to sign before registration.
    pub fn key_challenge(&self) -> Result<KeyChallenge, ClientError> {
        self.json(Method::POST, &["keys", "challenges"], NO_BODY, Auth::Bearer)
    }

    /// `POST /api/v1/invites`: an invite for the account `username` (administrators).
    pub fn create_invite(
        &self,
        request: &CreateInviteRequest,
    ) -> Result<CreatedInvite, ClientError> {
        self.json(Method::POST, &["invites"], Some(request), Auth::Bearer)
    }

    /// `POST /api/v1/users` without a token: signs up, with an invite or on an open registry.
    pub fn sign_up(&self, request: &CreateUserRequest) -> Result<UserInfo, ClientError> {
        self.json(Method::POST, &["users"], Some(request), Auth::None)
    }

    /// `PUT /api/v1/keys`: registers a public key for the caller.
    pub fn register_key(&self, request: &RegisterKeyRequest) -> Result<PublisherKey, ClientError> {
        self.json(Method::PUT, &["keys"], Some(request), Auth::Bearer)
    }

    /// `DELETE /api/v1/keys/{key_id}`: revokes one of the caller's keys.
    pub fn revoke_key(&self, key_id: &str) -> Result<PublisherKey, ClientError> {
        self.json(Method::DELETE, &["keys", key_id], NO_BODY, Auth::Bearer)
    }

    /// `GET /api/v1/users/{name}/keys`: a publisher's keys, revoked ones included.
    pub fn user_keys(&self, username: &str) -> Result<Vec<PublisherKey>, ClientError> {
        self.json(
            Method::GET,
            &["users", username, "keys"],
            NO_BODY,
            Auth::None,
        )
    }

    /// `POST /api/v1/packages[?dry-run=true]`: uploads a package, reporting bytes sent to
    /// `progress`.
    pub fn publish(
        &self,
        package: Vec<u8>,
        dry_run: bool,
        progress: &ProgressBar,
    ) -> Result<Published, ClientError> {
        let token = self.bearer()?;
        let mut url = self.url(&["packages"]);
        if dry_run {
            url.query_pairs_mut().append_pair("dry-run", "true");
        }
        let bytes: Arc<[u8]> = package.into();
        let length = bytes.len() as u64;
        progress.set_length(length);
        let response = self.transport.send(Idempotent::No, |http| {
            progress.set_position(0);
            let body = Progress::new(Cursor::new(Arc::clone(&bytes)), progress.clone());
            http.post(url.clone())
                .bearer_auth(token.expose())
                .header(CONTENT_TYPE, "application/octet-stream")
                .header(ACCEPT, "application/json")
                .timeout(TRANSFER_TIMEOUT)
                .body(Body::sized(body, length))
        })?;
        decode(response)
    }

    /// `GET /api/v1/plugins?q=&category=&sort=&page=&per_page=`: searches.
    pub fn search(&self, query: &SearchQuery) -> Result<SearchResults, ClientError> {
        let mut url = self.url(&["plugins"]);
        {
            let mut pairs = url.query_pairs_mut();
            pairs.append_pair("q", &query.q);
            if let Some(category) = &query.category {
                pairs.append_pair("category", category);
            }
            pairs.append_pair("sort", sort_name(query.sort));
            if let Some(page) = query.page {
                pairs.append_pair("page", &page.to_string());
            }
            if let Some(per_page) = query.per_page {
                pairs.append_pair("per_page", &per_page.to_string());
            }
        }
        let response = self.transport.send(Idempotent::Yes, |http| {
            http.get(url.clone()).header(ACCEPT, "application/json")
        })?;
        decode(response)
    }

    /// `GET /api/v1/plugins/{id}`: a plugin and its versions.
    pub fn plugin(&self, id: &str) -> Result<PluginDetail, ClientError> {
        self.json(Method::GET, &["plugins", id], NO_BODY, Auth::None)
    }

    /// `GET /api/v1/plugins/{id}/versions/{version}`: one version.
    pub fn version(&self, id: &str, version: &str) -> Result<VersionDetail, ClientError> {
        self.json(
            Method::GET,
            &["plugins", id, "versions", version],
            NO_BODY,
            Auth::None,
        )
    }

    /// `GET /api/v1/plugins/{id}/versions/{version}/download`: the package bytes, reporting
    /// bytes received to `progress`.
    pub fn download(
        &self,
        id: &str,
        version: &str,
        progress: &ProgressBar,
    ) -> Result<Vec<u8>, ClientError> {
        let url = self.url(&["plugins", id, "versions", version, "download"]);
        let response = self.transport.send(Idempotent::Yes, |http| {
            http.get(url.clone()).timeout(TRANSFER_TIMEOUT)
        })?;
        let shown = response.url().path().to_owned();
        if let Some(length) = response.content_length() {
            progress.set_length(length);
        }
        let mut bytes = Vec::new();
        Progress::new(response.take(MAX_DOWNLOAD + 1), progress.clone())
            .read_to_end(&mut bytes)
            .map_err(|e| ClientError::Unreachable {
                url: shown.clone(),
                reason: e.to_string(),
            })?;
        if bytes.len() as u64 > MAX_DOWNLOAD {
            return Err(ClientError::Protocol {
                url: shown,
                reason: format!("the package is larger than {MAX_DOWNLOAD} bytes"),
            });
        }
        Ok(bytes)
    }

    /// `DELETE /api/v1/plugins/{id}/versions/{version}/yank`: withdraws a version.
    pub fn yank(
        &self,
        id: &str,
        version: &str,
        request: &YankRequest,
    ) -> Result<VersionDetail, ClientError> {
        self.json(
            Method::DELETE,
            &["plugins", id, "versions", version, "yank"],
            Some(request),
            Auth::Bearer,
        )
    }

    /// `PUT /api/v1/plugins/{id}/versions/{version}/unyank`: restores a yanked version.
    pub fn unyank(&self, id: &str, version: &str) -> Result<VersionDetail, ClientError> {
        self.json(
            Method::PUT,
            &["plugins", id, "versions", version, "unyank"],
            NO_BODY,
            Auth::Bearer,
        )
    }

    /// `PUT /api/v1/plugins/{id}/deprecation`: marks a plugin deprecated.
    pub fn deprecate(&self, id: &str, notice: &Deprecation) -> Result<PluginDetail, ClientError> {
        self.json(
            Method::PUT,
            &["plugins", id, "deprecation"],
            Some(notice),
            Auth::Bearer,
        )
    }

    /// `DELETE /api/v1/plugins/{id}/deprecation`: lifts the deprecation.
    pub fn undeprecate(&self, id: &str) -> Result<PluginDetail, ClientError> {
        self.json(
            Method::DELETE,
            &["plugins", id, "deprecation"],
            NO_BODY,
            Auth::Bearer,
        )
    }

    /// `GET /api/v1/plugins/{id}/owners`.
    pub fn owners(&self, id: &str) -> Result<Owners, ClientError> {
        self.json(Method::GET, &["plugins", id, "owners"], NO_BODY, Auth::None)
    }

    /// `PUT /api/v1/plugins/{id}/owners`: adds co-owners.
    pub fn add_owners(&self, id: &str, request: &OwnersRequest) -> Result<Owners, ClientError> {
        self.json(
            Method::PUT,
            &["plugins", id, "owners"],
            Some(request),
            Auth::Bearer,
        )
    }

    /// `DELETE /api/v1/plugins/{id}/owners`: removes co-owners.
    pub fn remove_owners(&self, id: &str, request: &OwnersRequest) -> Result<Owners, ClientError> {
        self.json(
            Method::DELETE,
            &["plugins", id, "owners"],
            Some(request),
            Auth::Bearer,
        )
    }

    fn url(&self, segments: &[&str]) -> Url {
        endpoint(&self.base, segments)
    }

    fn bearer(&self) -> Result<&Token, ClientError> {
        self.token.as_ref().ok_or_else(|| ClientError::NotLoggedIn {
            url: self.base.to_string(),
            help: format!(
                "run `plexica login --registry-url {}`, or set PLEXICA_REGISTRY_TOKEN",
                self.base
            ),
        })
    }

    fn send<B: Serialize>(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<&B>,
        auth: Auth,
    ) -> Result<Response, ClientError> {
        let token = match auth {
            Auth::Bearer => Some(self.bearer()?),
            Auth::None => None,
        };
        self.transport
            .call(method, &self.url(segments), body, token, None)
    }

    fn json<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<&B>,
        auth: Auth,
    ) -> Result<T, ClientError> {
        decode(self.send(method, segments, body, auth)?)
    }
}

fn sort_name(sort: SearchSort) -> &'static str {
    match sort {
        SearchSort::Relevance => "relevance",
        SearchSort::Downloads => "downloads",
        SearchSort::Updated => "updated",
        SearchSort::Name => "name",
        SearchSort::New => "new",
    }
}
