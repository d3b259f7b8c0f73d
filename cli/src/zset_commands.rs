//! Sorted-set commands of the command table. Empty until the engine's
//! sorted-set commands (`engine/src/zset/commands.rs`) land on `main`.

use kv_engine::Db;

use crate::commands::CommandSpec;
use crate::failure::Failure;
use crate::reply::Reply;

/// The sorted-set entries of the command table.
pub static COMMANDS: &[CommandSpec] = &[];

/// Runs a sorted-set command (never reached while [`COMMANDS`] is empty).
pub fn execute(_db: &Db, name: &str, _args: &[Vec<u8>]) -> Result<Reply, Failure> {
    Err(Failure::Usage(format!("ERR unknown command '{name}'")))
}
