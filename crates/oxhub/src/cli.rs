//! The command line, as JupyterHub spells it: a subcommand word anywhere among the flags,
//! JupyterHub's short flags, and `--Class.trait=value` for any trait.
//!
//! Hand-written rather than clap-derived: traitlets accepts an open set of `--Class.trait`
//! flags whose value parsing depends on the trait's type, which clap cannot express. The
//! proxy subcommand (a fixed flag set) will use clap.

use oxhub_config::{ConfigError, Override};
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Hub,
    Proxy(Vec<String>),
    GenerateConfig,
    ShowConfig,
    Token {
        user: Option<String>,
    },
    UpgradeDb,
    /// `spawner-dry-run --user U [--server S] [--profile SLUG] [--user-options JSON]`.
    SpawnerDryRun(DryRun),
    HelpAll,
    Help,
    Version,
}

/// Whose server `spawner-dry-run` describes, with which options.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DryRun {
    pub user: String,
    pub server: String,
    pub profile: Option<String>,
    /// JSON text, parsed when the command runs.
    pub user_options: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cli {
    pub command: Command,
    pub config_file: Option<PathBuf>,
    pub overrides: Vec<Override>,
    pub strict: bool,
    pub answer_yes: bool,
    /// The log level asked for on the command line (`--debug`, `--log-level`).
    pub log_level: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}\nRun `oxhub --help` for usage.")]
    Usage(String),
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// Flags that stand for a trait (config-traits.md, "Flags and aliases").
const ALIASES: &[(&str, &str, &str)] = &[
    ("ip", "JupyterHub", "ip"),
    ("port", "JupyterHub", "port"),
    ("url", "JupyterHub", "bind_url"),
    ("base-url", "JupyterHub", "base_url"),
    ("ssl-key", "JupyterHub", "ssl_key"),
    ("ssl-cert", "JupyterHub", "ssl_cert"),
    ("db", "JupyterHub", "db_url"),
    ("pid-file", "JupyterHub", "pid_file"),
    ("log-level", "Application", "log_level"),
];

pub const USAGE: &str = "\
oxhub: a multi-user Jupyter hub, compatible with JupyterHub

Usage:
  oxhub [options] [--Class.trait=value ...]      run the hub (reads ./jupyterhub_config.py if present)
  oxhub proxy [configurable-http-proxy options]  run the proxy
  oxhub generate-config [-f FILE] [-y]           write a commented config file with every default
  oxhub show-config [-f FILE] [--Class.trait=value ...]
                                                 print the effective configuration as JSON
  oxhub token [USER] [options]                   create an API token for USER
  oxhub upgrade-db [options]                     apply database migrations
  oxhub spawner-dry-run [-f FILE] --user NAME [--server NAME] [--profile SLUG]
                        [--user-options JSON]    print, as JSON, what the configured spawner
                                                 would create for that server (a batch script
                                                 and its submit command, ...) without creating it

Options:
  -f, --config FILE      config file (default: jupyterhub_config.py)
  --ip IP, --port N      public address of the proxy
  --url URL              public URL (JupyterHub.bind_url)
  --base-url PREFIX      URL prefix of the whole hub
  --ssl-key F, --ssl-cert F
  --db URL               database URL (sqlite:///..., postgresql://...)
  --no-db                in-memory SQLite
  --upgrade-db           migrate the database at start
  --pid-file F
  --debug, --log-level L
  --strict-config        unknown classes and traits are errors, not warnings
  --generate-config      same as the generate-config subcommand
  --show-config, --show-config-json
                         same as the show-config subcommand
  -y, --y                answer yes (overwrite with generate-config)
  --help-all             every configurable trait with type, default and help
  --version
";

pub fn parse(args: &[String]) -> Result<Cli, CliError> {
    let mut cli = Cli {
        command: Command::Hub,
        config_file: None,
        overrides: Vec::new(),
        strict: false,
        answer_yes: false,
        log_level: None,
    };
    let mut command: Option<Command> = None;
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if command.is_none() && arg == "proxy" {
            cli.command = Command::Proxy(args[i..].to_vec());
            return Ok(cli);
        }
        if !arg.starts_with('-') || arg == "-" {
            match (&command, arg.as_str()) {
                (None, "generate-config") => command = Some(Command::GenerateConfig),
                (None, "show-config") => command = Some(Command::ShowConfig),
                (None, "token") => command = Some(Command::Token { user: None }),
                (None, "upgrade-db") => command = Some(Command::UpgradeDb),
                (None, "spawner-dry-run") => {
                    command = Some(Command::SpawnerDryRun(DryRun::default()))
                }
                (Some(Command::Token { user: None }), name) => {
                    command = Some(Command::Token {
                        user: Some(name.to_owned()),
                    })
                }
                _ => return Err(CliError::Usage(format!("unexpected argument {arg:?}"))),
            }
            continue;
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f, Some(v.to_owned())),
            None => (arg.as_str(), None),
        };
        let name = flag.trim_start_matches('-');
        let value = |i: &mut usize| -> Result<String, CliError> {
            if let Some(v) = &inline {
                return Ok(v.clone());
            }
            let v = args
                .get(*i)
                .cloned()
                .ok_or_else(|| CliError::Usage(format!("{flag} needs a value")))?;
            *i += 1;
            Ok(v)
        };
        match name {
            "h" | "help" => {
                return Ok(Cli {
                    command: Command::Help,
                    ..cli
                })
            }
            "help-all" => {
                return Ok(Cli {
                    command: Command::HelpAll,
                    ..cli
                })
            }
            "version" | "V" => {
                return Ok(Cli {
                    command: Command::Version,
                    ..cli
                })
            }
            "f" | "config" => cli.config_file = Some(PathBuf::from(value(&mut i)?)),
            "user" | "server" | "profile" | "user-options"
                if matches!(command, Some(Command::SpawnerDryRun(_))) =>
            {
                let v = value(&mut i)?;
                if let Some(Command::SpawnerDryRun(d)) = &mut command {
                    match name {
                        "user" => d.user = v,
                        "server" => d.server = v,
                        "profile" => d.profile = Some(v),
                        _ => d.user_options = Some(v),
                    }
                }
            }
            "generate-config" => command = Some(Command::GenerateConfig),
            "show-config" | "show-config-json" => command = Some(Command::ShowConfig),
            "y" => cli.answer_yes = inline.as_deref() != Some("False"),
            "strict-config" => cli.strict = true,
            "debug" => {
                cli.log_level = Some("DEBUG".into());
                push(&mut cli, "Application", "log_level", "10", arg)?;
            }
            "no-db" => push(&mut cli, "JupyterHub", "db_url", "sqlite:///:memory:", arg)?,
            "upgrade-db" => push(&mut cli, "JupyterHub", "upgrade_db", "True", arg)?,
            "no-ssl" => {}
            "log-file" => {
                return Err(CliError::Usage(
                    "--log-file is not supported: redirect the hub's output instead".into(),
                ))
            }
            "generate-certs" => {
                return Err(CliError::Usage(
                    "--generate-certs is not supported: oxhub does not implement internal_ssl yet"
                        .into(),
                ))
            }
            _ => {
                if let Some((_, class, trait_name)) = ALIASES.iter().find(|(a, _, _)| *a == name) {
                    let v = value(&mut i)?;
                    if *trait_name == "log_level" {
                        cli.log_level = Some(v.clone());
                    }
                    push(&mut cli, class, trait_name, &v, arg)?;
                } else if let Some((class, trait_name)) = name
                    .split_once('.')
                    .filter(|(c, t)| is_ident(c) && is_ident(t))
                {
                    if flag.starts_with("--") {
                        let v = value(&mut i)?;
                        match (class, trait_name) {
                            ("JupyterHub", "config_file") => {
                                cli.config_file = Some(PathBuf::from(v))
                            }
                            ("JupyterHub", "generate_config") if v == "True" => {
                                command = Some(Command::GenerateConfig)
                            }
                            ("JupyterHub", "answer_yes") => cli.answer_yes = v == "True",
                            _ => {
                                if (class, trait_name) == ("Application", "log_level")
                                    || (class, trait_name) == ("JupyterHub", "log_level")
                                {
                                    cli.log_level = Some(v.clone());
                                }
                                push(&mut cli, class, trait_name, &v, arg)?;
                            }
                        }
                    } else {
                        return Err(CliError::Usage(format!("unknown option {arg:?}")));
                    }
                } else {
                    return Err(CliError::Usage(format!("unknown option {arg:?}")));
                }
            }
        }
    }
    if let Some(Command::SpawnerDryRun(d)) = &command {
        if d.user.is_empty() {
            return Err(CliError::Usage("spawner-dry-run needs --user NAME".into()));
        }
    }
    cli.command = command.unwrap_or(Command::Hub);
    Ok(cli)
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn push(cli: &mut Cli, class: &str, name: &str, value: &str, arg: &str) -> Result<(), CliError> {
    let o = Override::parse(class, name, value, arg)?;
    // Repeating a list or dict flag extends it, as traitlets does.
    if let Some(prev) = cli
        .overrides
        .iter_mut()
        .rev()
        .find(|p| p.class == o.class && p.name == o.name)
    {
        use oxhub_config::Value;
        match (&mut prev.value, o.value.clone()) {
            (Value::List(a), Value::List(b)) => {
                a.extend(b);
                prev.arg = format!("{} {}", prev.arg, o.arg);
                return Ok(());
            }
            (Value::Dict(a), Value::Dict(b)) => {
                for (k, v) in b {
                    Value::dict_set(a, k, v);
                }
                prev.arg = format!("{} {}", prev.arg, o.arg);
                return Ok(());
            }
            _ => {}
        }
    }
    cli.overrides.push(o);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxhub_config::Value;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn jupyterhub_flags_and_traits() {
        let cli = parse(&args("-f hub.py --ip=0.0.0.0 --port 9000 --Spawner.default_url=/lab --Authenticator.admin_users=['a','b'] --debug")).unwrap();
        assert_eq!(cli.command, Command::Hub);
        assert_eq!(cli.config_file, Some(PathBuf::from("hub.py")));
        let find = |c: &str, n: &str| {
            cli.overrides
                .iter()
                .find(|o| o.class == c && o.name == n)
                .map(|o| o.value.clone())
        };
        assert_eq!(find("JupyterHub", "ip"), Some(Value::Str("0.0.0.0".into())));
        assert_eq!(find("JupyterHub", "port"), Some(Value::Int(9000)));
        assert_eq!(
            find("Spawner", "default_url"),
            Some(Value::Str("/lab".into()))
        );
        assert_eq!(
            find("Authenticator", "admin_users"),
            Some(Value::List(vec![
                Value::Str("a".into()),
                Value::Str("b".into())
            ]))
        );
        assert_eq!(find("Application", "log_level"), Some(Value::Int(10)));
    }

    #[test]
    fn subcommands_in_either_order() {
        assert_eq!(
            parse(&args("token alice -f x.py")).unwrap().command,
            Command::Token {
                user: Some("alice".into())
            }
        );
        assert_eq!(
            parse(&args("-f x.py token alice")).unwrap().command,
            Command::Token {
                user: Some("alice".into())
            }
        );
        assert_eq!(
            parse(&args("--generate-config -f out.py -y"))
                .unwrap()
                .command,
            Command::GenerateConfig
        );
        assert_eq!(
            parse(&args("proxy --port 8000 --ip x")).unwrap().command,
            Command::Proxy(args("--port 8000 --ip x"))
        );
        assert_eq!(
            parse(&args("--show-config-json")).unwrap().command,
            Command::ShowConfig
        );
    }

    #[test]
    fn repeated_list_flags_extend() {
        let cli = parse(&args("--Spawner.args=--a --Spawner.args=--b")).unwrap();
        assert_eq!(cli.overrides.len(), 1);
        assert_eq!(
            cli.overrides[0].value,
            Value::List(vec![Value::Str("--a".into()), Value::Str("--b".into())])
        );
    }

    #[test]
    fn bad_input_is_a_clear_error() {
        assert!(matches!(
            parse(&args("--JupyterHub.port=eighty")),
            Err(CliError::Config(_))
        ));
        assert!(matches!(
            parse(&args("--frobnicate")),
            Err(CliError::Usage(_))
        ));
        assert!(matches!(parse(&args("--port")), Err(CliError::Usage(_))));
        assert!(matches!(parse(&args("bogus")), Err(CliError::Usage(_))));
    }
}
