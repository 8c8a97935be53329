//! One module per subcommand, each with its `Args` and `run`.

pub mod add;
pub mod archive;
pub mod car;
pub mod catalogue;
pub mod fetch;
pub mod get;
pub mod merge;
pub mod outbox;
pub mod profiles;
pub mod push;
pub mod record;
pub mod site;
pub mod verify;
pub mod volunteer;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Add(args) => add::run(args),
        Command::Profiles(args) => profiles::run(args),
        Command::Archive(args) => archive::run(args),
        Command::Fetch(args) => fetch::run(args),
        Command::Record(args) => record::run(args),
        Command::Car(args) => car::run(args),
        Command::Merge(args) => merge::run(args),
        Command::Push(args) => push::run(args),
        Command::Publish(args) => push::run_publish(args),
        Command::Ls(args) => catalogue::ls(args),
        Command::Todo(args) => catalogue::todo(args),
        Command::ExportArchive(args) => catalogue::export_archive(args),
        Command::Verify(args) => verify::run(args),
        Command::Volunteer(args) => volunteer::run(*args),
        Command::Get(args) => get::run(args),
        Command::Site(args) => site::run(args),
    }
}
