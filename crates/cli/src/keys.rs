//! `unimargin keys create --tenant <t> | list | revoke <id>`: API key management against the
//! configured store (the same file or Redis the server reads, so no restart is needed).

use anyhow::{Context, bail};
use chrono::Utc;
use clap::Subcommand;
use unimargin_server::auth::ApiKey;

use crate::config::Config;

/// What `unimargin keys` does.
#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// Make a key for a tenant; the key is printed once and only its salted hash is stored.
    Create {
        /// Tenant (1 to 64 of a-z, 0-9, `-`, `_`).
        #[arg(long)]
        tenant: String,
    },
    /// List keys (ids, tenants, dates; never a key).
    List,
    /// Revoke a key by id; it answers 401 from the next request on.
    Revoke {
        /// The key's id (the part after `um_`, before the second `_`).
        id: String,
    },
}

pub(crate) async fn run(config: &Config, command: KeysCommand) -> anyhow::Result<()> {
    let store = config.tenant_store()?;
    match command {
        KeysCommand::Create { tenant } => {
            let key = ApiKey::generate(&tenant)?;
            store
                .insert_key(&key.record)
                .await
                .context("storing the key")?;
            eprintln!(
                "created key {} for tenant {tenant}; it is shown once:",
                key.record.id
            );
            // The one place a key is written out: to the operator's terminal, on stdout.
            println!("{}", key.secret);
        }
        KeysCommand::List => {
            let keys = store.keys().await.context("reading keys")?;
            println!("{:<16}  {:<24}  {:<20}  STATUS", "ID", "TENANT", "CREATED");
            for k in keys {
                let status = match k.revoked_at {
                    Some(at) => format!("revoked {}", at.format("%Y-%m-%d %H:%M")),
                    None => "active".to_owned(),
                };
                println!(
                    "{:<16}  {:<24}  {:<20}  {status}",
                    k.id,
                    k.tenant,
                    k.created_at.format("%Y-%m-%d %H:%M:%S")
                );
            }
        }
        KeysCommand::Revoke { id } => {
            if !store
                .revoke_key(&id, Utc::now())
                .await
                .context("revoking the key")?
            {
                bail!("no key with id {id}");
            }
            println!("revoked key {id}");
        }
    }
    Ok(())
}
