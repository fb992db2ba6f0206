//! The SQLite side of the plugin SQL boundary. Every SQLite connection this process opens gets,
//! from the moment it opens, an authorizer (`sqlite3_set_authorizer`) and a function
//! `plexica_connection_id()` naming it. The authorizer lets everything through until a
//! [`Grant`] is placed on the connection ([`place`]); while one is, SQLite consults it for every
//! action of every statement it compiles — whatever the text around it, comments, a second
//! statement, a trigger or view body — and refuses, at prepare time, anything the grant does not
//! allow: other tables than the plugin's own, `ATTACH`, `PRAGMA`, transaction control,
//! triggers, views, virtual tables, extension loading.
//!
//! The authorizer is the boundary; `plexica_sdk::manifest`'s SQL checker only explains
//! problems early.

use std::collections::{HashMap, HashSet};
use std::ffi::{CStr, c_char, c_int, c_void};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, OnceLock, PoisonError};

use libsqlite3_sys as ffi;
use sqlx::AnyConnection;

use super::{DbError, DbResult};

/// What a plugin's SQL may do on a connection: its own tables, and creating new ones that
/// carry its prefix. Names compare case-insensitively, as SQLite's do.
#[derive(Debug)]
pub struct Grant {
    /// Tables and indexes the plugin may create are named `prefix…`; `None`: none.
    prefix: Option<String>,
    owned: HashSet<String>,
    others: HashSet<String>,
    created: Mutex<HashSet<String>>,
    refusal: Mutex<Option<String>>,
}

impl Grant {
    /// The grant of `owned` tables alone: no table may be created.
    pub fn tables(owned: impl IntoIterator<Item = String>) -> Self {
        Self::with_prefix(None, owned, [])
    }

    /// A grant for the plugin whose tables are named `prefix…`, owning `owned`, in a database
    /// whose other objects (tables, indexes, views, triggers) are `existing` minus `owned`.
    pub fn new(
        prefix: &str,
        owned: impl IntoIterator<Item = String>,
        existing: impl IntoIterator<Item = String>,
    ) -> Self {
        Self::with_prefix(Some(prefix), owned, existing)
    }

    fn with_prefix(
        prefix: Option<&str>,
        owned: impl IntoIterator<Item = String>,
        existing: impl IntoIterator<Item = String>,
    ) -> Self {
        let owned: HashSet<String> = owned.into_iter().map(|t| t.to_ascii_lowercase()).collect();
        let others = existing
            .into_iter()
            .map(|t| t.to_ascii_lowercase())
            .filter(|t| !owned.contains(t))
            .collect();
        Self {
            prefix: prefix.map(str::to_ascii_lowercase),
            owned,
            others,
            created: Mutex::default(),
            refusal: Mutex::default(),
        }
    }

    /// The first action SQLite refused under this grant, said for a person.
    pub fn refusal(&self) -> Option<String> {
        lock(&self.refusal).clone()
    }

    fn owns(&self, table: &str) -> bool {
        let table = table.to_ascii_lowercase();
        self.owned.contains(&table) || lock(&self.created).contains(&table)
    }

    /// May the plugin create an object (table or index) named `name`? Only with its prefix,
    /// and never over a name something else already has.
    fn may_create(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        self.prefix.as_ref().is_some_and(|p| name.starts_with(p)) && !self.others.contains(&name)
    }

    /// Decides one authorizer call; `Err` says what was refused.
    fn decide(&self, action: c_int, args: [Option<&str>; 4]) -> Result<(), String> {
        let [a, b, database, _inner] = args;
        let main = database.is_none_or(|d| d == "main");
        let name = |arg: Option<&str>| arg.unwrap_or_default().to_owned();
        let table_action = |verb: &str, table: Option<&str>| -> Result<(), String> {
            let table = name(table);
            if is_schema_table(&table) || (main && self.owns(&table)) {
                Ok(())
            } else {
                Err(format!("{verb} table `{table}`, which is not the plugin's"))
            }
        };
        match action {
            ffi::SQLITE_SELECT | ffi::SQLITE_RECURSIVE => Ok(()),
            ffi::SQLITE_READ => table_action("read", a),
            ffi::SQLITE_INSERT => table_action("insert into", a),
            ffi::SQLITE_UPDATE => table_action("update", a),
            ffi::SQLITE_DELETE => table_action("delete from", a),
            ffi::SQLITE_CREATE_TABLE => {
                let table = name(a);
                if main && self.may_create(&table) {
                    lock(&self.created).insert(table.to_ascii_lowercase());
                    Ok(())
                } else {
                    Err(format!(
                        "create table `{table}` (a plugin's tables are new and named `{}…`)",
                        self.prefix.as_deref().unwrap_or_default()
                    ))
                }
            }
            ffi::SQLITE_CREATE_INDEX => {
                let (index, table) = (name(a), name(b));
                // SQLite names the indexes of `PRIMARY KEY` and `UNIQUE` itself.
                let automatic = index.starts_with("sqlite_autoindex_");
                if main && self.owns(&table) && (automatic || self.may_create(&index)) {
                    Ok(())
                } else {
                    Err(format!("create index `{index}` on `{table}`"))
                }
            }
            ffi::SQLITE_DROP_TABLE => table_action("drop", a),
            ffi::SQLITE_DROP_INDEX => table_action("drop an index of", b),
            // Arguments: database, table.
            ffi::SQLITE_ALTER_TABLE => {
                let table = name(b);
                if a == Some("main") && self.owns(&table) {
                    Ok(())
                } else {
                    Err(format!("alter table `{table}`, which is not the plugin's"))
                }
            }
            ffi::SQLITE_FUNCTION => {
                let function = name(b).to_ascii_lowercase();
                if function == "load_extension"
                    || function == "fts3_tokenizer"
                    || function.starts_with("plexica_")
                {
                    Err(format!("call `{function}()`"))
                } else {
                    Ok(())
                }
            }
            // SQLite rebuilds indexes itself when a plugin alters its own tables.
            ffi::SQLITE_REINDEX => {
                let target = name(a);
                let own_name = self
                    .prefix
                    .as_ref()
                    .is_some_and(|p| target.to_ascii_lowercase().starts_with(p));
                if main && (own_name || self.owns(&target)) {
                    Ok(())
                } else {
                    Err(format!("reindex `{target}`"))
                }
            }
            ffi::SQLITE_ATTACH => Err("ATTACH a database".into()),
            ffi::SQLITE_DETACH => Err("DETACH a database".into()),
            ffi::SQLITE_PRAGMA => Err(format!("run PRAGMA {}", name(a))),
            ffi::SQLITE_TRANSACTION | ffi::SQLITE_SAVEPOINT => {
                Err("control the transaction (the platform owns it)".into())
            }
            ffi::SQLITE_CREATE_TRIGGER | ffi::SQLITE_CREATE_TEMP_TRIGGER => {
                Err(format!("create trigger `{}`", name(a)))
            }
            ffi::SQLITE_CREATE_VIEW | ffi::SQLITE_CREATE_TEMP_VIEW => {
                Err(format!("create view `{}`", name(a)))
            }
            ffi::SQLITE_CREATE_TEMP_TABLE | ffi::SQLITE_CREATE_TEMP_INDEX => {
                Err(format!("create temporary `{}`", name(a)))
            }
            ffi::SQLITE_CREATE_VTABLE | ffi::SQLITE_DROP_VTABLE => {
                Err(format!("use virtual table `{}`", name(a)))
            }
            _ => Err(format!("perform SQLite action {action}")),
        }
    }
}

/// The tables SQLite reads and writes itself while a plugin creates, alters or drops its own
/// tables. SQLite refuses direct writes to them while `writable_schema` is off (and `PRAGMA`
/// is refused to plugins); reading them shows the schema (names and definitions), never rows.
fn is_schema_table(table: &str) -> bool {
    matches!(
        table.to_ascii_lowercase().as_str(),
        "sqlite_master" | "sqlite_schema" | "sqlite_temp_master" | "sqlite_temp_schema"
    )
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Per-connection state, shared between the authorizer and [`place`].
#[derive(Debug)]
struct Connection {
    id: i64,
    grant: Mutex<Option<Arc<Grant>>>,
}

/// Every open SQLite connection of the process, by the id `plexica_connection_id()` returns.
static CONNECTIONS: LazyLock<Mutex<HashMap<i64, Arc<Connection>>>> = LazyLock::new(Mutex::default);
static NEXT_ID: AtomicI64 = AtomicI64::new(1);

/// Makes every SQLite connection opened from now on carry the authorizer. Idempotent; called
/// before any pool opens.
pub fn install() -> DbResult<()> {
    static RESULT: OnceLock<c_int> = OnceLock::new();
    // SAFETY: `on_open` has the signature SQLite expects of an auto extension.
    let rc = *RESULT.get_or_init(|| unsafe { ffi::sqlite3_auto_extension(Some(on_open)) });
    if rc == ffi::SQLITE_OK {
        Ok(())
    } else {
        Err(DbError::Guard(format!(
            "cannot install the SQLite authorizer (code {rc})"
        )))
    }
}

/// Auto extension: runs inside `sqlite3_open*` for every new connection.
unsafe extern "C" fn on_open(
    db: *mut ffi::sqlite3,
    _error: *mut *mut c_char,
    _api: *const ffi::sqlite3_api_routines,
) -> c_int {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let connection = Arc::new(Connection {
        id,
        grant: Mutex::default(),
    });
    lock(&CONNECTIONS).insert(id, Arc::clone(&connection));
    let data = Arc::into_raw(connection).cast_mut().cast::<c_void>();
    // SAFETY: `db` is the connection being opened. The function owns one strong count of the
    // `Connection` (released by `on_close`, which SQLite also calls if registration fails);
    // the authorizer borrows the same pointer, which stays valid until the connection closes
    // and the function is destroyed, after which SQLite calls the authorizer no more.
    unsafe {
        let rc = ffi::sqlite3_create_function_v2(
            db,
            c"plexica_connection_id".as_ptr(),
            0,
            ffi::SQLITE_UTF8 | ffi::SQLITE_DIRECTONLY,
            data,
            Some(connection_id),
            None,
            None,
            Some(on_close),
        );
        if rc != ffi::SQLITE_OK {
            return rc;
        }
        ffi::sqlite3_set_authorizer(db, Some(authorize), data)
    }
}

/// `plexica_connection_id()`: the id under which [`CONNECTIONS`] knows this connection.
unsafe extern "C" fn connection_id(
    context: *mut ffi::sqlite3_context,
    _argc: c_int,
    _argv: *mut *mut ffi::sqlite3_value,
) {
    // SAFETY: the user data is the `Connection` registered in `on_open`, alive while the
    // function is.
    unsafe {
        let connection = &*ffi::sqlite3_user_data(context).cast::<Connection>();
        ffi::sqlite3_result_int64(context, connection.id);
    }
}

/// The connection closes: forget it and release the function's count.
unsafe extern "C" fn on_close(data: *mut c_void) {
    // SAFETY: `data` came from `Arc::into_raw` in `on_open`; SQLite calls this once.
    let connection = unsafe { Arc::from_raw(data.cast_const().cast::<Connection>()) };
    lock(&CONNECTIONS).remove(&connection.id);
}

unsafe extern "C" fn authorize(
    data: *mut c_void,
    action: c_int,
    a: *const c_char,
    b: *const c_char,
    database: *const c_char,
    inner: *const c_char,
) -> c_int {
    // SAFETY: see `on_open`: `data` is the connection's `Connection`, alive while it is open.
    let connection = unsafe { &*data.cast_const().cast::<Connection>() };
    let Some(grant) = lock(&connection.grant).clone() else {
        return ffi::SQLITE_OK;
    };
    // SAFETY: SQLite passes NUL-terminated strings or null.
    let text = |p: *const c_char| (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_str());
    let mut args = [None; 4];
    for (slot, p) in args.iter_mut().zip([a, b, database, inner]) {
        match text(p) {
            None => {}
            Some(Ok(s)) => *slot = Some(s),
            Some(Err(_)) => return ffi::SQLITE_DENY,
        }
    }
    match grant.decide(action, args) {
        Ok(()) => ffi::SQLITE_OK,
        Err(refused) => {
            lock(&grant.refusal).get_or_insert(refused);
            ffi::SQLITE_DENY
        }
    }
}

/// While alive, `grant` governs what `conn` may compile; dropping it lifts the grant.
#[derive(Debug)]
pub struct Placed {
    connection: Arc<Connection>,
}

impl Drop for Placed {
    fn drop(&mut self) {
        *lock(&self.connection.grant) = None;
    }
}

/// Places `grant` on `conn` (a SQLite connection) until the returned value is dropped.
pub async fn place(conn: &mut AnyConnection, grant: Arc<Grant>) -> DbResult<Placed> {
    let id: i64 = sqlx::query_scalar("SELECT plexica_connection_id()")
        .fetch_one(&mut *conn)
        .await?;
    let connection = lock(&CONNECTIONS)
        .get(&id)
        .cloned()
        .ok_or_else(|| DbError::Guard(format!("SQLite connection {id} is not known")))?;
    *lock(&connection.grant) = Some(grant);
    Ok(Placed { connection })
}
