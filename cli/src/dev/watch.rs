//! Watching the plugin's working directory: which changes matter, and whether they touch only
//! the frontend's sources (then the backend is neither rebuilt nor restarted).

use std::path::{Component, Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher as _};
use plexica_sdk::manifest::{MANIFEST_FILE, Manifest};

/// How long the directory must be quiet before a batch of changes is acted on (an editor's
/// save is several events; `git checkout` is many).
pub const SETTLE: Duration = Duration::from_millis(150);

/// Directories whose changes never trigger a rebuild: build output, the platform's data,
/// dependencies, version control.
const IGNORED_DIRS: [&str; 4] = ["target", "node_modules", ".git", ".plexica-dev"];

/// What a batch of changes asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rebuild {
    /// Only the frontend's sources changed: rebuild the frontend.
    Frontend,
    /// Anything else: rebuild everything and reinstall.
    Everything,
}

/// Which paths of the plugin directory matter, and what they ask for.
#[derive(Debug, Clone)]
pub struct Relevance {
    dir: PathBuf,
    /// Where the frontend's sources are: the directory holding `frontend.dist` (`ui` for
    /// `ui/dist`), when that is not the plugin directory itself.
    frontend_root: Option<PathBuf>,
    /// The frontend's build output.
    frontend_dist: Option<PathBuf>,
    /// The platform's data directory, when it is inside the plugin directory.
    data_dir: PathBuf,
}

impl Relevance {
    /// The relevance rules of the plugin in `dir` (canonical) with `manifest`, the platform
    /// keeping its data in `data_dir`.
    pub fn new(dir: &Path, manifest: &Manifest, data_dir: &Path) -> Self {
        let dist = manifest.frontend.as_ref().map(|f| dir.join(&f.dist));
        let frontend_root = dist
            .as_deref()
            .and_then(Path::parent)
            .filter(|root| *root != dir && root.starts_with(dir))
            .map(Path::to_path_buf);
        Self {
            dir: dir.to_path_buf(),
            frontend_root,
            frontend_dist: dist,
            data_dir: data_dir.to_path_buf(),
        }
    }

    /// Whether a change of `path` matters.
    pub fn matters(&self, path: &Path) -> bool {
        let Ok(relative) = path.strip_prefix(&self.dir) else {
            return false;
        };
        // Cargo rewrites the lock file and makes temporary `target*` files while it builds.
        let written_by_cargo = relative == Path::new("Cargo.lock")
            || relative
                .components()
                .next()
                .is_some_and(|c| c.as_os_str().to_string_lossy().starts_with("target"));
        let hidden_or_ignored = written_by_cargo
            || relative.components().any(|c| match c {
                Component::Normal(name) => {
                    let name = name.to_string_lossy();
                    IGNORED_DIRS.contains(&name.as_ref())
                        || name.starts_with('.')
                        || name.ends_with('~')
                }
                _ => false,
            });
        !hidden_or_ignored
            && !path.starts_with(&self.data_dir)
            && !self
                .frontend_dist
                .as_deref()
                .is_some_and(|dist| path.starts_with(dist))
    }

    /// What the changed `paths` (all relevant) ask for.
    pub fn rebuild(&self, paths: &[PathBuf]) -> Rebuild {
        let frontend_only = self.frontend_root.as_deref().is_some_and(|root| {
            paths
                .iter()
                .all(|p| p.starts_with(root) && p.file_name().is_none_or(|n| n != MANIFEST_FILE))
        });
        if frontend_only {
            Rebuild::Frontend
        } else {
            Rebuild::Everything
        }
    }
}

/// Watches `dir` recursively; the relevant changed paths are sent to `changes`. Dropping the
/// watcher stops it.
pub fn start(
    dir: &Path,
    relevance: Relevance,
    changes: Sender<Vec<PathBuf>>,
) -> notify::Result<RecommendedWatcher> {
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if matches!(event.kind, EventKind::Access(_) | EventKind::Other) {
            return;
        }
        let paths: Vec<PathBuf> = event
            .paths
            .into_iter()
            .filter(|p| relevance.matters(p))
            .collect();
        if !paths.is_empty() {
            let _ = changes.send(paths);
        }
    })?;
    watcher.watch(dir, RecursiveMode::Recursive)?;
    Ok(watcher)
}

/// The first batch of changes and every one that follows until the directory is quiet for
/// [`SETTLE`], deduplicated; `None` when `stop` says so or the watcher is gone. Waits at most
/// `poll` at a time between looks at `stop`.
pub fn next_batch(
    changes: &Receiver<Vec<PathBuf>>,
    poll: Duration,
    stop: impl Fn() -> bool,
) -> Option<(Vec<PathBuf>, Instant)> {
    let first = loop {
        if stop() {
            return None;
        }
        match changes.recv_timeout(poll) {
            Ok(paths) => break paths,
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return None,
        }
    };
    let seen = Instant::now();
    let mut all = first;
    while let Ok(more) = changes.recv_timeout(SETTLE) {
        all.extend(more);
    }
    all.sort();
    all.dedup();
    Some((all, seen))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relevance(frontend_dist: Option<&str>) -> Relevance {
        let dir = PathBuf::from("/p");
        Relevance {
            frontend_root: frontend_dist
                .map(|d| dir.join(d))
                .and_then(|d| d.parent().map(Path::to_path_buf))
                .filter(|r| *r != dir),
            frontend_dist: frontend_dist.map(|d| dir.join(d)),
            data_dir: dir.join(".plexica-dev"),
            dir,
        }
    }

    #[test]
    fn build_output_data_and_hidden_files_do_not_matter() {
        let r = relevance(Some("ui/dist"));
        for ignored in [
            "/p/target/debug/hello",
            "/p/targetLFAtQz",
            "/p/Cargo.lock",
            "/p/.plexica-dev/core/core.db",
            "/p/ui/dist/remoteEntry.js",
            "/p/ui/node_modules/x/index.js",
            "/p/.git/index",
            "/p/src/.main.rs.swp",
            "/p/src/main.rs~",
            "/elsewhere/src/main.rs",
        ] {
            assert!(!r.matters(Path::new(ignored)), "{ignored}");
        }
        for relevant in ["/p/src/main.rs", "/p/plexica.toml", "/p/ui/src/HomePage.js"] {
            assert!(r.matters(Path::new(relevant)), "{relevant}");
        }
    }

    #[test]
    fn only_frontend_sources_skip_the_backend() {
        let r = relevance(Some("ui/dist"));
        let paths = |ps: &[&str]| ps.iter().map(PathBuf::from).collect::<Vec<_>>();
        assert_eq!(
            r.rebuild(&paths(&["/p/ui/src/HomePage.js", "/p/ui/build.mjs"])),
            Rebuild::Frontend
        );
        assert_eq!(
            r.rebuild(&paths(&["/p/ui/src/HomePage.js", "/p/src/main.rs"])),
            Rebuild::Everything
        );
        assert_eq!(r.rebuild(&paths(&["/p/plexica.toml"])), Rebuild::Everything);
        // A dist at the top of the plugin has no separate sources: everything rebuilds.
        assert_eq!(
            relevance(Some("dist")).rebuild(&paths(&["/p/index.js"])),
            Rebuild::Everything
        );
        assert_eq!(
            relevance(None).rebuild(&paths(&["/p/ui/src/HomePage.js"])),
            Rebuild::Everything
        );
    }
}
