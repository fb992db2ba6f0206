//! Write transactions that may emit events. The outbox invariant — an event is written in the
//! transaction that made its change, as its last write (see [`super::outbox::append`]) — is a
//! property of these types: the only way to commit one is [`WriteTx::commit`], which appends
//! the events and then commits. Dropping one rolls it back.

use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

use plexica_sdk::api::events::Event;
use sqlx::{Any, AnyConnection, AnyPool, Transaction};

use super::DbResult;

/// A write transaction on the core database (platform rows, tenant lifecycle events).
pub type CoreTx = WriteTx<CoreDatabase>;

/// A write transaction on one tenant's data space (its rows and its events).
pub type TenantTx = WriteTx<TenantDatabase>;

/// Marks a transaction on the core database.
#[derive(Debug)]
pub enum CoreDatabase {}

/// Marks a transaction on a tenant's data space.
#[derive(Debug)]
pub enum TenantDatabase {}

/// A write transaction on the database `D`: statements run on it through `&mut **tx`, and it
/// ends with [`WriteTx::commit`].
#[derive(Debug)]
pub struct WriteTx<D> {
    tx: Transaction<'static, Any>,
    database: PhantomData<D>,
}

impl<D> WriteTx<D> {
    /// Starts a write transaction on `pool` ([`super::begin_write`]).
    pub(super) async fn begin(pool: &AnyPool) -> DbResult<Self> {
        Ok(Self {
            tx: super::begin_write(pool).await?,
            database: PhantomData,
        })
    }

    /// Appends `events` to the outbox of this database, in order, then commits: the change and
    /// its events become visible together, or not at all.
    pub async fn commit<'a>(mut self, events: impl IntoIterator<Item = &'a Event>) -> DbResult<()> {
        for event in events {
            super::outbox::append(&mut self.tx, event).await?;
        }
        self.tx.commit().await?;
        Ok(())
    }
}

impl<D> Deref for WriteTx<D> {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl<D> DerefMut for WriteTx<D> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}
