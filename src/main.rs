use std::process::ExitCode;

use clap::Parser as _;
use iam_credentials_exporter::cli::{Args, Config};
use iam_credentials_exporter::web_config::WebConfigError;

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) if !e.use_stderr() => {
            // --help and --version
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let rendered = e.render().to_string();
            let reason = rendered.lines().next().unwrap_or("invalid arguments");
            eprintln!("iam-credentials-exporter: {reason}");
            return ExitCode::from(2);
        }
    };
    let config = match Config::try_from(args) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("iam-credentials-exporter: error: {e}");
            return ExitCode::from(2);
        }
    };
    iam_credentials_exporter::logging::init(config.log_level, config.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("iam-credentials-exporter: error: cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let exporter = async {
        let listener = iam_credentials_exporter::bind(&config).await?;
        let shutdown = async {
            iam_credentials_exporter::shutdown_signal().await;
            tracing::info!("received shutdown signal");
        };
        iam_credentials_exporter::run(config, listener, shutdown).await
    };
    match runtime.block_on(exporter) {
        Ok(()) => ExitCode::SUCCESS,
        // A configuration file that cannot be used is a usage error, like a bad flag.
        Err(e) if e.is::<WebConfigError>() => {
            eprintln!("iam-credentials-exporter: error: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            tracing::error!(cause = format!("{e:#}"), "exporter failed");
            ExitCode::FAILURE
        }
    }
}
