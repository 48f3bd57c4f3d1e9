//! `webpubsub`: one command-line tool for Azure Web PubSub and the local emulator.
//!
//! ```text
//! webpubsub emulator --port 8080                      # a local service; prints its connection string
//! export WEBPUBSUB_CONNECTION_STRING="Endpoint=http://127.0.0.1:8080;AccessKey=...;Version=1.0;"
//! webpubsub --hub chat listen --group room            # prints what arrives, survives drops
//! webpubsub --hub chat send --group room "hello"      # from another terminal
//! webpubsub --hub chat token --user alice --role webpubsub.joinLeaveGroup
//! ```
//!
//! Exit codes: 0 success; 1 a failure (the service refused, an endpoint unreachable, `exists`
//! or `check` answered no); 2 bad input (usage, a bad connection string, an invalid name).

#![allow(clippy::print_stdout, clippy::print_stderr)] // a command-line tool prints

mod commands;
mod connection;
mod failure;
mod output;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::connection::ConnectionArgs;
use crate::failure::Failure;

/// Azure Web PubSub from the command line: tokens, sends, a listening client, connections,
/// groups, permissions, and a local emulator. Works the same on Azure and on the emulator.
#[derive(Debug, Parser)]
#[command(name = "webpubsub", version, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    connection: ConnectionArgs,
    /// Show each request (operation, path, status) on stderr; never a key or a token.
    #[arg(long, short, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Mint a client access URL (or, with --json, the token, URL and expiry).
    Token(commands::token::TokenArgs),
    /// Send a message to everyone, a user, a group or a connection.
    Send(commands::send::SendArgs),
    /// Connect as a client (reliable protocol) and print every message that arrives.
    Listen(commands::listen::ListenArgs),
    /// List the connections in a group.
    Connections(commands::manage::ConnectionsArgs),
    /// Whether a connection, user or group exists (exit code 1 when not).
    Exists(commands::manage::TargetArgs),
    /// Close a connection, a user's connections, a group's, or all.
    Close(commands::manage::CloseArgs),
    /// Add a connection or a user (or the connections a filter selects) to a group.
    AddToGroup(commands::manage::GroupMembershipArgs),
    /// Remove a connection or a user (or the connections a filter selects) from a group.
    RemoveFromGroup(commands::manage::GroupMembershipArgs),
    /// Grant a connection a permission.
    Grant(commands::manage::PermissionArgs),
    /// Revoke a connection's permission.
    Revoke(commands::manage::PermissionArgs),
    /// Whether a connection has a permission (exit code 1 when not).
    Check(commands::manage::PermissionArgs),
    /// Run a local Web PubSub service (the `webpubsub-emulator` binary's options).
    Emulator(webpubsub_emulator::cli::EmulatorArgs),
}

fn verbose_logging() {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let targets = Targets::new()
        .with_target("webpubsub", LevelFilter::DEBUG)
        .with_target("webpubsub_client", LevelFilter::DEBUG);
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .without_time(),
        )
        .with(targets)
        .try_init();
}

async fn run(cli: Cli) -> Result<(), Failure> {
    if let Command::Emulator(args) = &cli.command {
        return webpubsub_emulator::cli::run(args)
            .await
            .map_err(|e| Failure::io("the emulator failed", &e));
    }
    let service = cli.connection.connect().await?;
    match cli.command {
        Command::Token(args) => commands::token::run(&service, args).await,
        Command::Send(args) => commands::send::run(&service, args).await,
        Command::Listen(args) => commands::listen::run(&service, args).await,
        Command::Connections(args) => commands::manage::connections(&service, args).await,
        Command::Exists(args) => commands::manage::exists(&service, args).await,
        Command::Close(args) => commands::manage::close(&service, args).await,
        Command::AddToGroup(args) => commands::manage::membership(&service, args, true).await,
        Command::RemoveFromGroup(args) => commands::manage::membership(&service, args, false).await,
        Command::Grant(args) => commands::manage::permission(&service, args, "grant").await,
        Command::Revoke(args) => commands::manage::permission(&service, args, "revoke").await,
        Command::Check(args) => commands::manage::permission(&service, args, "check").await,
        Command::Emulator(_) => Ok(()),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.verbose {
        verbose_logging();
    }
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}
