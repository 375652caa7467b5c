//! Running the hub, the database chores (`token`, `upgrade-db`), and `spawner-dry-run`.

use oxhub_config::HubConfig;
use oxhub_core::Hub;
use oxhub_plugin::proxy::Proxy;
use std::process::ExitCode;
use std::sync::Arc;

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}

/// The store, the plug-ins and the hub on them, with the start-up state applied.
async fn open(config: HubConfig, proxy: Option<Box<dyn Proxy>>) -> Result<Hub, String> {
    let store = oxhub_store::Store::open(&config.hub.db_url)
        .await
        .map_err(|e| e.to_string())?;
    let parts = crate::plugins::parts(&config, proxy, &store)?;
    let hub = Hub::new(config, store, parts).map_err(|e| e.to_string())?;
    oxhub_core::startup::apply(&hub)
        .await
        .map_err(|e| format!("start-up: {e}"))?;
    Ok(hub)
}

/// Serve the hub on `hub_ip:hub_port` until SIGINT/SIGTERM or `POST /shutdown`: start (or
/// reuse) the proxy, pick up servers recorded as running, keep routes and servers checked.
pub fn hub(config: HubConfig) -> Result<ExitCode, String> {
    oxhub_web::check_templates(&config.hub)?;
    runtime()?.block_on(async move {
        let ip = if config.hub.hub_ip.is_empty() {
            "0.0.0.0".to_owned()
        } else {
            config.hub.hub_ip.clone()
        };
        let port = config.hub.hub_port;
        let stop = oxhub_proxy::shutdown_signal();
        let api_url = if config.proxy.api_url.is_empty() {
            "http://127.0.0.1:8001".to_owned()
        } else {
            config.proxy.api_url.clone()
        };
        let mut token = if config.proxy.auth_token.is_empty() {
            std::env::var("CONFIGPROXY_AUTH_TOKEN").unwrap_or_default()
        } else {
            config.proxy.auth_token.clone()
        };
        if token.is_empty() && config.proxy.should_start {
            // The token an earlier hub generated, so its proxy (still running after a crash)
            // can be reused; otherwise a new one, saved for the next start.
            let pid_file = &config.proxy.pid_file;
            token = match crate::supervise::saved_token(pid_file) {
                Some(saved) => saved,
                None => {
                    let new =
                        oxhub_core::tokens::generate().map_err(|e| format!("randomness: {e}"))?;
                    crate::supervise::save_token(pid_file, &new);
                    new
                }
            };
        }
        let client = crate::proxy_client::ChpClient::new(&api_url, &token);
        let hub = open(config, Some(Box::new(client))).await?;
        hub.check_auth_state_key().map_err(|e| e.to_string())?;
        let listener = tokio::net::TcpListener::bind((ip.as_str(), port))
            .await
            .map_err(|e| format!("cannot listen on {ip}:{port}: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let hub_url = if hub.config.hub.hub_connect_url.is_empty() {
            format!("http://{addr}")
        } else {
            hub.config.hub.hub_connect_url.clone()
        };
        let _ = hub.hub_url.set(hub_url.clone());
        let hub = Arc::new(hub);
        let proxy = if hub.config.proxy.should_start {
            Some(crate::supervise::ProxyChild::start(&hub, &api_url, &token, &hub_url).await?)
        } else {
            None
        };
        match hub.resume_servers().await {
            Ok((0, 0)) => {}
            Ok((kept, cleared)) => tracing::info!(
                "Servers from before the restart: {kept} still running, {cleared} cleaned up"
            ),
            Err(e) => tracing::error!("checking servers after start-up: {e}"),
        }
        if let Err(e) = hub.check_routes(None).await {
            tracing::error!("setting up the proxy's routes: {e}");
        }
        tokio::spawn(Arc::clone(&hub).watch_servers());
        tokio::spawn(Arc::clone(&hub).watch_activity());
        let services = hub.start_managed_services();
        if let Some(proxy) = &proxy {
            tokio::spawn(Arc::clone(proxy).watch(Arc::clone(&hub)));
        }
        let mut asked = hub.shutdown.subscribe();
        tracing::info!(
            "oxhub hub listening on http://{addr}{}",
            hub.config.hub.base_url
        );
        let app = oxhub_web::router(Arc::clone(&hub));
        // The peer address reaches handlers (login protection counts failures per client).
        let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                tokio::select! {
                    () = stop => {}
                    _ = asked.wait_for(|stop| *stop) => {}
                }
            })
            .await
            .map_err(|e| e.to_string())?;
        let _ = hub.shutdown.send(true);
        for s in services {
            let _ = s.await;
        }
        if hub.config.hub.cleanup_servers {
            hub.stop_all_servers().await;
        }
        if let Some(proxy) = proxy {
            if hub.config.hub.cleanup_proxy {
                proxy.stop().await;
            }
        }
        // Closing the pool checkpoints SQLite's write-ahead log, so a clean stop leaves no
        // `-wal`/`-shm` files beside the database.
        hub.store.close().await;
        tracing::info!("oxhub hub stopped");
        Ok(ExitCode::SUCCESS)
    })
}

/// `oxhub token USER`: print a new API token for an existing user.
pub fn token(config: HubConfig, user: Option<String>) -> Result<ExitCode, String> {
    let user = user.ok_or("usage: oxhub token USERNAME")?;
    runtime()?.block_on(async move {
        let hub = open(config, None).await?;
        if hub.user(&user).await.map_err(|e| e.to_string())?.is_none() {
            return Err(format!("No such user: {user}"));
        }
        let token = hub
            .mint_token(
                oxhub_store::Owner::User(user.clone()),
                Vec::new(),
                "Requested via oxhub token",
                None,
            )
            .await
            .map_err(|e| e.to_string())?;
        println!("{token}");
        Ok(ExitCode::SUCCESS)
    })
}

/// `oxhub upgrade-db`: back up a SQLite file, then apply migrations.
pub fn upgrade_db(config: HubConfig) -> Result<ExitCode, String> {
    let url = config.hub.db_url.clone();
    if let Some(path) = url
        .strip_prefix("sqlite:///")
        .filter(|p| !p.is_empty() && *p != ":memory:")
    {
        let path = std::path::Path::new(path.split('?').next().unwrap_or(path));
        if path.exists() {
            let stamp = oxhub_core::clock::isoformat(oxhub_core::clock::now_ms()).replace(':', "-");
            let backup = path.with_extension(format!("sqlite.{stamp}.bak"));
            std::fs::copy(path, &backup)
                .map_err(|e| format!("cannot back up {}: {e}", path.display()))?;
            eprintln!("Backed up {} to {}", path.display(), backup.display());
        }
    }
    runtime()?.block_on(async move {
        let store = oxhub_store::Store::connect(&url)
            .await
            .map_err(|e| e.to_string())?;
        let before = store.schema_version().await.map_err(|e| e.to_string())?;
        let after = store.migrate().await.map_err(|e| e.to_string())?;
        eprintln!("Database schema version {before} -> {after}");
        Ok(ExitCode::SUCCESS)
    })
}

/// What the configured spawner would create for one server, as JSON. Nothing is created:
/// the hub is built on an in-memory database, with no proxy, and never served.
pub fn spawner_dry_run(
    mut config: HubConfig,
    d: &crate::cli::DryRun,
) -> Result<serde_json::Value, String> {
    let mut options = match &d.user_options {
        Some(text) => {
            serde_json::from_str(text).map_err(|e| format!("--user-options is not JSON: {e}"))?
        }
        None => serde_json::Value::Object(serde_json::Map::new()),
    };
    if let Some(slug) = &d.profile {
        match &mut options {
            serde_json::Value::Object(m) => {
                m.insert("profile".into(), slug.clone().into());
            }
            _ => return Err("--user-options must be a JSON object to add --profile to".into()),
        }
    }
    config.hub.db_url = "sqlite:///:memory:".into();
    runtime()?.block_on(async move {
        let store = oxhub_store::Store::open(&config.hub.db_url)
            .await
            .map_err(|e| e.to_string())?;
        let parts = crate::plugins::parts(&config, None, &store)?;
        let hub = Hub::new(config, store, parts).map_err(|e| e.to_string())?;
        let hub_url = if hub.config.hub.hub_connect_url.is_empty() {
            let ip = match hub.config.hub.hub_ip.as_str() {
                "" | "0.0.0.0" => "127.0.0.1",
                ip => ip,
            };
            format!("http://{ip}:{}", hub.config.hub.hub_port)
        } else {
            hub.config.hub.hub_connect_url.clone()
        };
        let _ = hub.hub_url.set(hub_url);
        hub.spawner_dry_run(&d.user, &d.server, &options)
            .map_err(|e| e.to_string())
    })
}
