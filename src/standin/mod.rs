//! A stand-in HR API served on loopback, so deliveries have something real to talk to.
//!
//! `hrbridge demo` delivers to it, integration tests inject faults into it and then judge the
//! client by the server's own [`Record`], and the benchmark measures throughput and rate-limit
//! compliance against it. It is a real HTTP server (axum on its own tokio runtime, bound to
//! `127.0.0.1:0`) speaking OAuth2 client credentials (`oauth.rs`), a small REST employee API
//! (`rest.rs`) and SCIM 2.0 users (`scim.rs`), with idempotency keys (`idempotency.rs`), a sliding
//! one-second rate limit (`window.rs`) and seeded fault injection (`faults.rs`).
//!
//! Nothing here logs request bodies or headers: they carry PII and secrets.
//!
//! ```
//! use hrbridge::standin::{Config, StandinApi};
//! let api = StandinApi::start(Config::default()).unwrap();
//! assert!(api.base_url().starts_with("http://127.0.0.1:"));
//! assert_eq!(api.record().requests.len(), 0);
//! api.stop();
//! ```

mod conn;
mod faults;
mod gate;
mod idempotency;
mod oauth;
mod record;
mod reply;
mod rest;
mod scim;
mod scim_filter;
mod scim_patch;
#[cfg(test)]
mod testkit;
mod window;

pub use faults::Faults;
pub use record::{Record, Request};
pub use rest::Employee;
pub use scim::ScimUser;

use std::future::IntoFuture;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use axum::Router;
use tokio::sync::oneshot;

/// Largest request body the stand-in reads (bulk uploads of many employees fit).
const BODY_LIMIT: usize = 64 * 1024 * 1024;

/// How long [`StandinApi::stop`] lets open connections finish before cutting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// What the stand-in accepts and how it misbehaves.
#[derive(Debug, Clone)]
pub struct Config {
    /// OAuth2 client id the token endpoint accepts.
    pub client_id: String,
    /// OAuth2 client secret the token endpoint accepts.
    pub client_secret: String,
    /// Lifetime (`expires_in`) of issued tokens; requests with an expired token get 401.
    pub token_ttl: Duration,
    /// Top-level JSON key of a REST employee body that identifies the record, e.g. `employee_id`.
    pub key_field: String,
    /// Requests per second over a sliding one-second window; a REST/SCIM request that would make
    /// the window exceed it gets 429 with `Retry-After: 1` (counted in
    /// [`Record::throttled_by_limit`]).
    pub rate_limit: Option<u32>,
    /// Injected faults for REST and SCIM requests.
    pub faults: Faults,
}

impl Default for Config {
    /// Client `hrbridge-demo` / `demo-secret`, one-hour tokens, key field `employee_id`, no rate
    /// limit, no faults.
    fn default() -> Self {
        Config {
            client_id: "hrbridge-demo".to_string(),
            client_secret: "demo-secret".to_string(),
            token_ttl: Duration::from_secs(3600),
            key_field: "employee_id".to_string(),
            rate_limit: None,
            faults: Faults::default(),
        }
    }
}

/// A running stand-in server; stops when [`stop`](StandinApi::stop)ped or dropped.
#[derive(Debug)]
pub struct StandinApi {
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl StandinApi {
    /// Binds `127.0.0.1:0` and serves on its own thread with its own tokio runtime.
    ///
    /// Safe to call from synchronous code and from inside another tokio runtime: the caller's
    /// runtime is never blocked on.
    pub fn start(config: Config) -> std::io::Result<StandinApi> {
        let std_listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
        std_listener.set_nonblocking(true)?;
        let port = std_listener.local_addr()?.port();
        let shared = Arc::new(Shared::new(config, format!("http://127.0.0.1:{port}")));
        let app = router(Arc::clone(&shared));
        let (shutdown, stop_signal) = oneshot::channel::<()>();
        let (ready, started) = std::sync::mpsc::channel::<std::io::Result<()>>();
        // The runtime is built, used and dropped on the server thread only: dropping a runtime
        // inside the caller's async context would panic.
        let thread = std::thread::Builder::new()
            .name(format!("standin-{port}"))
            .spawn(move || match runtime_for(std_listener) {
                Ok((runtime, listener)) => {
                    let _ = ready.send(Ok(()));
                    serve(runtime, listener, app, stop_signal);
                }
                Err(e) => {
                    let _ = ready.send(Err(e));
                }
            })?;
        let outcome = started.recv().unwrap_or_else(|_| {
            Err(std::io::Error::other(
                "stand-in server thread ended before serving",
            ))
        });
        let api = StandinApi {
            shared,
            shutdown: Some(shutdown),
            thread: Some(thread),
        };
        // On failure, dropping `api` joins the thread that already ended.
        outcome.map(|()| api)
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// A snapshot of everything the server has seen so far.
    pub fn record(&self) -> Record {
        self.shared.lock().snapshot()
    }

    /// Shuts down gracefully (open connections get a short grace period) and joins the thread.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            // The server thread may already be gone; then there is nothing to stop.
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            // A panic on the server thread has nothing left to clean up here.
            let _ = thread.join();
        }
    }
}

impl Drop for StandinApi {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// The server's own runtime, and `listener` registered with it.
fn runtime_for(
    listener: std::net::TcpListener,
) -> std::io::Result<(tokio::runtime::Runtime, conn::CuttableListener)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let listener = {
        let _entered = runtime.enter();
        conn::CuttableListener::from_std(listener)?
    };
    Ok((runtime, listener))
}

/// Runs the server until `stop_signal`, then lets connections finish for [`SHUTDOWN_GRACE`].
fn serve(
    runtime: tokio::runtime::Runtime,
    listener: conn::CuttableListener,
    app: Router,
    stop_signal: oneshot::Receiver<()>,
) {
    runtime.block_on(async move {
        let (begin_grace, grace_begun) = oneshot::channel::<()>();
        let server = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<conn::ConnCut>(),
        )
        .with_graceful_shutdown(async move {
            // A dropped sender (StandinApi gone) means stop as well.
            let _ = stop_signal.await;
            let _ = begin_grace.send(());
        });
        let server = tokio::spawn(server.into_future());
        // Either the server ends by itself (all connections closed) or the grace period runs out;
        // dropping the runtime afterwards cuts whatever is still open.
        let _ = grace_begun.await;
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, server).await;
    });
}

/// All routes: the token endpoint, and REST/SCIM behind the [`gate`]; every request recorded.
fn router(shared: Arc<Shared>) -> Router {
    let api = Router::new()
        .route("/api/v1/employees", post(rest::create))
        .route("/api/v1/employees/bulk", post(rest::bulk))
        .route(
            "/api/v1/employees/{id}",
            put(rest::replace).patch(rest::patch),
        )
        .route("/scim/v2/Users", get(scim::list).post(scim::create))
        .route(
            "/scim/v2/Users/{id}",
            get(scim::fetch)
                .put(scim::replace)
                .patch(scim::patch)
                .delete(scim::delete),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::clone(&shared),
            gate::gate,
        ));
    Router::new()
        .route("/oauth/token", post(oauth::token))
        .merge(api)
        .fallback(reply::no_route)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&shared),
            record::record,
        ))
        .with_state(shared)
}

/// What every handler shares: the configuration and the server's state behind one lock.
#[derive(Debug)]
struct Shared {
    config: Config,
    base_url: String,
    started: Instant,
    state: Mutex<State>,
    /// Serializes requests that carry an `Idempotency-Key`, so a retry racing its original is
    /// either a replay or the first application, never a second one.
    keyed: tokio::sync::Mutex<()>,
}

impl Shared {
    fn new(config: Config, base_url: String) -> Shared {
        let state = State {
            log: record::Log::default(),
            window: window::Window::default(),
            dice: faults::Dice::new(&config.faults),
            tokens: oauth::Tokens::default(),
            idempotency: idempotency::Store::default(),
            employees: rest::Employees::default(),
            users: scim::Users::default(),
        };
        Shared {
            config,
            base_url,
            started: Instant::now(),
            state: Mutex::new(state),
            keyed: tokio::sync::Mutex::new(()),
        }
    }

    /// The state; a panic elsewhere while holding the lock leaves it usable (every update is a
    /// single assignment or push).
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Everything the server remembers, one part per concept.
#[derive(Debug)]
struct State {
    log: record::Log,
    window: window::Window,
    dice: faults::Dice,
    tokens: oauth::Tokens,
    idempotency: idempotency::Store,
    employees: rest::Employees,
    users: scim::Users,
}

impl State {
    fn snapshot(&self) -> Record {
        Record {
            requests: self.log.requests().to_vec(),
            employees: self.employees.by_key().clone(),
            users: self.users.all().to_vec(),
            tokens_issued: self.tokens.issued(),
            tokens: self.tokens.all(),
            max_in_any_second: self.window.max_in_any_second(),
            throttled_by_limit: self.window.throttled(),
            unauthorized: self.log.unauthorized(),
        }
    }
}
