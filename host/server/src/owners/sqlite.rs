//! Owners in `catalog.sqlite` of the data directory (the default).

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};

use super::{Kind, OwnerTable, TableResult};

/// The owners table in an SQLite file.
pub(super) struct SqliteOwners {
    db: Mutex<Connection>,
}

impl SqliteOwners {
    /// Opens (or creates) the table in the database file `path`
    /// ([`conform_engine::DataDir::catalog_database`]).
    pub(super) fn open(path: &Path) -> rusqlite::Result<SqliteOwners> {
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
        Ok(SqliteOwners { db: Mutex::new(db) })
    }

    fn db(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.db.lock().expect("not poisoned")
    }
}

impl OwnerTable for SqliteOwners {
    fn seed(&self, kind: Kind, names: &[&str], owner: &str) -> TableResult<()> {
        let mut db = self.db();
        let tx = db.transaction()?;
        for name in names {
            tx.execute(
                "INSERT OR IGNORE INTO owners (kind, name, owner) VALUES (?1, ?2, ?3)",
                params![kind.as_str(), name, owner],
            )?;
        }
        Ok(tx.commit()?)
    }

    fn owner_of(&self, kind: Kind, name: &str) -> TableResult<Option<String>> {
        Ok(self
            .db()
            .query_row(
                "SELECT owner FROM owners WHERE kind = ?1 AND name = ?2",
                params![kind.as_str(), name],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn claim(&self, kind: Kind, name: &str, owner: &str) -> TableResult<String> {
        let db = self.db();
        db.execute(
            "INSERT OR IGNORE INTO owners (kind, name, owner) VALUES (?1, ?2, ?3)",
            params![kind.as_str(), name, owner],
        )?;
        Ok(db.query_row(
            "SELECT owner FROM owners WHERE kind = ?1 AND name = ?2",
            params![kind.as_str(), name],
            |r| r.get(0),
        )?)
    }

    fn transfer(&self, kind: Kind, name: &str, owner: &str) -> TableResult<()> {
        self.db().execute(
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
    use crate::owners::Owners;
    use rusqlite::Connection;

    #[test]
    fn the_first_claim_wins_and_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let owners = Owners::with_table(Box::new(
            SqliteOwners::open(&dir.path().join("catalog.sqlite")).unwrap(),
        ));
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
        let owners = Owners::with_table(Box::new(
            SqliteOwners::open(&dir.path().join("catalog.sqlite")).unwrap(),
        ));
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
        let owners = Owners::with_table(Box::new(
            SqliteOwners::open(&dir.path().join("catalog.sqlite")).unwrap(),
        ));
        owners.seed(Kind::Plugin, ["acme"]).unwrap();
        assert_eq!(
            owners.owner_of(Kind::Plugin, "acme").unwrap().as_deref(),
            Some("provider-a")
        );
    }
}
