//! Who owns a plugin name or a pack id: the first token that published it.
//!
//! Only the owner publishes new versions, so that no provider can take over
//! another's plugin and have uploaders' files run its code, and no
//! publisher can change another's standard under the conversions that use
//! it. Names seeded by the operator (and published by admin tokens) belong
//! to [`OPERATOR`], which every admin token acts for. An admin can transfer
//! a name. Ownership is kept in `catalog.sqlite` of the data directory
//! ([`sqlite`]), or in the database replicas share ([`postgres`]), and
//! survives restarts.

mod postgres;
mod sqlite;

use std::sync::Arc;

pub use crate::metadata::{TableError, TableResult};

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

/// A name someone else owns.
#[derive(Debug)]
pub struct OwnedByAnother {
    /// The owner.
    pub owner: String,
}

/// Where owners are kept: the (kind, name) → owner table.
pub trait OwnerTable: Send + Sync {
    /// Gives every name of `names` not owned yet to `owner`.
    fn seed(&self, kind: Kind, names: &[&str], owner: &str) -> TableResult<()>;
    /// The owner of `name`, if anyone published it.
    fn owner_of(&self, kind: Kind, name: &str) -> TableResult<Option<String>>;
    /// Gives `name` to `owner` if nobody has it; its owner afterwards.
    fn claim(&self, kind: Kind, name: &str, owner: &str) -> TableResult<String>;
    /// Gives `name` to `owner`, whoever had it.
    fn transfer(&self, kind: Kind, name: &str, owner: &str) -> TableResult<()>;
}

/// The owners of names, over the table the storage settings choose.
pub struct Owners {
    table: Box<dyn OwnerTable>,
}

impl Owners {
    /// The owners in the shared `database` if there is one, else in the
    /// data directory's `catalog.sqlite`.
    pub(crate) fn open(
        data: &conform_engine::DataDir,
        database: Option<Arc<crate::metadata::database::Database>>,
    ) -> anyhow::Result<Owners> {
        let table: Box<dyn OwnerTable> = match database {
            Some(database) => Box::new(postgres::PostgresOwners::new(database)),
            None => Box::new(sqlite::SqliteOwners::open(&data.catalog_database())?),
        };
        Ok(Owners { table })
    }

    /// The owners kept in `table`.
    pub fn with_table(table: Box<dyn OwnerTable>) -> Owners {
        Owners { table }
    }

    /// Gives every name not owned yet to the operator (the seeded plugins
    /// and any installed before names were owned).
    pub fn seed<'a>(
        &self,
        kind: Kind,
        names: impl IntoIterator<Item = &'a str>,
    ) -> TableResult<()> {
        let names: Vec<&str> = names.into_iter().collect();
        self.table.seed(kind, &names, OPERATOR)
    }

    /// The owner of `name`, if anyone published it.
    pub fn owner_of(&self, kind: Kind, name: &str) -> TableResult<Option<String>> {
        self.table.owner_of(kind, name)
    }

    /// `Err` if someone other than `claimant` owns `name`; claims nothing.
    pub fn check(
        &self,
        kind: Kind,
        name: &str,
        claimant: &str,
    ) -> TableResult<Result<(), OwnedByAnother>> {
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
    ) -> TableResult<Result<(), OwnedByAnother>> {
        let current = self.table.claim(kind, name, owner)?;
        Ok(if current == owner {
            Ok(())
        } else {
            Err(OwnedByAnother { owner: current })
        })
    }

    /// Gives `name` to `owner`.
    pub fn transfer(&self, kind: Kind, name: &str, owner: &str) -> TableResult<()> {
        self.table.transfer(kind, name, owner)
    }
}
