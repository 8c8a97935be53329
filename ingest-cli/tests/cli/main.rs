//! End-to-end tests of the `ingest` binary, one module a subcommand. Expected CIDs come from
//! `fixtures/vectors`.

mod common;

mod add;
mod archive;
mod catalogue;
mod fetch;
mod gateway;
mod profiles;
mod push;
mod record;
mod site;
mod verify;
mod volunteer;
