//! Who owns a plugin name: the first provider token that published it.
//!
//! Only the owner publishes new versions of a name, so that no provider can
//! take over another's plugin and have uploaders' files run its code. Names
//! seeded by the operator (and published by admin tokens) belong to
//! [`OPERATOR`], which every admin token acts for. An admin can transfer a
//! name. Ownership is kept in `catalog.sqlite` of the data directory and
//! survives restarts.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};

/// The owner of first-party names: the operator, acting through admin tokens.
pub const OPERATOR: &str = "operator";

/// The name → owner table.
pub struct Owners {
    db: Mutex<Connection>,
}

/// A name someone else owns.
#[derive(Debug)]
pub struct OwnedByAnother {
    /// The owner.
    pub owner: String,
}

impl Owners {
    /// Opens (or creates) the table in `data_dir`.
    pub fn open(data_dir: &Path) -> rusqlite::Result<Owners> {
        let db = Connection::open(data_dir.join("catalog.sqlite"))?;
        db.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             CREATE TABLE IF NOT EXISTS plugin_owners (
                 name TEXT PRIMARY KEY, owner TEXT NOT NULL);",
        )?;
        Ok(Owners { db: Mutex::new(db) })
    }

    /// Gives every name not owned yet to the operator (the seeded plugins
    /// and any installed before names were owned).
    pub fn seed<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> rusqlite::Result<()> {
        let mut db = self.db.lock().expect("not poisoned");
        let tx = db.transaction()?;
        for name in names {
            tx.execute(
                "INSERT OR IGNORE INTO plugin_owners (name, owner) VALUES (?1, ?2)",
                params![name, OPERATOR],
            )?;
        }
        tx.commit()
    }

    /// The owner of `name`, if anyone published it.
    pub fn owner_of(&self, name: &str) -> rusqlite::Result<Option<String>> {
        self.db
            .lock()
            .expect("not poisoned")
            .query_row(
                "SELECT owner FROM plugin_owners WHERE name = ?1",
                [name],
                |r| r.get(0),
            )
            .optional()
    }

    /// Claims `name` for `owner` if nobody has it; `Err` if another owns it.
    pub fn claim(&self, name: &str, owner: &str) -> rusqlite::Result<Result<(), OwnedByAnother>> {
        let db = self.db.lock().expect("not poisoned");
        db.execute(
            "INSERT OR IGNORE INTO plugin_owners (name, owner) VALUES (?1, ?2)",
            params![name, owner],
        )?;
        let current: String = db.query_row(
            "SELECT owner FROM plugin_owners WHERE name = ?1",
            [name],
            |r| r.get(0),
        )?;
        Ok(if current == owner {
            Ok(())
        } else {
            Err(OwnedByAnother { owner: current })
        })
    }

    /// Gives `name` to `owner`.
    pub fn transfer(&self, name: &str, owner: &str) -> rusqlite::Result<()> {
        self.db.lock().expect("not poisoned").execute(
            "INSERT INTO plugin_owners (name, owner) VALUES (?1, ?2)
             ON CONFLICT(name) DO UPDATE SET owner = excluded.owner",
            params![name, owner],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_claim_wins_and_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let owners = Owners::open(dir.path()).unwrap();
        owners.seed(["jinggong-parts"]).unwrap();
        assert!(owners.claim("acme", "provider-a").unwrap().is_ok());
        assert!(owners.claim("acme", "provider-a").unwrap().is_ok());
        let taken = owners.claim("acme", "provider-b").unwrap().unwrap_err();
        assert_eq!(taken.owner, "provider-a");
        assert!(owners
            .claim("jinggong-parts", "provider-a")
            .unwrap()
            .is_err());
        drop(owners);
        let owners = Owners::open(dir.path()).unwrap();
        assert_eq!(
            owners.owner_of("acme").unwrap().as_deref(),
            Some("provider-a")
        );
        owners.transfer("acme", "provider-b").unwrap();
        assert!(owners.claim("acme", "provider-b").unwrap().is_ok());
    }
}
