//! The store's one error type, how database errors map onto it (a database
//! that cannot serve now, a duplicate, anything else), and the count of
//! lost connections that makes the pool check its connections again.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0} already exists")]
    Duplicate(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error("unsupported database URL (expected sqlite:// or postgres://): {0}")]
    UnsupportedUrl(String),
    #[error("stored data is malformed: {0}")]
    Corrupt(String),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Sql(sqlx::Error),
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        let unavailable = match &err {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(db) => db.code().is_some_and(|code| cannot_serve(&code)),
            _ => false,
        };
        if unavailable || matches!(err, sqlx::Error::Protocol(_)) {
            connection_maybe_lost();
        }
        if unavailable {
            Error::Unavailable(err.to_string())
        } else {
            Error::Sql(err)
        }
    }
}

/// Whether a database error code says the database cannot serve now (rather
/// than that this statement is wrong): read-only, full, out of resources, shut
/// down or unreachable. SQLite's codes are numbers (the low byte is the
/// primary code); PostgreSQL's are SQLSTATEs.
fn cannot_serve(code: &str) -> bool {
    // PostgreSQL: connection exceptions, insufficient resources (disk full),
    // operator intervention (shutdown), a read-only transaction, system errors.
    let sqlstate = code.len() == 5
        && (code.starts_with("08")
            || code.starts_with("53")
            || code.starts_with("57P")
            || code == "25006"
            || code.starts_with("58"));
    // SQLite: BUSY, LOCKED, READONLY, IOERR, CORRUPT, FULL, CANTOPEN, and their
    // extended codes (all below 11,000, unlike any numeric SQLSTATE but 0xxxx).
    let sqlite = !code.starts_with('0')
        && code
            .parse::<i64>()
            .is_ok_and(|n| n < 11_000 && matches!(n & 0xff, 5 | 6 | 8 | 10 | 11 | 13 | 14));
    sqlstate || sqlite
}

impl Error {
    /// Maps a unique-constraint violation to `Duplicate(what)`, anything else unchanged.
    pub(super) fn duplicate_as(err: sqlx::Error, what: &'static str) -> Self {
        match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => Error::Duplicate(what),
            _ => err.into(),
        }
    }
}

/// Bumped whenever a query reports a lost or unusable database: every
/// PostgreSQL connection is checked once before its next use.
static LOSSES: AtomicU64 = AtomicU64::new(0);

/// Called for a query that failed as if its connection were lost.
pub(super) fn connection_maybe_lost() {
    LOSSES.fetch_add(1, Ordering::Relaxed);
}

/// Losses so far: a connection last sound before the latest is checked again.
pub(super) fn losses() -> u64 {
    LOSSES.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_of_a_database_that_cannot_serve_are_told_apart() {
        for code in [
            "8", "1032", "13", "10", "5", "08006", "57P01", "53100", "25006",
        ] {
            assert!(cannot_serve(code), "{code}");
        }
        for code in [
            "19", "2067", "1", "23505", "42601", "22P02", "22008", "21000", "01000",
        ] {
            assert!(!cannot_serve(code), "{code}");
        }
    }
}
