//! Owners in the database replicas share (`conform_owners`): a name
//! claimed through one replica is owned on all.

use std::sync::Arc;

use super::{Kind, OwnerTable, TableResult};
use crate::metadata::database::Database;

/// The owners table in the shared database.
pub(super) struct PostgresOwners {
    database: Arc<Database>,
}

impl PostgresOwners {
    /// The table in `database`.
    pub(super) fn new(database: Arc<Database>) -> PostgresOwners {
        PostgresOwners { database }
    }
}

impl OwnerTable for PostgresOwners {
    fn seed(&self, kind: Kind, names: &[&str], owner: &str) -> TableResult<()> {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let owner = owner.to_string();
        self.database.run(move |c| {
            c.execute(
                "INSERT INTO conform_owners (kind, name, owner) SELECT $1, name, $3 FROM UNNEST($2::TEXT[]) AS name
                 ON CONFLICT (kind, name) DO NOTHING",
                &[&kind.as_str(), &names, &owner],
            )
            .map(drop)
        })
    }

    fn owner_of(&self, kind: Kind, name: &str) -> TableResult<Option<String>> {
        let name = name.to_string();
        self.database.run(move |c| {
            c.query_opt(
                "SELECT owner FROM conform_owners WHERE kind = $1 AND name = $2",
                &[&kind.as_str(), &name],
            )
            .map(|row| row.map(|r| r.get(0)))
        })
    }

    fn claim(&self, kind: Kind, name: &str, owner: &str) -> TableResult<String> {
        let (name, owner) = (name.to_string(), owner.to_string());
        self.database.run(move |c| loop {
            // Claimed, or owned already. A claim another replica commits
            // while this statement runs is not in its snapshot: the next
            // statement sees it.
            let found = c.query_opt(
                "WITH claimed AS (
                     INSERT INTO conform_owners (kind, name, owner) VALUES ($1, $2, $3)
                     ON CONFLICT (kind, name) DO NOTHING RETURNING owner)
                 SELECT owner FROM claimed
                 UNION ALL
                 SELECT owner FROM conform_owners WHERE kind = $1 AND name = $2
                 LIMIT 1",
                &[&kind.as_str(), &name, &owner],
            )?;
            if let Some(row) = found {
                return Ok(row.get(0));
            }
        })
    }

    fn transfer(&self, kind: Kind, name: &str, owner: &str) -> TableResult<()> {
        let (name, owner) = (name.to_string(), owner.to_string());
        self.database.run(move |c| {
            c.execute(
                "INSERT INTO conform_owners (kind, name, owner) VALUES ($1, $2, $3)
                 ON CONFLICT (kind, name) DO UPDATE SET owner = EXCLUDED.owner",
                &[&kind.as_str(), &name, &owner],
            )
            .map(drop)
        })
    }
}
