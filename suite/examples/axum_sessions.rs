//! A small axum service keeping login sessions in a `TypedStore`, over a store chosen by
//! URL at start-up (`memory://`, `redb:///path`, `redis://…`, `memcached://…`):
//!
//! ```text
//! SESSION_STORE=redis://127.0.0.1:6379/?namespace=sessions \
//!   cargo run -p kv-store-adapter-suite --example axum_sessions -- 127.0.0.1:3000
//! curl -si -XPOST 127.0.0.1:3000/login -d 'ada'          # → 200, a session id
//! curl -s 127.0.0.1:3000/me -H 'authorization: Bearer <id>'   # → ada
//! curl -si -XPOST 127.0.0.1:3000/logout -H 'authorization: Bearer <id>'
//! ```
//!
//! Sessions expire after 30 minutes of inactivity: every request that uses one writes
//! it back with a fresh TTL. `scripts/examples.sh` starts it and drives it with curl.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use kv_store_adapter::codec::JsonCodec;
use kv_store_adapter::{BoxStore, TypedStore, open};
use serde::{Deserialize, Serialize};

const IDLE: Duration = Duration::from_secs(30 * 60);

#[derive(Debug, Serialize, Deserialize)]
struct Session {
    user: String,
    created_unix: u64,
    requests: u64,
}

type Sessions = Arc<TypedStore<BoxStore, Session, JsonCodec>>;

/// A session id no one can guess: 128 random bits, hex.
fn new_id() -> Result<String, StatusCode> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn bearer(headers: &HeaderMap) -> Result<&str, StatusCode> {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .filter(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or(StatusCode::UNAUTHORIZED)
}

/// A store failure is the server's problem, logged without the key (the session id).
fn unavailable(err: kv_store_adapter::Error) -> StatusCode {
    eprintln!("session store: {err}");
    StatusCode::SERVICE_UNAVAILABLE
}

async fn login(State(sessions): State<Sessions>, user: String) -> Result<String, StatusCode> {
    let user = user.trim();
    if user.is_empty() || user.len() > 64 {
        return Err(StatusCode::BAD_REQUEST);
    }
    let id = new_id()?;
    let created_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let session = Session {
        user: user.to_owned(),
        created_unix,
        requests: 0,
    };
    sessions
        .put(&id, &session, Some(IDLE))
        .await
        .map_err(unavailable)?;
    Ok(id)
}

async fn me(State(sessions): State<Sessions>, headers: HeaderMap) -> Result<String, StatusCode> {
    let id = bearer(&headers)?;
    let mut session = sessions
        .get(id)
        .await
        .map_err(unavailable)?
        .ok_or(StatusCode::UNAUTHORIZED)?;
    session.requests += 1;
    sessions
        .put(id, &session, Some(IDLE))
        .await
        .map_err(unavailable)?;
    Ok(format!("{} ({} requests)", session.user, session.requests))
}

async fn logout(
    State(sessions): State<Sessions>,
    headers: HeaderMap,
) -> Result<StatusCode, StatusCode> {
    let id = bearer(&headers)?;
    match sessions.delete(id).await.map_err(unavailable)? {
        true => Ok(StatusCode::NO_CONTENT),
        false => Err(StatusCode::UNAUTHORIZED),
    }
}

/// The service over any store.
fn app(store: BoxStore) -> kv_store_adapter::Result<Router> {
    let sessions: Sessions = Arc::new(TypedStore::new(store, "sessions")?);
    Ok(Router::new()
        .route("/login", post(login))
        .route("/me", get(me))
        .route("/logout", post(logout))
        .with_state(sessions))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("SESSION_STORE").unwrap_or_else(|_| "memory://".into());
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".into());
    // `open` never shows a password in its errors, nor does this line.
    let store = open(&url).await?;
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!(
        "listening on {} with sessions in {}",
        listener.local_addr()?,
        kv_store_adapter::redact(&url)
    );
    axum::serve(listener, app(store)?).await?;
    Ok(())
}
