//! The live path end to end on loopback: `clhooks send`, `simulate --live` and `replay` against
//! `clhooks listen` and against plain local servers that fail or stall on purpose (native only).
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_clhooks");
const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/vectors/orders-place-payload.json");

/// A `clhooks listen` on a free loopback port, stopped when dropped.
struct Listener {
    child: Child,
    base: String,
    lines: mpsc::Receiver<String>,
}

impl Listener {
    fn start(args: &[&str]) -> Listener {
        let mut child = Command::new(BIN)
            .args(["listen", "--port", "0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let first = lines.recv_timeout(Duration::from_secs(10)).unwrap();
        let base = first.strip_prefix("listening on ").unwrap().split(' ').next().unwrap().to_owned();
        Listener { child, base, lines }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The lines printed so far.
    fn seen(&self) -> Vec<String> {
        thread::sleep(Duration::from_millis(100));
        self.lines.try_iter().collect()
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn clhooks(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn send_delivers_a_verified_event() {
    let listener = Listener::start(&["--secret", "s1", "--secret", "s2"]);
    let out = clhooks(&[
        "send",
        "--url",
        &listener.url("/hooks"),
        "--secret",
        "s2",
        "--topic",
        "orders.place",
        FIXTURE,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("delivered after 1 attempt(s)"));
    let seen = listener.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].contains("POST /hooks  orders.place  orders/wBXVhZOmXO  verified  200"), "{seen:?}");
}

#[test]
fn send_retries_a_failing_endpoint_with_the_same_signed_body() {
    let listener = Listener::start(&["--secret", "s", "--route", "/flaky=fail-first:2"]);
    let out = clhooks(&[
        "send",
        "--url",
        &listener.url("/flaky"),
        "--secret",
        "s",
        "--topic",
        "orders.place",
        "--time-scale",
        "0.001",
        FIXTURE,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("attempt  1  FAIL 500") && stdout.contains("retry 2 at +00:00:15"), "{stdout}");
    assert!(stdout.contains("delivered after 3 attempt(s)"), "{stdout}");
    let seen = listener.seen();
    assert_eq!(seen.len(), 3);
    assert!(seen[2].ends_with("200  (this delivery's attempt 3: a retry)"), "{seen:?}");
}

#[test]
fn a_receiver_answering_after_six_seconds_has_failed() {
    let listener = Listener::start(&["--secret", "s", "--route", "/slow=slow-ms:6000"]);
    let out = clhooks(&[
        "send",
        "--url",
        &listener.url("/slow"),
        "--secret",
        "s",
        "--topic",
        "orders.place",
        "--max-retries",
        "0",
        FIXTURE,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("FAIL timeout after 5000 ms") && stdout.contains("DROPPED: retries_exhausted"),
        "{stdout}"
    );
    assert!(text(&out.stderr).starts_with("error[not_delivered]"));
}

/// A plain server that answers every request with `status` after `delay`, counting requests.
/// Reads one HTTP/1.1 request (head and Content-Length body) off a stream; returns the body.
fn read_request(stream: &std::net::TcpStream) -> Vec<u8> {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap();
        }
        if line == "\r\n" || line.is_empty() {
            break;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    body
}

fn plain_server(status: u16, delay: Duration, count: usize) -> (String, thread::JoinHandle<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let handle = thread::spawn(move || {
        let mut served = 0;
        for stream in listener.incoming().take(count) {
            let mut stream = stream.unwrap();
            read_request(&stream);
            thread::sleep(delay);
            let _ = write!(
                stream,
                "HTTP/1.1 {status} Whatever\r\ncontent-length: 2\r\nconnection: close\r\n\r\nno"
            );
            served += 1;
        }
        served
    });
    (base, handle)
}

#[test]
fn a_plain_server_failing_on_purpose_gets_every_retry_then_the_event_is_dropped() {
    let (base, server) = plain_server(503, Duration::ZERO, 11);
    let out = clhooks(&[
        "send",
        "--url",
        &format!("{base}/x"),
        "--secret",
        "s",
        "--topic",
        "orders.place",
        "--time-scale",
        "0.0001",
        FIXTURE,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.matches("FAIL 503").count(), 11, "{stdout}");
    assert!(stdout.contains("notice to the organization owner: 5 consecutive failures"));
    assert!(stdout.contains("DROPPED: retries_exhausted"));
    assert_eq!(server.join().unwrap(), 11);
}

#[test]
fn a_refused_connection_is_a_failure_too() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/gone");
    let out = clhooks(&[
        "send",
        "--url",
        &url,
        "--secret",
        "s",
        "--topic",
        "orders.place",
        "--max-retries",
        "1",
        "--time-scale",
        "0.001",
        FIXTURE,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout).matches("  FAIL ").count(), 2);
}

#[test]
fn simulate_live_opens_the_breaker_of_a_dead_endpoint_and_recovers_after_reset() {
    let listener = Listener::start(&[
        "--secret",
        "secret-healthy",
        "--secret",
        "secret-flaky",
        "--secret",
        "secret-dead",
        "--route",
        "/flaky=fail-first:2",
        "--route",
        "/dead=fail-first:30",
    ]);
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/scenarios/demo-live.json");
    let out =
        clhooks(&["simulate", "--live", scenario, "--target", &listener.base, "--time-scale", "0.0001"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("dead       notice to the organization owner: 5 consecutive failures"),
        "{stdout}"
    );
    assert!(stdout.contains("CIRCUIT OPEN after 30 consecutive failures"));
    let table: Vec<&str> = stdout.lines().skip_while(|l| !l.starts_with("webhook ")).collect();
    let row =
        |id: &str| table.iter().find(|l| l.starts_with(id)).unwrap().split_whitespace().collect::<Vec<_>>();
    assert_eq!(row("dead")[1..8], ["closed", "0", "31", "1", "30", "1", "1"], "{stdout}");
    assert_eq!(row("flaky")[1..7], ["closed", "0", "3", "1", "2", "1"], "{stdout}");
    assert_eq!(row("placed")[1..7], ["closed", "0", "1", "1", "0", "1"]);
    let (seen, notices): (Vec<String>, Vec<String>) =
        listener.seen().into_iter().partition(|l| l.contains(" POST "));
    assert_eq!(seen.len(), 37, "{seen:#?}");
    assert!(seen.iter().all(|l| l.contains(" verified ")), "every delivery verifies: {seen:#?}");
    // listen counted what the sender counted: its notice at 5, the circuit open at 30, the end.
    let said: Vec<&str> =
        notices.iter().map(|l| l.split_once("  ").map_or(l.as_str(), |(_, said)| said)).collect();
    assert_eq!(said.len(), 3, "{notices:#?}");
    assert!(
        said[0].starts_with("5 consecutive failed attempts for the customers.create webhook"),
        "{said:?}"
    );
    assert!(
        said[1].starts_with(
            "30 consecutive failed attempts for the customers.create webhook: Commerce Layer has now opened"
        ),
        "{said:?}"
    );
    assert!(said[2].starts_with("the customers.create webhook succeeded again after 30"), "{said:?}");
}

#[test]
fn replay_resigns_a_payload_and_its_curl_command_is_accepted() {
    let listener = Listener::start(&["--secret", "s"]);
    let url = listener.url("/replayed");
    let out = clhooks(&["replay", FIXTURE, "--url", &url, "--secret", "s", "--topic", "orders.place"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("200 OK in "));
    let wrong = clhooks(&["replay", FIXTURE, "--url", &url, "--secret", "other", "--topic", "orders.place"]);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(text(&wrong.stdout).contains("\"error\":\"signature_mismatch\""));
    let no_topic = clhooks(&["replay", FIXTURE, "--url", &url, "--secret", "s"]);
    assert_eq!(no_topic.status.code(), Some(1));
    assert!(text(&no_topic.stdout).starts_with("400 "));

    let curl = text(
        &clhooks(&["replay", FIXTURE, "--url", &url, "--secret", "s", "--topic", "orders.place", "--curl"])
            .stdout,
    );
    assert!(curl.starts_with("curl -sS -X POST ") && curl.contains("--data-binary '@"), "{curl}");
    let ran = Command::new("sh").arg("-c").arg(&curl).output().unwrap();
    // The same signed body again: a retry of a handled delivery, recognised by its idempotency key.
    assert_eq!(text(&ran.stdout), r#"{"received":"orders.place","duplicate":true}"#, "{}", text(&ran.stderr));
    let seen = listener.seen();
    assert!(seen[0].contains("verified  200") && seen[1].contains("401 signature_mismatch"), "{seen:?}");
    assert!(seen[2].contains("400 missing_topic"), "{seen:?}");
}

#[test]
fn listen_refuses_bad_requests_and_keeps_serving() {
    let listener = Listener::start(&["--secret", "s", "--max-body", "100000"]);
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let url = listener.url("/hooks");
    let status = |r: Result<ureq::http::Response<ureq::Body>, ureq::Error>| r.unwrap().status().as_u16();
    assert_eq!(status(agent.get(&url).call()), 405);
    assert_eq!(status(agent.post(&url).send(&vec![b'x'; 200_000][..])), 413);
    assert_eq!(status(agent.post(&url).send(&b""[..])), 401);
    let body = b"{not json";
    let signature = clhooks::sign(body, "s").unwrap();
    let signed = agent
        .post(&url)
        .header("X-CommerceLayer-Signature", &signature)
        .header("X-CommerceLayer-Topic", "orders.place");
    assert_eq!(status(signed.send(&body[..])), 400);
    let good = std::fs::read(FIXTURE).unwrap();
    let signature = clhooks::sign(&good, "s").unwrap();
    let request = agent
        .post(&url)
        .header("x-commercelayer-signature", &signature)
        .header("x-commercelayer-topic", "orders.place");
    assert_eq!(status(request.send(&good[..])), 200);
    let seen = listener.seen();
    assert!(
        seen[0].contains("GET /hooks  405")
            && seen[1].contains("413")
            && seen[2].contains("401 missing_signature"),
        "{seen:?}"
    );
    assert!(seen[3].contains("400 invalid_json"), "{seen:?}");
}

/// A server that holds each request until `want` are in at once (or 3 s pass), then answers
/// 200 to all of them; returns the most requests it saw at once.
fn rendezvous_server(want: usize) -> (String, thread::JoinHandle<usize>) {
    use std::sync::{Arc, Condvar, Mutex};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let handle = thread::spawn(move || {
        let state = Arc::new((Mutex::new((0usize, 0usize)), Condvar::new()));
        let mut workers = Vec::new();
        for stream in listener.incoming().take(want) {
            let state = Arc::clone(&state);
            workers.push(thread::spawn(move || {
                let mut stream = stream.unwrap();
                read_request(&stream);
                let (lock, ready) = &*state;
                let mut counts = lock.lock().unwrap();
                counts.0 += 1;
                counts.1 = counts.1.max(counts.0);
                ready.notify_all();
                let (counts, _) =
                    ready.wait_timeout_while(counts, Duration::from_secs(3), |c| c.0 < want).unwrap();
                drop(counts);
                let _ = write!(stream, "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
            }));
        }
        for worker in workers {
            worker.join().unwrap();
        }
        let most = state.0.lock().unwrap().1;
        most
    });
    (base, handle)
}

#[test]
fn simulate_live_calls_different_webhooks_side_by_side() {
    // The drift this replaces: the CLI's live mode called webhooks one at a time while the npm
    // package's called them side by side. Both run the core's driver now.
    let (base, server) = rendezvous_server(2);
    let scenario = serde_json::json!({
        "webhooks": [
            {"id": "a", "topic": "orders.place", "callback_url": format!("{base}/a"), "shared_secret": "sa"},
            {"id": "b", "topic": "orders.place", "callback_url": format!("{base}/b"), "shared_secret": "sb"},
        ],
        "events": [{"at_ms": 0, "topic": "orders.place"}],
    });
    let path = std::env::temp_dir().join(format!("clhooks-side-by-side-{}.json", std::process::id()));
    std::fs::write(&path, scenario.to_string()).unwrap();
    let out = clhooks(&["simulate", "--live", path.to_str().unwrap()]);
    let _ = std::fs::remove_file(&path);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(server.join().unwrap(), 2, "both calls were out at once\n{}", text(&out.stdout));
    assert_eq!(text(&out.stdout).matches("delivered after 1 attempt(s)").count(), 2);
}

#[test]
fn listen_receives_only_from_allowed_sources() {
    let replay =
        |url: &str| clhooks(&["replay", FIXTURE, "--url", url, "--secret", "s", "--topic", "orders.place"]);
    // Commerce Layer's addresses only: loopback is refused before its signature is looked at.
    let closed = Listener::start(&["--secret", "s", "--allow-source", "commercelayer"]);
    let out = replay(&closed.url("/hooks"));
    assert!(!out.status.success());
    assert!(text(&out.stdout).starts_with("403 "), "{}", text(&out.stdout));
    assert!(closed.seen()[0].contains("403"), "{:?}", closed.seen());
    // Loopback allowed.
    let open = Listener::start(&["--secret", "s", "--allow-source", "127.0.0.0/8", "--allow-source", "::1"]);
    let out = replay(&open.url("/hooks"));
    assert!(out.status.success(), "{}", text(&out.stdout));
    // A bad entry is refused at start.
    let bad = clhooks(&["listen", "--port", "0", "--secret", "s", "--allow-source", "10.0.0.0/40"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad.stderr).starts_with("error[invalid_source]: "), "{}", text(&bad.stderr));
}

/// Sends raw bytes on a fresh connection and returns the status line's code (0 when the
/// connection closed without one) within `wait`.
fn raw(base: &str, bytes: &[u8], wait: Duration) -> u16 {
    let address = base.strip_prefix("http://").unwrap();
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(wait)).unwrap();
    let _ = stream.write_all(bytes);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = text(&answer);
    answer.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or(0)
}

#[test]
fn listen_is_strict_about_framing_and_bounded_in_size() {
    let listener = Listener::start(&["--secret", "s", "--max-body", "1000"]);
    let wait = Duration::from_secs(5);
    let head = "POST /hooks HTTP/1.1\r\nhost: x\r\n";
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        (
            "two Content-Lengths",
            format!("{head}content-length: 5\r\ncontent-length: 6\r\n\r\nhello!").into(),
            400,
        ),
        (
            "the same length twice",
            format!("{head}content-length: 5\r\ncontent-length: 5\r\n\r\nhello").into(),
            400,
        ),
        (
            "Content-Length with chunked",
            format!("{head}content-length: 5\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
                .into(),
            400,
        ),
        ("chunked alone", format!("{head}transfer-encoding: chunked\r\n\r\n0\r\n\r\n").into(), 411),
        ("a negative length", format!("{head}content-length: -1\r\n\r\n").into(), 400),
        ("a length that is not a number", format!("{head}content-length: 5x\r\n\r\nhello").into(), 400),
        ("a length past u64", format!("{head}content-length: 99999999999999999999999\r\n\r\n").into(), 400),
        ("bare LF line endings", b"POST /hooks HTTP/1.1\nhost: x\ncontent-length: 0\n\n".to_vec(), 400),
        ("a lone LF in a header", format!("{head}x-a: 1\n\r\n").into(), 400),
        (
            "200 headers",
            format!("{head}{}\r\n", (0..200).map(|i| format!("x-h{i}: v\r\n")).collect::<String>()).into(),
            431,
        ),
        ("a 20 KB header line", format!("{head}x-big: {}\r\n\r\n", "a".repeat(20_000)).into(), 431),
        (
            "a body over --max-body, by its length",
            format!("{head}content-length: 5000000\r\n\r\n").into(),
            413,
        ),
        ("not HTTP", b"HELLO\r\n\r\n".to_vec(), 400),
    ];
    for (name, bytes, want) in cases {
        assert_eq!(raw(&listener.base, &bytes, wait), want, "{name}");
    }
    // Still serving.
    let body = std::fs::read(FIXTURE).unwrap();
    let request = format!(
        "{head}x-commercelayer-signature: {}\r\nx-commercelayer-topic: orders.place\r\ncontent-length: {}\r\n\r\n",
        clhooks::sign(&body, "s").unwrap(),
        body.len()
    );
    let listener = Listener::start(&["--secret", "s"]);
    assert_eq!(raw(&listener.base, &[request.as_bytes(), &body].concat(), wait), 200);
}

#[test]
fn listen_is_not_held_up_by_slow_or_idle_clients() {
    let listener = Listener::start(&[
        "--secret",
        "s",
        "--header-timeout-ms",
        "500",
        "--body-timeout-ms",
        "800",
        "--max-connections",
        "8",
    ]);
    let address = listener.base.strip_prefix("http://").unwrap().to_owned();
    // A body trickled a byte at a time, and a connection that sends nothing.
    let mut trickle = std::net::TcpStream::connect(&address).unwrap();
    trickle.write_all(b"POST /hooks HTTP/1.1\r\ncontent-length: 1000\r\n\r\n{").unwrap();
    let idle = std::net::TcpStream::connect(&address).unwrap();
    // Meanwhile a delivery is answered at once.
    let started = std::time::Instant::now();
    assert_eq!(
        raw(&listener.base, b"POST /hooks HTTP/1.1\r\ncontent-length: 0\r\n\r\n", Duration::from_secs(3)),
        401
    );
    assert!(started.elapsed() < Duration::from_millis(400), "{:?}", started.elapsed());
    // The idle connection is answered 408 and closed after the header timeout; the trickled
    // body counts as unreadable after the body timeout, and its connection closes too.
    let read_all = |mut stream: std::net::TcpStream| {
        stream.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        text(&answer)
    };
    assert!(read_all(idle).starts_with("HTTP/1.1 408 "));
    let _ = trickle.write_all(b"\"");
    assert!(read_all(trickle).starts_with("HTTP/1.1 400 "), "an unreadable body is the core's 400");
    // Past --max-connections, a connection is answered 503 and closed; the others go on. (The
    // connections above are let go of first: their threads end just after they close.)
    thread::sleep(Duration::from_millis(300));
    let held: Vec<std::net::TcpStream> =
        (0..8).map(|_| std::net::TcpStream::connect(&address).unwrap()).collect();
    thread::sleep(Duration::from_millis(100));
    assert_eq!(raw(&listener.base, b"", Duration::from_secs(2)), 503);
    drop(held);
    thread::sleep(Duration::from_millis(700));
    assert_eq!(
        raw(&listener.base, b"POST /hooks HTTP/1.1\r\ncontent-length: 0\r\n\r\n", Duration::from_secs(3)),
        401
    );
}

#[test]
fn saved_payloads_have_safe_names_and_secrets_stay_off_the_command_line() {
    let dir = std::env::temp_dir().join(format!("clhooks-save-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("orders.place-d")).unwrap();
    let secret_file = dir.join("secret");
    std::fs::write(&secret_file, "old\nfile-secret\n").unwrap();
    let listener =
        Listener::start(&["--secret-file", secret_file.to_str().unwrap(), "--save", dir.to_str().unwrap()]);
    for id in ["../../x", "d/../../../escaped", "a\nb", "", ".hidden"] {
        let body = serde_json::json!({"data": {"id": id, "type": "orders", "attributes": {}}}).to_string();
        let out = Command::new(BIN)
            .args(["replay", "-", "--url", &listener.url("/h"), "--topic", "orders.place"])
            .env("CL_WEBHOOK_SECRET", "file-secret")
            .arg("--secret-file")
            .arg(&secret_file)
            .output();
        // replay takes one secret: two lines in the file are refused.
        assert_eq!(out.unwrap().status.code(), Some(2));
        let out = Command::new(BIN)
            .args(["replay", "/dev/stdin", "--url", &listener.url("/h"), "--topic", "orders.place"])
            .env("CL_WEBHOOK_SECRET", "file-secret")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                child.stdin.take().unwrap().write_all(body.as_bytes())?;
                child.wait_with_output()
            })
            .unwrap();
        assert!(out.status.success(), "{id:?}: {}", text(&out.stdout));
    }
    let seen = listener.seen();
    assert!(seen.iter().all(|l| !l.contains('\n')) && seen.len() == 5, "{seen:#?}");
    assert!(seen[2].contains("orders/a\\nb  verified"), "{seen:#?}");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    let want = [
        "orders.place-_.json",
        "orders.place-______x.json",
        "orders.place-_hidden.json",
        "orders.place-a_b.json",
        "orders.place-d__________escaped.json",
    ];
    assert_eq!(names, want);
    assert!(!dir.join("escaped.json").exists() && !std::env::temp_dir().join("escaped.json").exists());
    // Without any secret option, CL_WEBHOOK_SECRET is read; without it either, a usage error.
    let signed =
        Command::new(BIN).args(["sign", "/dev/null"]).env("CL_WEBHOOK_SECRET", "e").output().unwrap();
    assert_eq!(text(&signed.stdout).trim(), clhooks::sign(b"", "e").unwrap());
    let none =
        Command::new(BIN).args(["sign", "/dev/null"]).env_remove("CL_WEBHOOK_SECRET").output().unwrap();
    assert_eq!(none.status.code(), Some(2));
    assert!(text(&none.stderr).contains("CL_WEBHOOK_SECRET"));
    let _ = std::fs::remove_dir_all(&dir);
}
