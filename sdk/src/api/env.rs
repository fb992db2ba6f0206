//! The environment the platform gives a plugin's backend process: names shared by the core
//! API, which sets them, and the SDK's runtime, which reads them.

/// The core API's base URL.
pub const CORE_URL_ENV: &str = "PLEXICA_CORE_URL";

/// The install's token.
pub const INSTALL_TOKEN_ENV: &str = "PLEXICA_INSTALL_TOKEN";

/// The secret the platform signs this process's requests with (without it, the SDK refuses
/// every request).
pub const PLATFORM_SECRET_ENV: &str = "PLEXICA_PLATFORM_SECRET";

/// The address the backend listens on: `host:port`, or `unix:<path>` for a Unix socket (what
/// the platform gives on Linux).
pub const LISTEN_ENV: &str = "PLEXICA_PLUGIN_LISTEN";

/// The directory of the plugin's unpacked package (the backend runs in a working directory of
/// its own): relative manifest paths are read from there.
pub const PACKAGE_DIR_ENV: &str = "PLEXICA_PACKAGE_DIR";
