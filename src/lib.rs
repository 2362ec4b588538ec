//! Prometheus exporter for AWS IAM credential hygiene.
//!
//! Data flows one way, up these layers:
//!
//! - [`model`] (plain data), [`time`], [`aws`] (clients, call counting,
//!   errors) and the [`exposition`] framework (tables, text, streamed body)
//!   at the bottom; none of them names a source or a collector.
//! - Sources ([`source`], [`report`]) read an account's users and keys;
//!   [`collectors`] read the rest, one module each; [`credentials`] holds the
//!   report's families. [`accounts`] discovers what to refresh.
//! - The [`refresh::Refresher`] reads every account on a timer and publishes
//!   each one whole into the [`snapshot::Snapshot`].
//! - [`metrics`] renders a snapshot, and [`http`] serves it.

pub mod accounts;
pub mod assume_role;
pub mod aws;
pub mod cli;
pub mod collectors;
pub mod credentials;
pub mod exposition;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod model;
pub mod permit;
pub mod refresh;
pub mod report;
pub mod snapshot;
pub mod source;
pub mod time;
pub mod web_config;

use std::sync::Arc;

use anyhow::Context as _;
use tracing::info;

use crate::accounts::Target;
use crate::accounts::{Accounts, AwsAccounts};
use crate::aws::ApiMetrics;
use crate::cli::Config;
use crate::refresh::Refresher;
use crate::snapshot::Store;
use crate::source::Source;
use crate::time::system_clock;

/// Binds `--web.listen-address`.
pub async fn bind(config: &Config) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(config.listen_address)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen_address))
}

/// Runs the exporter on `listener` until `shutdown` resolves (in `main`, SIGINT
/// or SIGTERM: [`shutdown_signal`]), then stops refreshing and lets in-flight
/// requests finish. Tests run the whole exporter in-process this way, on a
/// listener bound to `127.0.0.1:0`.
///
/// An unusable `--web.config.file` fails before anything starts, with a
/// [`web_config::WebConfigError`] that `main` reports as a configuration error.
pub async fn run(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let web = match &config.web_config_file {
        Some(path) => web_config::WebConfig::load(path)?,
        None => web_config::WebConfig::default(),
    };
    let api = ApiMetrics::default();
    let accounts = accounts(&config, &api).await;
    let store = Arc::new(Store::default());
    let clock = system_clock();
    let mut exposition = metrics::Exposition::new(
        Arc::clone(&store),
        Arc::clone(&clock),
        config.refresh_interval,
        &api,
    )
    .with_ages(config.ages);
    exposition.registry_mut().register_collector(Box::new(
        metrics::settings::SettingsFamilies::new(
            config.refresh_interval,
            config.report_file.is_some(),
            config.accounts.kinds,
        )
        .with_collectors(match config.report_file {
            Some(_) => collectors::Collectors::NONE,
            None => config.accounts.collectors,
        })
        .with_shard(
            config.accounts.shard.map_or(1, |s| s.count),
            config.accounts.shard.map_or(0, |s| s.index),
        ),
    ));
    info!(
        address = %listener.local_addr()?,
        telemetry_path = %config.telemetry_path,
        version = env!("CARGO_PKG_VERSION"),
        "listening"
    );
    let app = Arc::new(http::App {
        telemetry_path: config.telemetry_path.clone(),
        max_connections: config.max_connections,
        scrapes: http::scrape_turns(config.max_scrapes_in_flight),
        web,
        ..http::App::new(exposition, Arc::clone(&store))
    });
    let refresher = Arc::new(
        Refresher::new(accounts, store, api, clock)
            .with_timeout(config.refresh_timeout)
            .with_parallelism(config.max_accounts_parallel)
            .with_stagger(config.account_start_interval)
            .with_key_ids(config.key_ids)
            .with_tags(config.tags.clone())
            .with_schedule(config.accounts.schedule.clone()),
    );

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let refresh = tokio::spawn(refresher.run(config.refresh_interval, stopped(stop_rx.clone())));
    let server = tokio::spawn(http::serve(listener, app, stopped(stop_rx)));
    shutdown.await;
    info!("shutting down");
    let _ = stop_tx.send(true);
    let _ = refresh.await;
    server.await.context("HTTP server task failed")??;
    info!("stopped");
    Ok(())
}

async fn accounts(config: &Config, api: &ApiMetrics) -> Accounts {
    match &config.report_file {
        Some(path) => {
            info!(path = %path.display(), "reading the credential report from a file");
            Accounts::Static(vec![Arc::new(Target::new(
                path.display().to_string(),
                Source::File {
                    path: path.clone(),
                    max_bytes: config.aws.max_response_bytes,
                },
            ))])
        }
        None => {
            let sdk = aws::load_config(&config.aws).await;
            info!(region = ?sdk.region().map(|r| r.as_ref()), source = ?config.accounts.kinds, "reading IAM data from AWS");
            if config
                .accounts
                .collectors
                .is_on(collectors::Collector::RootCredentials)
            {
                tracing::warn!(
                    "the root-credentials collector is deprecated: account-summary tells whether root holds a password, MFA, keys or certificates in every account, without a root session"
                );
            }
            Accounts::Aws(Box::new(AwsAccounts::new(
                sdk,
                api.clone(),
                config.accounts.clone(),
            )))
        }
    }
}

/// Resolves at SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
