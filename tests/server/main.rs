//! The HTTP API against the real `conform serve` binary on 127.0.0.1:0: one
//! test binary for all server tests (the harness is `support/server.rs`).

#[path = "../support/mod.rs"]
mod support;

mod hostile;
mod limits;
mod load;
mod operations;
mod page;
mod publish;
mod replicas;
mod serve;
