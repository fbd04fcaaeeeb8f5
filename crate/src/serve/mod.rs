//! `fashion-lab serve`: the deployment page of report 001 and its HTTP API, from one binary,
//! offline. The page, its script and style and the example pictures are compiled in; the models
//! are read from a folder (`models/`); nothing is written to disk.
//!
//! ```text
//! GET  /                         the page: drop, choose or paste pictures; the examples; a model picker
//! GET  /api/models               the saved models, the default one and whether it is ready
//! GET  /api/examples             the example pictures' names; GET /examples/<name> serves one
//! POST /api/classify?model=&name=  the picture's bytes as the body -> JSON (class, name,
//!                                confidence, the ten probabilities, the 28x28 input)
//! ```
//!
//! Compiled only with the crate's `serve` feature (`make serve` turns it on), so notebook kernels
//! never build the server. It is hyper's HTTP/1.1 server on a tokio runtime; a picture is
//! classified on a blocking thread through [`crate::nn::Model::classify_picture`], the path
//! `classify_image` and `fashion-lab classify` take.

mod models;
mod routes;

pub mod client;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::Semaphore;

use crate::error::{Error, Result};
pub use models::{ModelEntry, ModelStore};

/// The port `fashion-lab serve` and `make serve` listen on unless told otherwise.
pub const DEFAULT_PORT: u16 = 8765;

/// The model notebook 02 saves, looked up in the models folder.
pub const DEFAULT_MODEL: &str = "02-deep-cnn.safetensors";

/// The largest picture the server accepts (20 MiB); a larger upload gets HTTP 413.
pub const MAX_UPLOAD_BYTES: usize = 20 * 1024 * 1024;

/// How the server runs. [`ServeConfig::default`] is what `make serve` starts.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// The address to listen on: loopback unless told otherwise.
    pub host: String,
    /// 0 picks a free port (the tests do).
    pub port: u16,
    /// The folder the model picker lists (`*.safetensors`).
    pub models_dir: PathBuf,
    /// The model used when a request names none: a file name in `models_dir`, or a path.
    pub model: PathBuf,
    /// Uploads over this many bytes are refused with HTTP 413.
    pub max_upload_bytes: usize,
    /// Pictures decoded and classified at once (the rest wait their turn).
    pub classify_slots: usize,
    /// Print one line per request on stderr.
    pub log_requests: bool,
}

impl Default for ServeConfig {
    fn default() -> Self {
        let models_dir = std::env::var_os(crate::protocol::MODELS_ENV)
            .filter(|v| !v.is_empty())
            .map_or_else(|| PathBuf::from("models"), PathBuf::from);
        ServeConfig {
            host: "127.0.0.1".to_string(),
            port: DEFAULT_PORT,
            models_dir,
            model: PathBuf::from(DEFAULT_MODEL),
            max_upload_bytes: MAX_UPLOAD_BYTES,
            classify_slots: std::thread::available_parallelism().map_or(2, |n| n.get()),
            log_requests: true,
        }
    }
}

/// What every request handler shares.
pub(crate) struct State {
    pub(crate) models: ModelStore,
    pub(crate) max_upload_bytes: usize,
    /// Uploads being received at once (bounds the memory bodies take).
    pub(crate) uploads: Semaphore,
    /// Pictures being decoded and classified at once.
    pub(crate) classify: Semaphore,
    pub(crate) log_requests: bool,
}

/// Uploads received at once; more wait for a slot (each holds at most `max_upload_bytes`).
const UPLOAD_SLOTS: usize = 32;

/// A server bound to its address, not yet serving.
pub struct Server {
    listener: std::net::TcpListener,
    address: SocketAddr,
    state: Arc<State>,
}

fn listen_error(address: &str, why: impl std::fmt::Display) -> Error {
    Error::Listen {
        address: address.to_string(),
        reason: why.to_string(),
    }
}

impl Server {
    /// Binds the address (so a taken port is reported now) and checks the settings.
    pub fn bind(config: ServeConfig) -> Result<Server> {
        if config.max_upload_bytes == 0 || config.classify_slots == 0 {
            return Err(Error::param(
                "max_upload_bytes / classify_slots",
                "both must be at least 1",
            ));
        }
        let wanted = format!("{}:{}", config.host, config.port);
        let listener =
            std::net::TcpListener::bind(&wanted).map_err(|e| listen_error(&wanted, e))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| listen_error(&wanted, e))?;
        let address = listener
            .local_addr()
            .map_err(|e| listen_error(&wanted, e))?;
        let state = State {
            models: ModelStore::new(config.models_dir, &config.model),
            max_upload_bytes: config.max_upload_bytes,
            uploads: Semaphore::new(UPLOAD_SLOTS),
            classify: Semaphore::new(config.classify_slots),
            log_requests: config.log_requests,
        };
        Ok(Server {
            listener,
            address,
            state: Arc::new(state),
        })
    }

    /// Where it listens (the real port when 0 was asked).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The page's address, e.g. `http://127.0.0.1:8765/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.address)
    }

    /// The models it serves.
    pub fn models(&self) -> &ModelStore {
        &self.state.models
    }

    fn runtime(&self) -> Result<tokio::runtime::Runtime> {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("fashion-lab-serve")
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| listen_error(&self.address.to_string(), e))
    }

    /// Serves until the process ends (`fashion-lab serve`).
    pub fn run(self) -> Result<()> {
        let runtime = self.runtime()?;
        let address = self.address.to_string();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(self.listener)
                .map_err(|e| listen_error(&address, e))?;
            accept_loop(listener, self.state).await;
            Ok(())
        })
    }

    /// Serves on background threads until the returned handle is stopped or dropped (the tests
    /// and the load bench).
    pub fn spawn(self) -> Result<RunningServer> {
        let runtime = self.runtime()?;
        let listener = {
            let _inside = runtime.enter();
            tokio::net::TcpListener::from_std(self.listener)
                .map_err(|e| listen_error(&self.address.to_string(), e))?
        };
        runtime.spawn(accept_loop(listener, self.state));
        Ok(RunningServer {
            address: self.address,
            runtime: Some(runtime),
        })
    }
}

/// A server serving in the background; dropping it stops it.
pub struct RunningServer {
    address: SocketAddr,
    runtime: Option<tokio::runtime::Runtime>,
}

impl RunningServer {
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn url(&self) -> String {
        format!("http://{}/", self.address)
    }

    /// Stops accepting and closes the connections (waits up to 2 s for requests in flight).
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(2));
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// Accepts connections until the runtime stops, each served by its own task.
async fn accept_loop(listener: tokio::net::TcpListener, state: Arc<State>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors and the like: wait, then go on serving.
                eprintln!("serve: cannot accept a connection: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let service = service_fn(move |request| routes::handle(Arc::clone(&state), request));
            let served = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(30))
                .serve_connection(TokioIo::new(stream), service)
                .await;
            // A client that goes away mid-request is its own business; nothing to report.
            drop(served);
        });
    }
}
