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
        /// Requests per UTC day for this key, overriding `auth.quota_per_day` (0: unlimited).
        #[arg(long)]
        quota_per_day: Option<u64>,
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
        KeysCommand::Create {
            tenant,
            quota_per_day,
        } => {
            let mut key = ApiKey::generate(&tenant)?;
            key.record.quota_per_day = quota_per_day;
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
            println!(
                "{:<16}  {:<24}  {:<20}  {:<10}  STATUS",
                "ID", "TENANT", "CREATED", "QUOTA/DAY"
            );
            for k in keys {
                let status = match k.revoked_at {
                    Some(at) => format!("revoked {}", at.format("%Y-%m-%d %H:%M")),
                    None => "active".to_owned(),
                };
                let quota = match k.quota_per_day {
                    Some(0) => "unlimited".to_owned(),
                    Some(n) => n.to_string(),
                    None => "default".to_owned(),
                };
                println!(
                    "{:<16}  {:<24}  {:<20}  {quota:<10}  {status}",
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
