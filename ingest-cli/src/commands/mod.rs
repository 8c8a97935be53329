//! One module per subcommand, each with its `Args` and `run`.

pub mod add;
pub mod profiles;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Add(args) => add::run(args),
        Command::Profiles(args) => profiles::run(args),
    }
}
