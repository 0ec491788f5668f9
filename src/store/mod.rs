//! The only SQL: one `Store` over SQLite or PostgreSQL through sqlx's `Any` driver.
//!
//! Queries are portable (`$1` placeholders, text ids, integer unix seconds);
//! migrations come in same-named pairs under `migrations/sqlite` and
//! `migrations/postgres`, picked by the URL's scheme.

mod accounts;
mod audit;
mod auth_codes;
mod auth_requests;
mod backup_codes;
mod clients;
mod connections;
mod consents;
mod contacts;
mod device_codes;
mod dpop_proofs;
mod error;
mod failure_counters;
mod grants;
mod housekeeping;
mod logout_deliveries;
mod member_search;
mod messages;
mod password_links;
mod pending_logins;
mod refresh_tokens;
mod remembered_devices;
mod seek;
mod sessions;
mod setup_tokens;
mod totp_factors;
mod user_contacts;
mod users;
mod webauthn;

pub use accounts::{NewTenant, Tenant, TenantSettings};
pub use audit::{AuditEntry, AuditEvent, AuditKey, AuditQuery, NewAuditEvent};
pub use auth_codes::{FirstRefresh, Redemption};
pub use backup_codes::BackupCodeSummary;
pub use clients::{Client, NewClient};
pub use consents::Consent;
pub use contacts::{Contact, ContactKey, ContactQuery, FoundMember, MemberCounts};
pub use device_codes::{AllowedDevice, DevicePoll, DeviceSignIn, NewDeviceCode, PendingDevice};
pub use error::Error;
pub use grants::{Grant, NewGrant};
pub use housekeeping::{Horizons, Purged, Readiness};
pub use logout_deliveries::LogoutDelivery;
pub use messages::{MessageStatus, NewMessage, OutboundMessage};
pub use pending_logins::{NewPendingLogin, PendingLogin};
pub use refresh_tokens::{RefreshRotation, RefreshStatus};
pub use remembered_devices::{NewDevice, RememberedDevice};
pub use seek::{Paged, Seek};
pub use sessions::{NewSession, Session, SessionListing};
pub use totp_factors::TotpFactor;
pub use users::{FactorSummary, NewUser, TotpInUse, User};
pub use webauthn::{NewChallenge, TakenChallenge, WebauthnCredential};

use std::path::Path;
use std::str::FromStr;

use sqlx::any::AnyConnectOptions;
use sqlx::migrate::Migrator;
use sqlx::ConnectOptions;

use connections::{Conn, Conns};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone, Copy, Debug)]
pub struct PoolUse {
    pub idle: u32,
    pub in_use: u32,
}

/// The database: every read and write of persistent state goes through here.
#[derive(Clone)]
pub struct Store {
    reads: Conns,
    writes: Conns,
    backend: Backend,
}

impl Store {
    /// Connects to `url` (`sqlite://path` or `postgres://...`), creating a SQLite
    /// file and its folder when missing.
    pub async fn connect(url: &str) -> Result<Store, Error> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(Error::UnsupportedUrl(redact_url(url)));
        };
        let mut url = url.to_string();
        if backend == Backend::Sqlite {
            prepare_sqlite_path(&url)?;
            if !url.contains("mode=") && !url.contains(":memory:") {
                url.push(if url.contains('?') { '&' } else { '?' });
                url.push_str("mode=rwc");
            }
        }
        let options = AnyConnectOptions::from_str(&url)
            .map_err(|e| Error::Unavailable(format!("{}: {e}", redact_url(&url))))?
            .disable_statement_logging();
        let in_memory = url.contains(":memory:");
        let (reads, writes) = connections::open(options, backend == Backend::Sqlite, in_memory)
            .await
            .map_err(|e| Error::Unavailable(format!("{}: {e}", redact_url(&url))))?;
        Ok(Store {
            reads,
            writes,
            backend,
        })
    }

    /// A connection for reads.
    async fn read(&self) -> Result<Conn, Error> {
        self.reads.get().await
    }

    /// A connection for writes (and for reads in the same transaction as writes).
    async fn write(&self) -> Result<Conn, Error> {
        self.writes.get().await
    }

    /// Applies pending migrations for this backend.
    fn migrator(&self) -> &'static Migrator {
        match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    pub async fn migrate(&self) -> Result<(), Error> {
        self.migrator().run(&mut *self.write().await?).await?;
        self.key_members_for_search().await
    }

    /// Connections to the database, idle and in use.
    pub fn pool_use(&self) -> PoolUse {
        let (mut idle, mut in_use) = self.reads.usage();
        if self.backend == Backend::Sqlite {
            let (writer_idle, writer_in_use) = self.writes.usage();
            idle += writer_idle;
            in_use += writer_in_use;
        }
        PoolUse { idle, in_use }
    }

    pub async fn close(&self) {
        self.reads.close().await;
        self.writes.close().await;
    }
}

/// Creates the folder of a SQLite database file so that `mode=rwc` can create the file.
fn prepare_sqlite_path(url: &str) -> Result<(), Error> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    let path = Path::new(path);
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            private_dir(dir)
                .map_err(|e| Error::Unavailable(format!("cannot create {}: {e}", dir.display())))?;
        }
    }
    if !url.contains("mode=ro") {
        private_file(path)
            .map_err(|e| Error::Unavailable(format!("cannot create {}: {e}", path.display())))?;
    }
    Ok(())
}

/// Creates a missing folder (and its missing parents) readable by the owner alone.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Creates the database file 0600 when missing (SQLite gives its `-wal` and
/// `-shm` files the database's mode), and takes group and other access away
/// from an existing one and its companions.
fn private_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    #[cfg(unix)]
    for suffix in ["", "-wal", "-shm"] {
        use std::os::unix::fs::PermissionsExt;
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        if let Ok(meta) = std::fs::metadata(&file) {
            let mode = meta.permissions().mode();
            if mode & 0o077 != 0 {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode & !0o077))?;
            }
        }
    }
    Ok(())
}

/// A database URL without its password, for messages.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

fn flag(value: bool) -> i64 {
    i64::from(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_come_in_matching_pairs() {
        let names = |dir: &str| {
            let mut names: Vec<String> = std::fs::read_dir(dir)
                .expect("migrations folder exists")
                .map(|e| {
                    e.expect("readable entry")
                        .file_name()
                        .to_string_lossy()
                        .into_owned()
                })
                .collect();
            names.sort();
            names
        };
        let sqlite = names("migrations/sqlite");
        assert!(!sqlite.is_empty());
        assert_eq!(sqlite, names("migrations/postgres"));
    }

    #[test]
    fn passwords_are_hidden_in_database_urls() {
        let shown = redact_url("postgres://app:hunter2@db:5432/idp");
        assert!(!shown.contains("hunter2"));
        assert!(shown.contains("app"));
    }
}
