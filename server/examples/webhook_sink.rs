//! Webhook receivers for `scripts/bench.sh`'s delivery case (not part of the server).
//!
//! `webhook_sink hang` listens on an ephemeral loopback port, prints its URL, accepts every connection and
//! never answers: the black-hole endpoint of issue 14.
//!
//! `webhook_sink serve PORT EXPECT` answers every `POST /webhook` with 200 at once and, when `EXPECT`
//! distinct `webhook-id`s have arrived, prints
//! `RESULT count=… seconds=… rate=… duplicates=…` (seconds from the first request to the last) and exits.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::sync::Notify;

#[derive(Default)]
struct Seen {
    ids: HashSet<String>,
    duplicates: u64,
    first: Option<Instant>,
    last: Option<Instant>,
}

struct Sink {
    expect: usize,
    seen: Mutex<Seen>,
    done: Notify,
}

async fn receive(State(sink): State<Arc<Sink>>, headers: HeaderMap) -> StatusCode {
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let now = Instant::now();
    let mut seen = sink.seen.lock().unwrap_or_else(|e| e.into_inner());
    seen.first.get_or_insert(now);
    if seen.ids.insert(id) {
        seen.last = Some(now);
    } else {
        seen.duplicates += 1;
    }
    if seen.ids.len() >= sink.expect {
        sink.done.notify_one();
    }
    StatusCode::OK
}

async fn serve(port: u16, expect: usize) -> std::io::Result<()> {
    let sink = Arc::new(Sink {
        expect,
        seen: Mutex::new(Seen::default()),
        done: Notify::new(),
    });
    let app = axum::Router::new()
        .route("/webhook", axum::routing::post(receive))
        .with_state(Arc::clone(&sink));
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    sink.done.notified().await;
    let seen = sink.seen.lock().unwrap_or_else(|e| e.into_inner());
    let seconds = match (seen.first, seen.last) {
        (Some(first), Some(last)) => last.duration_since(first).as_secs_f64(),
        _ => 0.0,
    };
    let count = seen.ids.len();
    println!(
        "RESULT count={count} seconds={seconds:.3} rate={:.1} duplicates={}",
        count as f64 / seconds.max(1e-9),
        seen.duplicates
    );
    Ok(())
}

async fn hang() -> std::io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    println!("http://{}/webhook", listener.local_addr()?);
    loop {
        let (mut socket, _) = listener.accept().await?;
        // Read whatever comes and never answer; the socket closes when the client gives up.
        tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            while matches!(socket.read(&mut buf).await, Ok(n) if n > 0) {}
        });
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["hang"] => hang().await,
        ["serve", port, expect] => {
            let port = port.parse().expect("PORT is a port number");
            let expect = expect.parse().expect("EXPECT is a count");
            serve(port, expect).await
        }
        _ => {
            eprintln!("usage: webhook_sink hang | webhook_sink serve PORT EXPECT");
            std::process::exit(2);
        }
    }
}
