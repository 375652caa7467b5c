//! The `oxhub` binary: parses the command line, loads the configuration, and runs the chosen
//! role (hub, proxy) or chore (generate-config, show-config, token, upgrade-db).

mod cli;
mod plugins;
mod proxy_client;
mod serve;
mod supervise;

use cli::{CliError, Command};
use oxhub_config::{generate, pyconfig::ProcessEnv, ConfigError, LoadOptions, Loaded};
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cli = match cli::parse(&args) {
        Ok(cli) => cli,
        Err(e) => return fail(&e),
    };
    if let Command::Proxy(proxy_args) = &cli.command {
        return run_proxy(proxy_args);
    }
    init_logging(&cli);
    match run(cli) {
        Ok(code) => code,
        Err(e) => fail(&e),
    }
}

fn fail(e: &CliError) -> ExitCode {
    eprintln!("oxhub: {e}");
    match e {
        CliError::Usage(_) => ExitCode::from(2),
        CliError::Config(_) => ExitCode::from(1),
    }
}

fn init_logging(cli: &cli::Cli) {
    let chore = !matches!(cli.command, Command::Hub | Command::Proxy(_));
    let level = match cli.log_level.as_deref().map(str::to_ascii_uppercase) {
        Some(l) if l == "DEBUG" || l == "10" => "debug",
        Some(l) if l == "WARN" || l == "WARNING" || l == "30" => "warn",
        Some(l) if l == "ERROR" || l == "40" || l == "CRITICAL" || l == "50" => "error",
        Some(_) => "info",
        None if chore => "warn",
        None => "info",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("OXHUB_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// `oxhub proxy [configurable-http-proxy flags]`.
fn run_proxy(args: &[String]) -> ExitCode {
    let opts = match oxhub_proxy::cli::parse(args) {
        Ok(opts) => opts,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    // CHP's levels map onto tracing's; OXHUB_LOG overrides.
    let filter = tracing_subscriber::EnvFilter::try_from_env("OXHUB_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("warn,oxhub_proxy={}", opts.log_level))
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
    oxhub_proxy::run(opts)
}

fn load(cli: &cli::Cli) -> Result<Loaded, ConfigError> {
    let options = LoadOptions {
        config_file: cli.config_file.clone(),
        overrides: cli.overrides.clone(),
        strict: cli.strict,
        no_bridge: std::env::var_os("OXHUB_NO_PYTHON_BRIDGE").is_some(),
    };
    let loaded = oxhub_config::load(&options, &ProcessEnv)?;
    for w in &loaded.warnings {
        tracing::warn!(target: "oxhub::config", "{w}");
    }
    Ok(loaded)
}

fn run(cli: cli::Cli) -> Result<ExitCode, CliError> {
    match &cli.command {
        Command::Help => {
            print!("{}", cli::USAGE);
            Ok(ExitCode::SUCCESS)
        }
        Command::HelpAll => {
            print!("{}\n{}", cli::USAGE, generate::help_all());
            Ok(ExitCode::SUCCESS)
        }
        Command::Version => {
            println!(
                "oxhub {} (JupyterHub 6.1.1 compatible)",
                env!("CARGO_PKG_VERSION")
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::GenerateConfig => {
            let path = cli
                .config_file
                .clone()
                .unwrap_or_else(|| oxhub_config::load::DEFAULT_CONFIG_FILE.into());
            if path.exists() && !cli.answer_yes {
                return Err(CliError::Usage(format!(
                    "{} exists; pass -y to overwrite it",
                    path.display()
                )));
            }
            let text = generate::config_file();
            std::fs::write(&path, text)
                .map_err(|e| CliError::Usage(format!("cannot write {}: {e}", path.display())))?;
            eprintln!("Writing default config to: {}", path.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::ShowConfig => {
            let loaded = load(&cli)?;
            let json = generate::show_config(&loaded);
            let text = serde_json::to_string_pretty(&json).unwrap_or_default();
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{text}");
            Ok(ExitCode::SUCCESS)
        }
        Command::SpawnerDryRun(d) => {
            let loaded = load(&cli)?;
            match serve::spawner_dry_run(loaded.config, d) {
                Ok(plan) => {
                    let text = serde_json::to_string_pretty(&plan).unwrap_or_default();
                    let _ = writeln!(std::io::stdout().lock(), "{text}");
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("oxhub: {e}");
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Hub | Command::Token { .. } | Command::UpgradeDb => {
            let loaded = load(&cli)?;
            tracing::info!(
                "configuration valid: authenticator {}, spawner {}, proxy {}",
                loaded.effective.authenticator.class,
                loaded.effective.spawner.class,
                loaded.effective.proxy.class
            );
            let result = match &cli.command {
                Command::Token { user } => serve::token(loaded.config, user.clone()),
                Command::UpgradeDb => serve::upgrade_db(loaded.config),
                _ => serve::hub(loaded.config),
            };
            result.or_else(|e| {
                eprintln!("oxhub: {e}");
                Ok(ExitCode::from(1))
            })
        }
        Command::Proxy(args) => Ok(run_proxy(args)),
    }
}
