//! Who owns a plugin name or a pack id: the first token that published it.
//!
//! Only the owner publishes new versions, so that no provider can take over
//! another's plugin and have uploaders' files run its code, and no
//! publisher can change another's standard under the conversions that use
//! it. Names seeded by the operator (and published by admin tokens) belong
//! to [`OPERATOR`], which every admin token acts for. An admin can transfer
//! a name. Ownership is kept in `catalog.sqlite` of the data directory and
//! survives restarts.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};

/// The owner of first-party names: the operator, acting through admin tokens.
pub const OPERATOR: &str = "operator";

/// What is owned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A plugin name.
    Plugin,
    /// A pack id.
    Pack,
}

impl Kind {
    /// What is owned, as the table and the API's `details` name it
    /// (`plugin`, `pack`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Plugin => "plugin",
            Kind::Pack => "pack",
        }
    }
}

/// The (kind, name) → owner table.
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
    /// Opens (or creates) the table in the database file `path`
    /// ([`conform_engine::DataDir::catalog_database`]).
    pub fn open(path: &Path) -> rusqlite::Result<Owners> {
        let db = Connection::open(path)?;
        db.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             CREATE TABLE IF NOT EXISTS owners (
                 kind TEXT NOT NULL, name TEXT NOT NULL, owner TEXT NOT NULL,
                 PRIMARY KEY (kind, name));",
        )?;
        // Stores of the first version of this table kept plugin names alone.
        let old: bool = db.query_row(
            "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'plugin_owners'",
            [],
            |r| r.get(0),
        )?;
        if old {
            db.execute_batch(
                "INSERT OR IGNORE INTO owners (kind, name, owner)
                     SELECT 'plugin', name, owner FROM plugin_owners;
                 DROP TABLE plugin_owners;",
            )?;
        }
        Ok(Owners { db: Mutex::new(db) })
    }

    /// Gives every name not owned yet to the operator (the seeded plugins
    /// and any installed before names were owned).
    pub fn seed<'a>(
        &self,
        kind: Kind,
        names: impl IntoIterator<Item = &'a str>,
    ) -> rusqlite::Result<()> {
        let mut db = self.db.lock().expect("not poisoned");
        let tx = db.transaction()?;
        for name in names {
            tx.execute(
                "INSERT OR IGNORE INTO owners (kind, name, owner) VALUES (?1, ?2, ?3)",
                params![kind.as_str(), name, OPERATOR],
            )?;
        }
        tx.commit()
    }

    /// The owner of `name`, if anyone published it.
    pub fn owner_of(&self, kind: Kind, name: &str) -> rusqlite::Result<Option<String>> {
        self.db
            .lock()
            .expect("not poisoned")
            .query_row(
                "SELECT owner FROM owners WHERE kind = ?1 AND name = ?2",
                params![kind.as_str(), name],
                |r| r.get(0),
            )
            .optional()
    }

    /// `Err` if someone other than `claimant` owns `name`; claims nothing.
    pub fn check(
        &self,
        kind: Kind,
        name: &str,
        claimant: &str,
    ) -> rusqlite::Result<Result<(), OwnedByAnother>> {
        Ok(match self.owner_of(kind, name)? {
            Some(owner) if owner != claimant => Err(OwnedByAnother { owner }),
            _ => Ok(()),
        })
    }

    /// Claims `name` for `owner` if nobody has it; `Err` if another owns it.
    pub fn claim(
        &self,
        kind: Kind,
        name: &str,
        owner: &str,
    ) -> rusqlite::Result<Result<(), OwnedByAnother>> {
        let db = self.db.lock().expect("not poisoned");
        db.execute(
            "INSERT OR IGNORE INTO owners (kind, name, owner) VALUES (?1, ?2, ?3)",
            params![kind.as_str(), name, owner],
        )?;
        let current: String = db.query_row(
            "SELECT owner FROM owners WHERE kind = ?1 AND name = ?2",
            params![kind.as_str(), name],
            |r| r.get(0),
        )?;
        Ok(if current == owner {
            Ok(())
        } else {
            Err(OwnedByAnother { owner: current })
        })
    }

    /// Gives `name` to `owner`.
    pub fn transfer(&self, kind: Kind, name: &str, owner: &str) -> rusqlite::Result<()> {
        self.db.lock().expect("not poisoned").execute(
            "INSERT INTO owners (kind, name, owner) VALUES (?1, ?2, ?3)
             ON CONFLICT(kind, name) DO UPDATE SET owner = excluded.owner",
            params![kind.as_str(), name, owner],
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
        let owners = Owners::open(&dir.path().join("catalog.sqlite")).unwrap();
        let plugin = Kind::Plugin;
        owners.seed(plugin, ["jinggong-parts"]).unwrap();
        assert!(owners.claim(plugin, "acme", "provider-a").unwrap().is_ok());
        assert!(owners.claim(plugin, "acme", "provider-a").unwrap().is_ok());
        let taken = owners
            .claim(plugin, "acme", "provider-b")
            .unwrap()
            .unwrap_err();
        assert_eq!(taken.owner, "provider-a");
        assert!(owners
            .claim(plugin, "jinggong-parts", "provider-a")
            .unwrap()
            .is_err());
        // A pack id of the same name is another thing.
        assert!(owners
            .claim(Kind::Pack, "acme", "publisher-c")
            .unwrap()
            .is_ok());
        drop(owners);
        let owners = Owners::open(&dir.path().join("catalog.sqlite")).unwrap();
        assert_eq!(
            owners.owner_of(plugin, "acme").unwrap().as_deref(),
            Some("provider-a")
        );
        owners.transfer(plugin, "acme", "provider-b").unwrap();
        assert!(owners.claim(plugin, "acme", "provider-b").unwrap().is_ok());
    }

    #[test]
    fn owners_kept_by_the_first_table_survive_the_upgrade() {
        let dir = tempfile::tempdir().unwrap();
        let db = Connection::open(dir.path().join("catalog.sqlite")).unwrap();
        db.execute_batch(
            "CREATE TABLE plugin_owners (name TEXT PRIMARY KEY, owner TEXT NOT NULL);
             INSERT INTO plugin_owners VALUES ('acme', 'provider-a');",
        )
        .unwrap();
        drop(db);
        let owners = Owners::open(&dir.path().join("catalog.sqlite")).unwrap();
        owners.seed(Kind::Plugin, ["acme"]).unwrap();
        assert_eq!(
            owners.owner_of(Kind::Plugin, "acme").unwrap().as_deref(),
            Some("provider-a")
        );
    }
}
