//! The HTTP/1.1 front of `clhooks listen`: strict about framing, bounded in everything a client
//! controls, and never blocked by one client.
//!
//! Each connection is read on its own thread (at most `max_connections` at once; one more is
//! answered 503 and closed). A request's head must arrive within the header timeout, fit in
//! the core's [`ListenLimits`] (431 otherwise), end its lines with CRLF, and frame
//! its body with one `Content-Length` (400 for conflicting or malformed lengths, or a length
//! beside `Transfer-Encoding`; 411 for a chunked body). The body must arrive within the body
//! timeout. Only then is the request handed to the one thread that runs the receiver, so a
//! client trickling its bytes holds its own thread, not the others. Every answer closes its
//! connection. The head is parsed by `httparse`; what is a valid delivery is the core's call.

use std::io::{Read, Write};
use std::net::{IpAddr, Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use clhooks::receiver::Linger;
use clhooks_command::{self as command, ListenLimits, Refusal};

/// What a client may cost the server: the core's limits, and the receiver's body limit (a
/// longer `Content-Length` is not read).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub listen: ListenLimits,
    pub max_body: usize,
}

/// How the body arrived.
#[derive(Debug)]
pub enum Payload {
    /// All of it.
    Bytes(Vec<u8>),
    /// Its `Content-Length` is over the limit: not read.
    TooLarge,
    /// It did not arrive in time, or the connection failed.
    Unreadable,
}

/// A request whose framing is sound, for the receiver.
#[derive(Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub peer: Option<IpAddr>,
    pub body: Payload,
    /// When its head began to arrive: its answer's latency counts from here.
    pub arrived: std::time::Instant,
}

/// An answer: status, content type, body, and how long to wait before sending it.
pub struct Reply {
    pub delay: Duration,
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

/// Where a request's answer goes: to its connection's thread, which writes it.
pub struct Responder {
    reply: mpsc::Sender<Reply>,
    written: mpsc::Receiver<()>,
}

impl Responder {
    /// Hands the answer to the connection.
    pub fn send(&self, reply: Reply) {
        let _ = self.reply.send(reply);
    }

    /// Hands the answer over and waits (at most its delay and 10 s) until it has been written: for the last
    /// answer before the process ends.
    pub fn finish(self, reply: Reply) {
        let wait = reply.delay + Duration::from_secs(10);
        if self.reply.send(reply).is_ok() {
            let _ = self.written.recv_timeout(wait);
        }
    }
}

/// Accepts connections on `listener` and hands each sound request, with a channel for its
/// reply, to the returned receiver (the caller's loop answers them one at a time).
pub fn serve(listener: TcpListener, limits: Limits) -> mpsc::Receiver<(Request, Responder)> {
    let (tx, rx) = mpsc::channel();
    let active = Arc::new(AtomicUsize::new(0));
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            if active.load(Ordering::SeqCst) >= limits.listen.max_connections {
                let _ = stream.set_write_timeout(Some(Duration::from_millis(200)));
                write_reply(&mut stream, &refusal(Refusal::TooManyConnections));
                continue;
            }
            active.fetch_add(1, Ordering::SeqCst);
            let (tx, held) = (tx.clone(), Arc::clone(&active));
            let spawned = thread::Builder::new().spawn(move || {
                connection(stream, limits, &tx);
                held.fetch_sub(1, Ordering::SeqCst);
            });
            if spawned.is_err() {
                active.fetch_sub(1, Ordering::SeqCst);
            }
        }
    });
    rx
}

fn refusal(refusal: Refusal) -> Reply {
    Reply {
        delay: Duration::ZERO,
        status: refusal.status(),
        content_type: "text/plain; charset=utf-8",
        body: format!("{}\n", refusal.text()),
    }
}

fn write_reply(stream: &mut TcpStream, reply: &Reply) {
    let head = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        reply.status,
        command::reason(reply.status),
        reply.content_type,
        reply.body.len()
    );
    let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(reply.body.as_bytes()));
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Write);
}

/// Reads until `deadline` into `buffer`; `Ok(0)` at the end of the stream.
fn read_by(stream: &mut TcpStream, buffer: &mut [u8], deadline: Instant) -> std::io::Result<usize> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(std::io::ErrorKind::TimedOut.into());
    }
    stream.set_read_timeout(Some(left))?;
    stream.read(buffer)
}

/// Why a head is refused, as the answer to send (then as [`linger`]: the client may still be
/// sending, unless it timed out).
fn refuse(stream: &mut TcpStream, why: Refusal, max_body: usize) {
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    write_reply(stream, &refusal(why));
    if why.lingers() {
        linger(stream, max_body);
    }
}

fn connection(mut stream: TcpStream, limits: Limits, tx: &mpsc::Sender<(Request, Responder)>) {
    let peer = stream.peer_addr().ok().map(|a| a.ip());
    let arrived = Instant::now();
    let deadline = arrived + Duration::from_millis(limits.listen.header_timeout_ms);
    // The head, and whatever of the body came with it.
    let mut data = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    let end = loop {
        if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        if bare_lf(&data) {
            return refuse(&mut stream, Refusal::BareLf, limits.max_body);
        }
        if data.len() > limits.listen.max_head_bytes {
            return refuse(&mut stream, Refusal::HeadTooLarge, limits.max_body);
        }
        match read_by(&mut stream, &mut chunk, deadline) {
            Ok(0) => return,
            Ok(n) => data.extend_from_slice(chunk.get(..n).unwrap_or_default()),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock) => {
                return refuse(&mut stream, Refusal::HeadTimeout, limits.max_body);
            }
            Err(_) => return,
        }
    };
    if end > limits.listen.max_head_bytes {
        return refuse(&mut stream, Refusal::HeadTooLarge, limits.max_body);
    }
    let (head, rest) = data.split_at(end);
    let request = match parse_head(head, limits.listen.max_headers) {
        Ok(request) => request,
        Err(why) => return refuse(&mut stream, why, limits.max_body),
    };
    let (method, path, headers, length) = request;
    let unread = length > limits.max_body as u64;
    let body = if unread {
        Payload::TooLarge
    } else {
        // A client waiting for `100 Continue` (curl above 1 KiB) sends the body on it.
        let expects = headers
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case("expect") && v.eq_ignore_ascii_case("100-continue"));
        if expects && length as usize > rest.len() {
            let _ = stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
        }
        read_body(
            &mut stream,
            rest,
            length,
            Instant::now() + Duration::from_millis(limits.listen.body_timeout_ms),
        )
    };
    let (reply_tx, reply_rx) = mpsc::channel();
    let (written_tx, written) = mpsc::channel();
    if tx
        .send((
            Request { method, path, headers, peer, body, arrived },
            Responder { reply: reply_tx, written },
        ))
        .is_err()
    {
        return;
    }
    if let Ok(reply) = reply_rx.recv() {
        // `listen --slow-ms` waits here, on this connection's thread, not the receiver's.
        thread::sleep(reply.delay);
        let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
        write_reply(&mut stream, &reply);
        let _ = written_tx.send(());
        if unread {
            linger(&mut stream, limits.max_body);
        }
    }
}

/// After answering a request whose body was not read, the core's lingering close ([`Linger`]):
/// what the client is still sending is read and dropped, within the core's bounds, so that it
/// gets to read the answer before the connection closes (closing with unread bytes resets it,
/// and the answer is lost). The answer's FIN tells the client to close once it has read it.
fn linger(stream: &mut TcpStream, max_body: usize) {
    let started = Instant::now();
    let now = || u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let mut linger = Linger::new(now(), max_body);
    let deadline = started + Duration::from_millis(linger.until_ms());
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match read_by(stream, &mut chunk, deadline) {
            Ok(0) | Err(_) => return,
            Ok(n) if !linger.read(n, now()) => return,
            Ok(_) => {}
        }
    }
}

type Head = (String, String, Vec<(String, String)>, u64);

/// Whether a line ends with a bare LF: every line must end with CRLF, as a bare LF is how
/// requests are smuggled past other parsers.
fn bare_lf(head: &[u8]) -> bool {
    head.iter().enumerate().any(|(i, &b)| b == b'\n' && (i == 0 || head.get(i - 1) != Some(&b'\r')))
}

/// The method, path, headers and body length of a head, or the status and reason to refuse it.
fn parse_head(head: &[u8], max_headers: usize) -> Result<Head, Refusal> {
    if bare_lf(head) {
        return Err(Refusal::BareLf);
    }
    let mut slots = vec![httparse::EMPTY_HEADER; max_headers];
    let mut parsed = httparse::Request::new(&mut slots);
    match parsed.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(Refusal::Incomplete),
        Err(httparse::Error::TooManyHeaders) => return Err(Refusal::TooManyHeaders),
        Err(_) => return Err(Refusal::NotHttp),
    }
    let method = parsed.method.unwrap_or_default().to_owned();
    let path = parsed.path.unwrap_or_default().to_owned();
    let mut headers = Vec::with_capacity(parsed.headers.len());
    let mut lengths = Vec::new();
    let mut chunked = false;
    for header in parsed.headers.iter() {
        let Ok(value) = std::str::from_utf8(header.value) else {
            return Err(Refusal::HeaderNotUtf8);
        };
        if header.name.eq_ignore_ascii_case("content-length") {
            lengths.push(value.trim().to_owned());
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = true;
        }
        headers.push((header.name.to_owned(), value.to_owned()));
    }
    let length = match (lengths.as_slice(), chunked) {
        ([_, ..], true) => return Err(Refusal::LengthWithEncoding),
        ([], true) => return Err(Refusal::Chunked),
        ([], false) => 0,
        ([one], false) => {
            if one.is_empty() || one.len() > 19 || !one.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Refusal::BadLength);
            }
            one.parse().map_err(|_| Refusal::BadLength)?
        }
        _ => return Err(Refusal::SeveralLengths),
    };
    Ok((method, path, headers, length))
}

/// The body: `length` bytes, `rest` of them read with the head.
fn read_body(stream: &mut TcpStream, rest: &[u8], length: u64, deadline: Instant) -> Payload {
    let length = usize::try_from(length).unwrap_or(usize::MAX);
    let mut body = rest.get(..length.min(rest.len())).unwrap_or_default().to_vec();
    let mut chunk = vec![0u8; 64 * 1024];
    while body.len() < length {
        let want = (length - body.len()).min(chunk.len());
        match read_by(stream, chunk.get_mut(..want).unwrap_or_default(), deadline) {
            Ok(0) | Err(_) => return Payload::Unreadable,
            Ok(n) => body.extend_from_slice(chunk.get(..n).unwrap_or_default()),
        }
    }
    Payload::Bytes(body)
}
