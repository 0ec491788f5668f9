//! The connections behind the store. PostgreSQL: one pool for everything.
//! SQLite: one connection for writes, so that writers queue here rather than
//! in SQLite's busy handler (which sleeps), and a few for reads beside it
//! (WAL), which refuse writes so that none goes astray. SQLite's connections
//! are held open rather than pooled: a pool checks each connection when it
//! comes back, one more round trip to the connection's thread per query.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, ConnectOptions, Connection, Executor};
use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard, Semaphore, SemaphorePermit};

use super::Error;

/// How long a request waits for a SQLite connection before it is told the database is unavailable.
const SQLITE_WAIT: Duration = Duration::from_secs(10);
/// How long a request waits for a PostgreSQL connection: a database that does
/// not answer within a second gets a clear 503 rather than a hanging request.
const POSTGRES_WAIT: Duration = Duration::from_secs(1);
const SQLITE_READERS: usize = 4;
const POSTGRES_CONNECTIONS: u32 = 16;

/// Connections for one use (reads or writes).
#[derive(Clone)]
pub(super) enum Conns {
    Held(Arc<Held>),
    Pool(AnyPool),
}

/// A fixed set of open connections; a request takes a free one or waits.
pub(super) struct Held {
    conns: Vec<Mutex<Option<AnyConnection>>>,
    free: Semaphore,
    next: AtomicUsize,
}

/// A connection taken for one operation; it goes back when dropped.
pub(super) enum Conn<'a> {
    // The guard is dropped before the permit, so a permit always finds a free connection.
    Held {
        conn: MappedMutexGuard<'a, AnyConnection>,
        _permit: SemaphorePermit<'a>,
    },
    Pool(PoolConnection<Any>),
}

/// Opens the connections for reads and for writes.
pub(super) async fn open(
    options: AnyConnectOptions,
    sqlite: bool,
    in_memory: bool,
) -> Result<(Conns, Conns), sqlx::Error> {
    if !sqlite {
        let pool = AnyPoolOptions::new()
            .max_connections(POSTGRES_CONNECTIONS)
            .acquire_timeout(POSTGRES_WAIT)
            .test_before_acquire(false)
            .connect_with(options)
            .await?;
        return Ok((Conns::Pool(pool.clone()), Conns::Pool(pool)));
    }
    let writer = options.connect().await?;
    let writes = Conns::held(vec![sqlite_pragmas(writer, false).await?]);
    if in_memory {
        // One connection is the whole in-memory database.
        return Ok((writes.clone(), writes));
    }
    let mut readers = Vec::with_capacity(SQLITE_READERS);
    for _ in 0..SQLITE_READERS {
        readers.push(sqlite_pragmas(options.connect().await?, true).await?);
    }
    if let Conns::Held(held) = &writes {
        let checkpointer = sqlite_pragmas(options.connect().await?, false).await?;
        tokio::spawn(checkpoints(checkpointer, Arc::downgrade(held)));
    }
    Ok((Conns::held(readers), writes))
}

/// How often the write-ahead log is copied into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// Copies the write-ahead log into the database file from a connection of
/// its own, so that the writer seldom does it in the middle of a request (a
/// checkpoint on the writer stalls every write queued behind it). PASSIVE: it
/// never waits for the writer or the readers. The writer still checkpoints
/// when the log reaches 1,000 pages (SQLite's default), but finds most of it
/// copied already. Ends when the store is closed or dropped.
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
    }
    Ok(conn)
}

impl Conns {
    fn held(conns: Vec<AnyConnection>) -> Conns {
        Conns::Held(Arc::new(Held {
            free: Semaphore::new(conns.len()),
            conns: conns.into_iter().map(|c| Mutex::new(Some(c))).collect(),
            next: AtomicUsize::new(0),
        }))
    }

    pub(super) async fn get(&self) -> Result<Conn<'_>, Error> {
        match self {
            Conns::Pool(pool) => Ok(Conn::Pool(pool.acquire().await?)),
            Conns::Held(held) => {
                let permit = tokio::time::timeout(SQLITE_WAIT, held.free.acquire())
                    .await
                    .map_err(|_| Error::Unavailable("every database connection is busy".into()))?
                    .map_err(|_| Error::Unavailable("the database is closed".into()))?;
                let start = held.next.fetch_add(1, Ordering::Relaxed);
                let count = held.conns.len();
                for i in 0..count {
                    let Ok(guard) = held.conns[(start + i) % count].try_lock() else {
                        continue;
                    };
                    return MutexGuard::try_map(guard, Option::as_mut)
                        .map(|conn| Conn::Held {
                            conn,
                            _permit: permit,
                        })
                        .map_err(|_| Error::Unavailable("the database is closed".into()));
                }
                Err(Error::Unavailable(
                    "no free database connection (a bug: a permit without one)".into(),
                ))
            }
        }
    }

    /// Connections open, idle and in use.
    pub(super) fn usage(&self) -> (u32, u32) {
        match self {
            Conns::Pool(pool) => {
                let idle = pool.num_idle() as u32;
                (idle, pool.size().saturating_sub(idle))
            }
            Conns::Held(held) => {
                let idle = held.free.available_permits() as u32;
                (idle, held.conns.len() as u32 - idle)
            }
        }
    }

    pub(super) async fn close(&self) {
        match self {
            Conns::Pool(pool) => pool.close().await,
            Conns::Held(held) => {
                held.free.close();
                for conn in &held.conns {
                    if let Some(conn) = conn.lock().await.take() {
                        let _ = conn.close().await;
                    }
                }
            }
        }
    }
}

impl Deref for Conn<'_> {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match self {
            Conn::Held { conn, .. } => conn,
            Conn::Pool(conn) => conn,
        }
    }
}

impl DerefMut for Conn<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            Conn::Held { conn, .. } => conn,
            Conn::Pool(conn) => conn,
        }
    }
}
