//! Ctrl-C for long-running commands (`plugin dev`, `quickstart`): a flag the command checks
//! between steps, so that it stops what it started and cleans up instead of dying mid-way.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::error::{CliError, CliResult};

/// A flag that SIGINT or SIGTERM sets. The handlers are registered before this returns, so
/// that a Ctrl-C from then on always reaches the command.
pub fn stop_flag() -> CliResult<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::failed(format!("cannot start the runtime: {e}")))?;
    let (registered, ready) = std::sync::mpsc::channel();
    let flag = stop.clone();
    std::thread::spawn(move || {
        runtime.block_on(async move {
            let signal = plexica_core_api::shutdown_signal();
            tokio::pin!(signal);
            // The first poll registers the handlers.
            tokio::select! {
                biased;
                () = &mut signal => {}
                () = std::future::ready(()) => {
                    let _ = registered.send(());
                    signal.await;
                }
            }
            flag.store(true, Ordering::Relaxed);
        });
    });
    let _ = ready.recv_timeout(Duration::from_secs(5));
    Ok(stop)
}
