//! End to end: the `unimargin` binary as a user runs it.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::inconsistent_digit_grouping,
    reason = "a test reports failure by panicking; prices are grouped as whole units _ 8 decimals"
)]

mod round_trips;

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    process::{Child, Command, Stdio},
    time::Duration,
};

struct Demo {
    child: Child,
    base: String,
    anvil_pid: u32,
    /// The demo's stderr: its logs.
    log: std::path::PathBuf,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = Command::new("kill")
            .arg(self.anvil_pid.to_string())
            .status();
        let _ = std::fs::remove_file(&self.log);
    }
}

fn start_demo() -> Demo {
    let log = std::env::temp_dir().join(format!("unimargin-demo-{}.log", std::process::id()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_unimargin"))
        .args(["demo", "--bind", "127.0.0.1:0"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .env_remove("UNIMARGIN_LOG_FORMAT")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("spawn unimargin demo");
    let stdout = child.stdout.take().expect("stdout");
    let mut base = None;
    let mut anvil_pid = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("demo output");
        if let Some(rest) = line.strip_prefix("anvil") {
            anvil_pid = rest
                .split("(pid ")
                .nth(1)
                .and_then(|s| s.trim_end_matches(')').parse().ok());
        }
        if line.starts_with("curl -s http://") && base.is_none() {
            let url = line
                .trim_start_matches("curl -s ")
                .split(' ')
                .next()
                .unwrap_or_default();
            base = url.split("/v1/").next().map(str::to_owned);
        }
        if line.starts_with("Ctrl-C") {
            break;
        }
    }
    Demo {
        child,
        base: base.expect("demo printed its URL"),
        anvil_pid: anvil_pid.expect("demo printed anvil's pid"),
        log,
    }
}

/// A minimal HTTP/1.1 client: enough for the test, and independent of the server's own stack.
fn http(base: &str, method: &str, path: &str, body: Option<&str>) -> (u16, serde_json::Value) {
    let addr = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status: u16 = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let (head, payload) = response.split_once("\r\n\r\n").expect("headers");
    let payload = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(payload)
    } else {
        payload.to_owned()
    };
    (
        status,
        serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
    )
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = &rest[n + 2..];
    }
    out
}

#[test]
fn demo_serves_the_seeded_owner_and_fails_closed_when_anvil_stops() {
    let demo = start_demo();
    let owner = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    let body = format!(r#"{{"accounts":["anvil:{owner}"]}}"#);
    let (status, profile) = http(&demo.base, "POST", "/v1/profiles", Some(&body));
    assert_eq!(status, 200, "{profile}");
    assert_eq!(profile["coverage"]["complete"], true);
    let aave = &profile["protocols"][0];
    assert_eq!(aave["protocol"], "aave-v3");
    // Hand-computed in the adapter tests: wadDiv(30_000e8×8300 + 30_000e8×7800, 14_999.4e8) / 1e4.
    assert_eq!(aave["native_health"]["value"], "3.220128805152206088");
    assert_eq!(aave["native_health"]["agrees"], true);
    assert_eq!(profile["totals"]["collateral_usd"], "60000");
    assert_eq!(profile["totals"]["debt_usd"], "14999.4");
    // 48300 / 14999.4, exact to 28 digits.
    assert!(
        profile["health"]
            .as_str()
            .unwrap()
            .starts_with("3.22012880515220608"),
        "{}",
        profile["health"]
    );

    let (status, same) = http(
        &demo.base,
        "GET",
        &format!("/v1/accounts/eip155:31337:{owner}/profile"),
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(same["totals"], profile["totals"]);

    let (status, protocols) = http(&demo.base, "GET", "/v1/protocols", None);
    assert_eq!(status, 200);
    assert_eq!(protocols["protocols"][0]["chain"], "eip155:31337");

    // Stop anvil: the next profile must not look healthy.
    Command::new("kill")
        .arg(demo.anvil_pid.to_string())
        .status()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let (status, err) = http(&demo.base, "POST", "/v1/profiles", Some(&body));
    assert!(status == 502 || status == 504, "status {status}: {err}");
    assert_eq!(err["profile"]["coverage"]["complete"], false);
    assert!(err["profile"]["health"].is_null());
    assert_eq!(err["profile"]["credit_capacity_usd"], "0");
    assert!(!err["error"]["failures"].as_array().unwrap().is_empty());

    // stderr is not a terminal, so the logs are JSON lines (beside the demo's own progress
    // messages); the failed request's error line carries its request id from the request span.
    let logs = std::fs::read_to_string(&demo.log).unwrap();
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let failed = lines
        .iter()
        .find(|l| l["level"] == "ERROR" && l["fields"]["message"] == "request failed")
        .unwrap_or_else(|| panic!("no logged failure in:\n{logs}"));
    let id = failed["span"]["request_id"].as_str().unwrap_or_default();
    assert_eq!(id, err["error"]["request_id"].as_str().unwrap(), "{failed}");
}

#[test]
fn schemas_check_passes_on_the_checked_in_files() {
    let out = Command::new(env!("CARGO_BIN_EXE_unimargin"))
        .args(["schemas", "--check"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn invalid_configuration_names_the_key() {
    let dir = std::env::temp_dir().join(format!("unimargin-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.toml");
    std::fs::write(
        &path,
        "[chains.x]\nid = \"eip155:0\"\nrpc_url = \"http://127.0.0.1:1\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_unimargin"))
        .args([
            "profile",
            "eip155:1:0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
            "--config",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("chains.x.id"), "{stderr}");

    std::fs::write(&path, "[server]\nbind = \"nonsense\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_unimargin"))
        .args(["serve", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bind"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
