//! The pieces of `plexica plugin dev`: the terminal's one stream of lines ([`lines`]), what
//! the in-process platform tells it ([`trace`]), the log and event followers ([`follow`]),
//! the watcher of the working directory ([`watch`]) and the server of the built frontend
//! ([`assets`]). The command itself is `commands::plugin::dev`.

pub mod assets;
pub mod follow;
pub mod lines;
pub mod trace;
pub mod watch;
