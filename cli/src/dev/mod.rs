//! `plexica plugin dev`: its loop ([`session`]) and the pieces of it: the terminal's one
//! stream of lines ([`lines`]), what the in-process platform tells it ([`trace`]), the log and
//! event followers ([`follow`]), the watcher of the working directory ([`watch`]) and the
//! server of the built frontend ([`assets`]). The command, `commands::plugin::dev`, only
//! turns its flags into [`session::DevOptions`].

pub mod assets;
pub mod follow;
pub mod lines;
pub mod session;
pub mod trace;
pub mod watch;
