//! The connections behind the store, held open rather than pooled: sqlx's
//! pool checks each connection as it comes back, one more round trip (to
//! PostgreSQL, or to SQLite's connection thread) per query.
//!
//! PostgreSQL: one set for everything, opened as needed. A connection is
//! checked only when it may have been lost: after any query reported a lost
//! or unusable database, or after it sat idle; a lost one is opened again, so
//! the provider recovers from a database restart by itself.
//! SQLite: one connection for writes, so that writers queue here rather than
//! in SQLite's busy handler (which sleeps), and a few for reads beside it
//! (WAL), which refuse writes so that none goes astray.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::any::AnyConnectOptions;
use sqlx::{AnyConnection, ConnectOptions, Connection, Executor};
use tokio::sync::{Mutex, OwnedMappedMutexGuard, OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};

use super::error::{losses, Error};

/// How long a request waits for a SQLite connection before it is told the database is unavailable.
const SQLITE_WAIT: Duration = Duration::from_secs(10);
/// How long a request waits for a PostgreSQL connection: a database that does
/// not answer within a second gets a clear 503 rather than a hanging request.
const POSTGRES_WAIT: Duration = Duration::from_secs(1);
const SQLITE_READERS: usize = 4;
const POSTGRES_CONNECTIONS: usize = 16;
/// A PostgreSQL connection idle this long is checked before it is used
/// (a server or a firewall may have dropped it meanwhile).
const IDLE_CHECK: Duration = Duration::from_secs(30);

/// Connections for one use (reads or writes).
#[derive(Clone)]
pub(super) struct Conns(Arc<Held>);

/// A fixed set of connections; a request takes a free one or waits.
pub(super) struct Held {
    slots: Vec<Arc<Mutex<Slot>>>,
    free: Arc<Semaphore>,
    next: AtomicUsize,
    wait: Duration,
    /// How a missing connection is opened (PostgreSQL); SQLite's are all open from the start.
    reopen: Option<AnyConnectOptions>,
}

struct Slot {
    conn: Option<AnyConnection>,
    /// `LOSSES` when this connection was last known sound.
    sound_at: u64,
    used_at: Instant,
}

/// A connection taken for one operation; it goes back when dropped.
pub(super) struct Conn {
    /// `Some` from the start until the drop.
    taken: Option<Taken>,
    /// PostgreSQL: a connection dropped with work unsent (a transaction's
    /// rollback, when a request was cancelled inside it) is settled at once.
    settle: bool,
}

struct Taken {
    // The guard is dropped before the permit, so a permit always finds a free connection.
    conn: OwnedMappedMutexGuard<Slot, AnyConnection>,
    _permit: OwnedSemaphorePermit,
}

/// Opens the connections for reads and for writes.
pub(super) async fn open(
    options: AnyConnectOptions,
    sqlite: bool,
    in_memory: bool,
) -> Result<(Conns, Conns), sqlx::Error> {
    if !sqlite {
        // One connection now, so that a wrong address fails the start; the rest as needed.
        let first = tokio::time::timeout(POSTGRES_WAIT, options.connect())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)??;
        let mut conns = vec![Some(first)];
        conns.resize_with(POSTGRES_CONNECTIONS, || None);
        let all = Conns::new(conns, POSTGRES_WAIT, Some(options));
        return Ok((all.clone(), all));
    }
    let writer = sqlite_pragmas(options.connect().await?, false).await?;
    let writes = Conns::new(vec![Some(writer)], SQLITE_WAIT, None);
    if in_memory {
        // One connection is the whole in-memory database.
        return Ok((writes.clone(), writes));
    }
    let mut readers = Vec::with_capacity(SQLITE_READERS);
    for _ in 0..SQLITE_READERS {
        readers.push(Some(sqlite_pragmas(options.connect().await?, true).await?));
    }
    let checkpointer = sqlite_pragmas(options.connect().await?, false).await?;
    tokio::spawn(checkpoints(checkpointer, Arc::downgrade(&writes.0)));
    Ok((Conns::new(readers, SQLITE_WAIT, None), writes))
}

/// How often the write-ahead log is copied into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// Copies the write-ahead log into the database file from a connection of
/// its own, so that the writer seldom does it in the middle of a request (a
/// checkpoint on the writer stalls every write queued behind it). PASSIVE: it
/// never waits for the writer or the readers. The writer still checkpoints
/// when the log reaches 10,000 pages, which it seldom does. Ends when the store is closed or dropped.
async fn checkpoints(mut conn: AnyConnection, writer: std::sync::Weak<Held>) {
    let mut every = tokio::time::interval(CHECKPOINT_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        match writer.upgrade() {
            Some(held) if !held.free.is_closed() => {}
            _ => break,
        }
        if let Err(err) = conn.execute("pragma wal_checkpoint(PASSIVE)").await {
            tracing::debug!(error = %err, "checkpoint");
        }
    }
    let _ = conn.close().await;
}

/// WAL lets readers run beside the writer; the busy timeout covers other
/// processes (the command line) writing at the same time.
async fn sqlite_pragmas(
    mut conn: AnyConnection,
    read_only: bool,
) -> Result<AnyConnection, sqlx::Error> {
    conn.execute(
        "pragma journal_mode = wal; pragma synchronous = normal; \
         pragma busy_timeout = 10000; pragma foreign_keys = on;",
    )
    .await?;
    if read_only {
        conn.execute("pragma query_only = on").await?;
    } else {
        // The checkpointer above copies the log; the writer does it itself
        // only past 10,000 pages (40 MB), so that a burst of writes (the
        // purge, an import) does not stall in a checkpoint and its fsync.
        conn.execute("pragma wal_autocheckpoint = 10000").await?;
    }
    Ok(conn)
}

impl Conns {
    fn new(
        conns: Vec<Option<AnyConnection>>,
        wait: Duration,
        reopen: Option<AnyConnectOptions>,
    ) -> Conns {
        let now = Instant::now();
        let sound_at = losses();
        Conns(Arc::new(Held {
            free: Arc::new(Semaphore::new(conns.len())),
            slots: conns
                .into_iter()
                .map(|conn| {
                    Arc::new(Mutex::new(Slot {
                        conn,
                        sound_at,
                        used_at: now,
                    }))
                })
                .collect(),
            next: AtomicUsize::new(0),
            wait,
            reopen,
        }))
    }

    pub(super) async fn get(&self) -> Result<Conn, Error> {
        let held = &*self.0;
        let permit = tokio::time::timeout(held.wait, held.free.clone().acquire_owned())
            .await
            .map_err(|_| Error::Unavailable("every database connection is busy".into()))?
            .map_err(|_| closed())?;
        let start = held.next.fetch_add(1, Ordering::Relaxed);
        let count = held.slots.len();
        let slot_at = |i: usize| held.slots[(start + i) % count].clone().try_lock_owned();
        // The permit promises a free slot, but another request may be looking
        // at it for a moment (and pass it by): then look again.
        for _ in 0..1000 {
            // A free slot with an open connection first; an empty one (opened now) only if none.
            for i in 0..count {
                if let Ok(slot) = slot_at(i) {
                    if slot.conn.is_some() {
                        return held.hand_out(slot, permit).await;
                    }
                }
            }
            for i in 0..count {
                if let Ok(slot) = slot_at(i) {
                    return held.hand_out(slot, permit).await;
                }
            }
            tokio::task::yield_now().await;
        }
        Err(Error::Unavailable(
            "no free database connection (a bug: a permit without one)".into(),
        ))
    }

    /// Connections idle and in use.
    pub(super) fn usage(&self) -> (u32, u32) {
        let held = &*self.0;
        let idle = held.free.available_permits() as u32;
        (idle, held.slots.len() as u32 - idle)
    }

    pub(super) async fn close(&self) {
        let held = &*self.0;
        held.free.close();
        for slot in &held.slots {
            let conn = slot.lock().await.conn.take();
            if let Some(conn) = conn {
                let _ = conn.close().await;
            }
        }
    }
}

impl Held {
    async fn hand_out(
        &self,
        mut slot: OwnedMutexGuard<Slot>,
        permit: OwnedSemaphorePermit,
    ) -> Result<Conn, Error> {
        if let Some(options) = &self.reopen {
            make_sound(&mut slot, options).await?;
        }
        let conn =
            OwnedMutexGuard::try_map(slot, |slot| slot.conn.as_mut()).map_err(|_| closed())?;
        Ok(Conn {
            taken: Some(Taken {
                conn,
                _permit: permit,
            }),
            settle: self.reopen.is_some(),
        })
    }
}

fn closed() -> Error {
    Error::Unavailable("the database is closed".into())
}

/// Checks a connection that may have been lost (one ping) and opens a new
/// one where there is none; a database that does not answer within
/// `POSTGRES_WAIT` is unavailable.
async fn make_sound(slot: &mut Slot, options: &AnyConnectOptions) -> Result<(), Error> {
    let losses = losses();
    let suspect = slot.sound_at != losses || slot.used_at.elapsed() >= IDLE_CHECK;
    if let (true, Some(conn)) = (suspect, slot.conn.as_mut()) {
        let pinged = tokio::time::timeout(POSTGRES_WAIT, conn.ping()).await;
        if !matches!(pinged, Ok(Ok(()))) {
            if let Some(lost) = slot.conn.take() {
                let _ = tokio::time::timeout(POSTGRES_WAIT, lost.close_hard()).await;
            }
        }
    }
    if slot.conn.is_none() {
        // Not counted as a lost connection: the others are as sound as before.
        let opened = match tokio::time::timeout(POSTGRES_WAIT, options.connect()).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(err)) => return Err(Error::Unavailable(err.to_string())),
            Err(_) => return Err(Error::Unavailable("the database did not answer".into())),
        };
        slot.conn = Some(opened);
    }
    slot.sound_at = losses;
    slot.used_at = Instant::now();
    Ok(())
}

impl Deref for Conn {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        &self.taken.as_ref().expect("taken until dropped").conn
    }
}

impl DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.taken.as_mut().expect("taken until dropped").conn
    }
}

impl Drop for Conn {
    /// sqlx only queues the rollback of a transaction whose request was
    /// cancelled; unsent, it would leave the transaction (and its row locks)
    /// open in PostgreSQL until the connection's next use. It is sent now,
    /// and the connection goes back once the server has answered; one that
    /// does not answer is checked again before its next use.
    fn drop(&mut self) {
        let Some(mut taken) = self.taken.take() else {
            return;
        };
        if !self.settle || !taken.conn.should_flush() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            let settled = tokio::time::timeout(POSTGRES_WAIT, taken.conn.ping()).await;
            if !matches!(settled, Ok(Ok(()))) {
                super::error::connection_maybe_lost();
            }
            drop(taken);
        });
    }
}
