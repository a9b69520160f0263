//! Test support: a private `redis-server` per test (cargo feature `testkit`).
//!
//! Tests that need Redis start their own server on a free loopback port, so they never touch the
//! machine's Redis on 6379, run in parallel without sharing data, and can kill and restart the
//! server to rehearse outages:
//!
//! ```no_run
//! # async fn demo() -> Result<(), unimargin_cache::CacheError> {
//! use unimargin_cache::{RedisCache, RedisOptions, testkit::RedisServer};
//!
//! let server = RedisServer::start();
//! let cache = RedisCache::connect(&server.url(), RedisOptions::default()).await?;
//! # Ok(()) }
//! ```
//!
//! The binary is `$UNIMARGIN_REDIS_SERVER` if set, else `redis-server` from `PATH`. When it is
//! missing the start fails with a message saying how to install it (`apt-get install
//! redis-server`): a test that needs Redis fails rather than silently skipping.
//!
//! Starting blocks the calling thread for the few milliseconds Redis takes to answer `PING`, which
//! is fine in a test, including inside `#[tokio::test]`.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use std::{fs, io, thread};

/// The environment variable naming the `redis-server` binary to use.
pub const REDIS_SERVER_ENV: &str = "UNIMARGIN_REDIS_SERVER";

/// How long a fresh server gets to answer `PING` before the start is declared failed.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// How many free ports [`RedisServer::try_start`] tries before giving up; a port picked as free
/// can be taken by another process before Redis binds it.
const PORT_ATTEMPTS: usize = 5;

/// Why a test Redis could not be started or signalled.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestkitError {
    /// The `redis-server` binary was not found.
    #[error(
        "cannot run `{binary}`: install Redis (`apt-get install redis-server`) or set \
         {REDIS_SERVER_ENV} to the path of a redis-server binary"
    )]
    BinaryNotFound {
        /// The binary that was tried.
        binary: String,
        /// The spawn error.
        #[source]
        source: io::Error,
    },
    /// `redis-server` exited during start-up (port taken, bad option, …).
    #[error("redis-server on port {port} exited during start-up ({status}); its log:\n{log}")]
    Exited {
        /// The port it was asked to listen on.
        port: u16,
        /// Its exit status.
        status: ExitStatus,
        /// Its log file, for diagnosis.
        log: String,
    },
    /// `redis-server` did not answer `PING` in time.
    #[error("redis-server on port {port} did not answer PING within {after:?}; its log:\n{log}")]
    NotReady {
        /// The port it listens on.
        port: u16,
        /// How long it was given.
        after: Duration,
        /// Its log file, for diagnosis.
        log: String,
    },
    /// Any other I/O failure (finding a free port, sending a signal, …).
    #[error("{what}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
}

/// A private `redis-server` on `127.0.0.1`, killed when dropped.
///
/// It runs without persistence (`--save '' --appendonly no`), so a restart starts empty, like a
/// cache node that was replaced.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    binary: OsString,
    log_path: PathBuf,
}

impl RedisServer {
    /// Starts a server on a free loopback port and waits until it answers `PING`.
    ///
    /// # Panics
    ///
    /// When the server cannot be started; the message says why and how to install Redis.
    #[allow(
        clippy::panic,
        reason = "test support: a failed start must fail the test loudly"
    )]
    pub fn start() -> Self {
        Self::try_start().unwrap_or_else(|error| panic!("{error}"))
    }

    /// Starts a server on `port` (for instance one that a cache was configured with while nothing
    /// listened there) and waits until it answers `PING`.
    ///
    /// # Panics
    ///
    /// When the server cannot be started.
    #[allow(
        clippy::panic,
        reason = "test support: a failed start must fail the test loudly"
    )]
    pub fn start_on_port(port: u16) -> Self {
        Self::try_start_on_port(port).unwrap_or_else(|error| panic!("{error}"))
    }

    /// Like [`RedisServer::start`], returning the error instead of panicking.
    pub fn try_start() -> Result<Self, TestkitError> {
        let mut last_error = None;
        for _ in 0..PORT_ATTEMPTS {
            let port = free_port()?;
            match Self::try_start_on_port(port) {
                Ok(server) => return Ok(server),
                // Most likely the port was taken in the meantime: try another one.
                Err(error @ TestkitError::Exited { .. }) => last_error = Some(error),
                Err(error) => return Err(error),
            }
        }
        Err(last_error.unwrap_or(TestkitError::Io {
            what: "no free port",
            source: io::Error::from(io::ErrorKind::AddrInUse),
        }))
    }

    /// Like [`RedisServer::start_on_port`], returning the error instead of panicking.
    pub fn try_start_on_port(port: u16) -> Result<Self, TestkitError> {
        let binary = std::env::var_os(REDIS_SERVER_ENV).unwrap_or_else(|| "redis-server".into());
        let mut server = Self {
            child: None,
            port,
            binary,
            log_path: log_path(port),
        };
        server.spawn()?;
        Ok(server)
    }

    /// The URL to give to [`crate::RedisCache::connect`].
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The port the server listens on (and listens on again after a restart).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the server process is running (it may be frozen).
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// Kills the server (`SIGKILL`, as in a crash) and waits for it to exit. The port stays
    /// reserved for [`RedisServer::restart`]. Stopping a stopped server does nothing.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Errors mean the process has already exited, which is what is wanted.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, empty, and waits until it answers `PING`.
    ///
    /// # Panics
    ///
    /// When the server cannot be started.
    #[allow(
        clippy::panic,
        reason = "test support: a failed start must fail the test loudly"
    )]
    pub fn restart(&mut self) {
        self.stop();
        self.spawn().unwrap_or_else(|error| panic!("{error}"));
    }

    /// Freezes the server (`SIGSTOP`): connections stay open but nothing is answered, which is
    /// how an overloaded or partitioned Redis looks to a client, and the case where only a timeout
    /// protects the caller.
    ///
    /// # Panics
    ///
    /// When the signal cannot be sent.
    #[allow(
        clippy::panic,
        reason = "test support: a failed signal must fail the test loudly"
    )]
    pub fn freeze(&self) {
        self.signal("-STOP")
            .unwrap_or_else(|error| panic!("{error}"));
    }

    /// Resumes a frozen server (`SIGCONT`).
    ///
    /// # Panics
    ///
    /// When the signal cannot be sent.
    #[allow(
        clippy::panic,
        reason = "test support: a failed signal must fail the test loudly"
    )]
    pub fn thaw(&self) {
        self.signal("-CONT")
            .unwrap_or_else(|error| panic!("{error}"));
    }

    fn signal(&self, signal: &str) -> Result<(), TestkitError> {
        let Some(child) = &self.child else {
            return Ok(());
        };
        // The `kill` utility keeps this crate free of `unsafe` and of a libc dependency.
        let status = Command::new("kill")
            .arg(signal)
            .arg(child.id().to_string())
            .status()
            .map_err(|source| TestkitError::Io {
                what: "cannot run `kill` to signal redis-server",
                source,
            })?;
        if status.success() {
            Ok(())
        } else {
            Err(TestkitError::Io {
                what: "`kill` failed to signal redis-server",
                source: io::Error::other(status.to_string()),
            })
        }
    }

    fn spawn(&mut self) -> Result<(), TestkitError> {
        let _ = fs::remove_file(&self.log_path);
        let child = Command::new(&self.binary)
            .arg("--port")
            .arg(self.port.to_string())
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .arg("--dir")
            .arg(std::env::temp_dir())
            .arg("--logfile")
            .arg(&self.log_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| TestkitError::BinaryNotFound {
                binary: self.binary.to_string_lossy().into_owned(),
                source,
            })?;
        self.child = Some(child);
        self.wait_ready()
    }

    fn wait_ready(&mut self) -> Result<(), TestkitError> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let started = Instant::now();
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                return Err(TestkitError::Exited {
                    port: self.port,
                    status,
                    log: self.log(),
                });
            }
            if answers_ping(addr) {
                return Ok(());
            }
            if started.elapsed() > READY_TIMEOUT {
                self.stop();
                return Err(TestkitError::NotReady {
                    port: self.port,
                    after: READY_TIMEOUT,
                    log: self.log(),
                });
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    fn log(&self) -> String {
        fs::read_to_string(&self.log_path).unwrap_or_else(|error| format!("(no log: {error})"))
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = fs::remove_file(&self.log_path);
    }
}

/// A loopback port that nothing listens on right now (the OS picks it; it can be taken again
/// before it is used, which callers that bind it must tolerate).
pub fn free_port() -> Result<u16, TestkitError> {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|source| TestkitError::Io {
            what: "cannot bind a loopback port",
            source,
        })?;
    let port = listener
        .local_addr()
        .map_err(|source| TestkitError::Io {
            what: "cannot read the bound port",
            source,
        })?
        .port();
    Ok(port)
}

/// A log file name unique to this process, port and start, so parallel tests never share one.
fn log_path(port: u16) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!(
        "unimargin-redis-{}-{port}-{n}.log",
        std::process::id()
    ))
}

/// Sends an inline `PING` over a plain socket: no client library, so readiness does not depend on
/// the code under test.
fn answers_ping(addr: SocketAddr) -> bool {
    let timeout = Duration::from_millis(200);
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, timeout) else {
        return false;
    };
    if stream.set_read_timeout(Some(timeout)).is_err() || stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut reply = [0u8; 16];
    let mut read = 0;
    while read < b"+PONG\r\n".len() {
        match stream.read(&mut reply[read..]) {
            Ok(0) | Err(_) => return false,
            Ok(n) => read += n,
        }
    }
    reply.starts_with(b"+PONG\r\n")
}
