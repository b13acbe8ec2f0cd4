#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod error;
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
