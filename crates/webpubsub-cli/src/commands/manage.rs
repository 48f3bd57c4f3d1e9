//! The remaining operations, one subcommand each: `connections`, `exists`, `close`,
//! `add-to-group`, `remove-from-group`, `grant`, `revoke`, `check`.

use futures_util::TryStreamExt as _;
use webpubsub::{
    CloseConnectionOptions, CloseConnectionsOptions, Filter, GroupsFilterOptions, Permission,
    PermissionOptions,
};

use crate::connection::Service;
use crate::failure::Failure;
use crate::output::line;

/// `connections` options.
#[derive(Debug, clap::Args)]
pub(crate) struct ConnectionsArgs {
    /// The group.
    #[arg(long)]
    group: String,
    /// One JSON object per connection.
    #[arg(long)]
    json: bool,
}

/// One connection, user or group.
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
pub(crate) struct TargetArgs {
    /// A connection id.
    #[arg(long)]
    connection: Option<String>,
    /// A user id.
    #[arg(long)]
    user: Option<String>,
    /// A group.
    #[arg(long)]
    group: Option<String>,
}

/// `close` options.
#[derive(Debug, clap::Args)]
pub(crate) struct CloseArgs {
    #[command(flatten)]
    target: CloseTarget,
    /// The reason the clients are told.
    #[arg(long)]
    reason: Option<String>,
    /// Keep this connection open (repeatable; with --all or --group).
    #[arg(long = "exclude", value_name = "CONNECTION")]
    exclude: Vec<String>,
}

/// What `close` closes.
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
pub(crate) struct CloseTarget {
    /// One connection.
    #[arg(long)]
    connection: Option<String>,
    /// A user's connections.
    #[arg(long)]
    user: Option<String>,
    /// A group's connections.
    #[arg(long)]
    group: Option<String>,
    /// Every connection in the hub.
    #[arg(long)]
    all: bool,
}

/// `add-to-group` / `remove-from-group` options.
#[derive(Debug, clap::Args)]
pub(crate) struct GroupMembershipArgs {
    /// The group (remove-from-group: leave out with --all-groups).
    #[arg(long, required_unless_present = "all_groups")]
    group: Option<String>,
    /// From every group (remove-from-group, with --connection or --user).
    #[arg(long, conflicts_with_all = ["group", "filter"])]
    all_groups: bool,
    #[command(flatten)]
    who: Members,
}

/// Whose membership changes.
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
pub(crate) struct Members {
    /// One connection.
    #[arg(long)]
    connection: Option<String>,
    /// A user's connections.
    #[arg(long)]
    user: Option<String>,
    /// The connections an OData filter selects, e.g. `userId eq 'bob'`.
    #[arg(long)]
    filter: Option<String>,
}

/// `grant` / `revoke` / `check` options.
#[derive(Debug, clap::Args)]
pub(crate) struct PermissionArgs {
    /// The connection.
    #[arg(long)]
    connection: String,
    /// `sendToGroup` or `joinLeaveGroup`.
    #[arg(long)]
    permission: String,
    /// For this group only (default: every group).
    #[arg(long)]
    group: Option<String>,
}

pub(crate) async fn connections(service: &Service, args: ConnectionsArgs) -> Result<(), Failure> {
    let members: Vec<_> = service
        .list_connections_in_group(&args.group, None)
        .try_collect()
        .await?;
    for member in members {
        line(&match args.json {
            true => {
                serde_json::json!({"connectionId": member.connection_id, "userId": member.user_id})
                    .to_string()
            }
            false => format!(
                "{}\t{}",
                member.connection_id,
                member.user_id.as_deref().unwrap_or("-")
            ),
        });
    }
    Ok(())
}

pub(crate) async fn exists(service: &Service, args: TargetArgs) -> Result<(), Failure> {
    let found = match (&args.connection, &args.user, &args.group) {
        (Some(id), _, _) => service.connection_exists(id, None).await?,
        (_, Some(user), _) => service.user_exists(user, None).await?,
        (_, _, Some(group)) => service.group_exists(group, None).await?,
        _ => return Err(Failure::usage("name a --connection, --user or --group")),
    };
    line(if found { "true" } else { "false" });
    if found {
        Ok(())
    } else {
        Err(Failure::no())
    }
}

pub(crate) async fn close(service: &Service, args: CloseArgs) -> Result<(), Failure> {
    let many = CloseConnectionsOptions {
        excluded: args.exclude.clone(),
        reason: args.reason.clone(),
    };
    let target = &args.target;
    if !args.exclude.is_empty() && target.connection.is_some() {
        return Err(Failure::usage("--exclude applies to --all or --group"));
    }
    match (&target.connection, &target.user, &target.group) {
        (Some(id), _, _) => {
            let options = CloseConnectionOptions {
                reason: args.reason,
            };
            service.close_connection(id, Some(options)).await?
        }
        (_, Some(user), _) => service.close_user_connections(user, Some(many)).await?,
        (_, _, Some(group)) => service.close_group_connections(group, Some(many)).await?,
        _ => service.close_all_connections(Some(many)).await?,
    }
    Ok(())
}

pub(crate) async fn membership(
    service: &Service,
    args: GroupMembershipArgs,
    add: bool,
) -> Result<(), Failure> {
    let who = &args.who;
    if args.all_groups {
        if add {
            return Err(Failure::usage("--all-groups is for remove-from-group"));
        }
        return match (&who.connection, &who.user) {
            (Some(id), _) => Ok(service.remove_connection_from_all_groups(id, None).await?),
            (_, Some(user)) => Ok(service.remove_user_from_all_groups(user, None).await?),
            _ => Err(Failure::usage("--all-groups needs --connection or --user")),
        };
    }
    let group = args.group.as_deref().unwrap_or_default();
    match (&who.connection, &who.user, &who.filter) {
        (Some(id), _, _) if add => service.add_connection_to_group(group, id, None).await?,
        (Some(id), _, _) => {
            service
                .remove_connection_from_group(group, id, None)
                .await?
        }
        (_, Some(user), _) if add => service.add_user_to_group(group, user, None).await?,
        (_, Some(user), _) => service.remove_user_from_group(group, user, None).await?,
        (_, _, Some(expr)) => {
            let filter =
                Filter::parse(expr).map_err(|e| Failure::usage(format!("--filter: {e}")))?;
            let options = Some(GroupsFilterOptions {
                filter: Some(filter),
            });
            match add {
                true => service.add_connections_to_groups(&[group], options).await?,
                false => {
                    service
                        .remove_connections_from_groups(&[group], options)
                        .await?
                }
            }
        }
        _ => return Err(Failure::usage("name a --connection, --user or --filter")),
    }
    Ok(())
}

pub(crate) async fn permission(
    service: &Service,
    args: PermissionArgs,
    action: &str,
) -> Result<(), Failure> {
    let permission = Permission::parse(&args.permission)
        .map_err(|e| Failure::usage(format!("--permission: {e}")))?;
    let options = Some(PermissionOptions {
        target_name: args.group,
    });
    let connection = &args.connection;
    match action {
        "grant" => {
            service
                .grant_permission(permission, connection, options)
                .await?
        }
        "revoke" => {
            service
                .revoke_permission(permission, connection, options)
                .await?
        }
        _ => {
            let has = service
                .has_permission(permission, connection, options)
                .await?;
            line(if has { "true" } else { "false" });
            if !has {
                return Err(Failure::no());
            }
        }
    }
    Ok(())
}
