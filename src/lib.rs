//! Receive [Commerce Layer](https://commercelayer.io) webhooks correctly: verify each delivery's
//! `X-CommerceLayer-Signature` against the raw body, read its topic and JSON:API payload, and
//! answer with the status Commerce Layer acts on, handling each delivery once however often it
//! is retried. The crate does no I/O and reads no clock: it takes what a request holds and gives
//! back the answer, so it fits any HTTP server, natively and on `wasm32`.
//!
//! ```
//! use clhooks::receiver::{Body, MemoryStore, Receiver};
//! use clhooks::{sign, Verifier};
//!
//! let receiver = Receiver::new(Verifier::new(["secret"])?);
//! let seen = MemoryStore::default();
//! let body = br#"{"data":{"id":"wBXVhZOmXO","type":"orders","attributes":{}}}"#;
//! let signature = sign(body, "secret")?;
//! let headers = [("X-CommerceLayer-Signature", signature.as_str()), ("X-CommerceLayer-Topic", "orders.place")];
//! let answer = receiver.handle("POST", headers, Body::Bytes(body), &seen, |delivery, _| {
//!     println!("{} {}", delivery.event.topic, delivery.event.resource().id);
//!     Ok::<(), std::io::Error>(())
//! });
//! assert_eq!((answer.status, answer.body.as_str()), (200, r#"{"received":"orders.place"}"#));
//! # Ok::<(), clhooks::Error>(())
//! ```
//!
//! [`receive`] reads one delivery; [`Receiver`] decides a whole exchange, with a [`SeenStore`]
//! for idempotency; [`sender`] is Commerce Layer's side, its retries and circuit breaker, as a
//! state machine and a simulator. Guides (Node, Workers, Rust, the command line) are in the
//! repository's `docs/` folder.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod error;
pub mod handoff;
pub mod health;
pub mod model;
pub mod payload;
pub mod receiver;
pub mod sender;
pub mod signature;
pub mod sources;
pub mod store;
pub mod topic;

pub use error::{Error, Result, SignatureHint};
pub use model::Document;
pub use payload::{receive, ReceivedEvent, TOPIC_HEADER};
pub use receiver::{Answer, Body, Claim, MemoryStore, Receiver, SeenStore, Terms};
pub use signature::{sign, verify, Verifier, SIGNATURE_HEADER};
pub use topic::{catalogue, Topic, TopicPattern};
