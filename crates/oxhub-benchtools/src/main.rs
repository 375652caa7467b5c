//! Load tools for `benches/` (never used by oxhub itself): a websocket echo server, a websocket
//! round-trip meter, an idle-websocket holder, and a bulk route loader for the proxy REST API.
//! Every loop is bounded in count and time and stops by itself.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use futures_util::{SinkExt, StreamExt};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;

fn arg(args: &[String], name: &str, default: &str) -> String {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| default.to_owned())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("ws-echo") => {
            ws_echo(
                arg(&args, "--port", "0").parse().unwrap(),
                arg(&args, "--seconds", "600").parse().unwrap(),
            )
            .await
        }
        Some("ws-rtt") => {
            ws_rtt(
                &arg(&args, "--url", ""),
                arg(&args, "--conns", "16").parse().unwrap(),
                arg(&args, "--seconds", "5").parse().unwrap(),
            )
            .await
        }
        Some("ws-idle") => {
            ws_idle(
                &arg(&args, "--url", ""),
                arg(&args, "--count", "10000").parse().unwrap(),
                arg(&args, "--hold", "10").parse().unwrap(),
            )
            .await
        }
        Some("table-insert") => table_insert(arg(&args, "--count", "100000").parse().unwrap()),
        Some("post-routes") => {
            post_routes(
                &arg(&args, "--api", ""),
                &arg(&args, "--token", ""),
                arg(&args, "--count", "100000").parse().unwrap(),
                arg(&args, "--conns", "16").parse().unwrap(),
            )
            .await
        }
        _ => {
            eprintln!("usage: oxhub-benchtools ws-echo --port P [--seconds S] | ws-rtt --url U --conns N --seconds S | ws-idle --url U --count N --hold S | post-routes --api URL --token T --count N --conns C");
            std::process::exit(2);
        }
    }
}

/// Echo every websocket message back, for at most `seconds`.
async fn ws_echo(port: u16, seconds: u64) {
    let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    println!("ws-echo listening on {}", listener.local_addr().unwrap());
    let serve = async {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let _ = stream.set_nodelay(true);
                let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                    return;
                };
                while let Some(Ok(msg)) = ws.next().await {
                    if msg.is_text() || msg.is_binary() {
                        if ws.send(msg).await.is_err() {
                            break;
                        }
                    } else if msg.is_close() {
                        break;
                    }
                }
            });
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(seconds), serve).await;
}

async fn connect(
    url: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>> {
    let (ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .unwrap_or_else(|e| panic!("connect {url}: {e}"));
    ws
}

/// `conns` connections each sending one small message and waiting for its echo, repeatedly,
/// for `seconds`; prints round trips per second.
async fn ws_rtt(url: &str, conns: usize, seconds: u64) {
    let count = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let mut ws = connect(url).await;
        let count = Arc::clone(&count);
        tasks.push(tokio::spawn(async move {
            let payload = "x".repeat(64);
            while Instant::now() < deadline {
                ws.send(Message::text(payload.clone())).await.unwrap();
                match ws.next().await {
                    Some(Ok(_)) => count.fetch_add(1, Ordering::Relaxed),
                    _ => break,
                };
            }
            let _ = ws.close(None).await;
        }));
    }
    let start = Instant::now();
    for t in tasks {
        let _ = t.await;
    }
    let n = count.load(Ordering::Relaxed);
    println!(
        "ws_round_trips {n} seconds {:.3} per_second {:.0}",
        start.elapsed().as_secs_f64(),
        n as f64 / start.elapsed().as_secs_f64()
    );
}

/// Insert `count` routes straight into oxhub's routing table (what a proxy restart re-adds),
/// then look each one up once; prints both times.
fn table_insert(count: usize) {
    let table = oxhub_proxy::table::RouteTable::default();
    let start = Instant::now();
    for i in 0..count {
        let target =
            oxhub_proxy::table::Target::parse(&format!("http://127.0.0.1:{}", 10000 + i % 50000))
                .unwrap();
        let mut data = serde_json::Map::new();
        data.insert("user".into(), serde_json::Value::String(format!("u{i}")));
        table.add(format!("/user/u{i}"), target, data);
    }
    let inserted = start.elapsed();
    let start = Instant::now();
    for i in 0..count {
        assert!(table.lookup(&format!("/user/u{i}/lab/tree")).is_some());
    }
    println!(
        "table_insert {count} routes in {:.3} s; {count} lookups in {:.3} s",
        inserted.as_secs_f64(),
        start.elapsed().as_secs_f64()
    );
}

/// Open `count` websocket connections, check one echo on every 1000th, hold them `hold`
/// seconds. Stops at the first connection that fails and says how many were open.
async fn ws_idle(url: &str, count: usize, hold: u64) {
    let mut conns = Vec::with_capacity(count);
    for i in 0..count {
        let mut ws = match tokio_tungstenite::connect_async(url).await {
            Ok((ws, _)) => ws,
            Err(e) => {
                println!("ws_idle_failed after {i} connections: {e}");
                return;
            }
        };
        if i % 1000 == 0 {
            ws.send(Message::text("ping")).await.unwrap();
            let _ = ws.next().await;
        }
        conns.push(ws);
    }
    println!("ws_idle_open {count}");
    tokio::time::sleep(Duration::from_secs(hold)).await;
    drop(conns);
}

/// POST `count` routes over `conns` keep-alive connections; prints the elapsed time.
async fn post_routes(api: &str, token: &str, count: usize, conns: usize) {
    use http_body_util::Full;
    use hyper::Request;
    let next = Arc::new(AtomicU64::new(0));
    let authority = api
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let next = Arc::clone(&next);
        let authority = authority.clone();
        let token = token.to_owned();
        tasks.push(tokio::spawn(async move {
            let stream = TcpStream::connect(&authority).await.unwrap();
            let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, Full<bytes::Bytes>>(hyper_util::rt::TokioIo::new(stream)).await.unwrap();
            tokio::spawn(conn);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                if i >= count {
                    break;
                }
                let body = format!(r#"{{"target": "http://127.0.0.1:{}", "user": "u{i}", "server_name": "", "jupyterhub": true}}"#, 10000 + i % 50000);
                let req = Request::post(format!("http://{authority}/api/routes/user/u{i}"))
                    .header("Authorization", format!("token {token}"))
                    .header("Host", authority.as_str())
                    .header("Content-Type", "application/json")
                    .body(Full::new(bytes::Bytes::from(body)))
                    .unwrap();
                let resp = sender.send_request(req).await.unwrap();
                assert_eq!(resp.status().as_u16(), 201);
                use http_body_util::BodyExt;
                let _ = resp.into_body().collect().await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    println!(
        "routes_posted {count} seconds {:.3}",
        start.elapsed().as_secs_f64()
    );
}
