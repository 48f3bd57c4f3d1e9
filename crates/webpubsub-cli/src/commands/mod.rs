//! One module per group of subcommands.

pub(crate) mod listen;
pub(crate) mod manage;
pub(crate) mod send;
pub(crate) mod token;
