//! The error codes the bindings add to the core's, compiled on every target: the bindings throw
//! them, and the native reference generator (`src/bin/clhooks-reference.rs`) lists them.

/// The codes only the bindings have, after the core's [`Error::CODES`](clhooks::Error::CODES).
/// `core_failed` is thrown by the package's JS layer when an instance trapped (it is then
/// replaced); it is listed here so that every code is in one place.
pub const BINDING_CODES: &[&str] = &["body_not_raw", "invalid_argument", "core_failed"];

/// The status of every code of [`BINDING_CODES`], as a receiver answers it and a thrown
/// `WebhookError` carries it: 500, a receiver set up or called wrong, or a core that failed.
pub const BINDING_STATUS: u16 = 500;
