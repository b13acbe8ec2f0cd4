#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod error;
pub mod model;
pub mod payload;
pub mod sender;
pub mod signature;
pub mod topic;

#[cfg(target_arch = "wasm32")]
mod wasm;

pub use error::{Error, Result, SignatureHint};
pub use model::Document;
pub use payload::{receive, ReceivedEvent, TOPIC_HEADER};
pub use signature::{sign, verify, Verifier, SIGNATURE_HEADER};
pub use topic::{catalogue, Topic, TopicPattern};
