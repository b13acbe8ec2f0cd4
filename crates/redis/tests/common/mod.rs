//! A redis-server of a test's own on loopback (Debian's, installed by `make test`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A redis-server on a free port, stopped when dropped.
pub struct Server {
    child: Child,
    pub url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn server() -> Server {
    server_with(&[]).await
}

/// A redis-server on a free port with `more` arguments.
pub async fn server_with(more: &[&str]) -> Server {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .args(more)
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server is needed (make tool-redis installs it)");
    // Dropped (killed and waited for) whether it starts or not.
    let server = Server { child, url: format!("redis://127.0.0.1:{port}") };
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("redis-server did not start on {port}");
}
