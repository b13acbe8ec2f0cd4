//! The source-address allow-list (the package's `clhooks-sources.wasm`, loaded only by receivers
//! that set `sources`): the core's step 0, `Receiver::admit`, before anything else is read.

use clhooks::receiver::Receiver;
use clhooks::sources::Sources;
use wasm_bindgen::prelude::*;

use crate::answer_value;
use crate::convert;
use crate::errors::{throw, JsResult};

/// Who may deliver: `new Admission({ allow, proxies, forwarded })`.
#[wasm_bindgen]
pub struct Admission {
    sources: Sources,
}

#[wasm_bindgen]
impl Admission {
    /// The allow-list: see the package's `sources` option.
    #[wasm_bindgen(constructor)]
    pub fn new(config: &JsValue) -> JsResult<Admission> {
        throw(convert::sources(config)).map(|sources| Admission { sources })
    }

    /// The header the platform names the caller in (`forwarded`), in lowercase: the package
    /// reads its value from the request's headers; `undefined` when there is none.
    #[wasm_bindgen(getter, js_name = forwardedHeader)]
    pub fn forwarded_header(&self) -> Option<String> {
        self.sources.forwarded_header().map(str::to_ascii_lowercase)
    }

    /// `undefined` when a request from `peer` (the socket's address, when the runtime has one)
    /// whose `forwarded` header has this value (as the package found it) may be received;
    /// otherwise the core's answer, `{status: 403, body}`.
    pub fn admit(&self, peer: &JsValue, forwarded: Option<String>) -> JsValue {
        let pairs: Vec<(&str, &str)> = match (self.sources.forwarded_header(), forwarded.as_deref()) {
            (Some(name), Some(value)) => vec![(name, value)],
            _ => Vec::new(),
        };
        let peer = peer.as_string();
        match self.sources.admits(peer.as_deref(), &pairs) {
            Ok(()) => JsValue::UNDEFINED,
            Err(e) => answer_value(&Receiver::refusal(&e)),
        }
    }
}
