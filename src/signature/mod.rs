//! HMAC-SHA256 signatures of webhook bodies, as Commerce Layer computes them.
//!
//! The `X-CommerceLayer-Signature` header is the base64 (standard alphabet, padded) HMAC-SHA256
//! of the raw request body, keyed with the webhook's shared secret as UTF-8 bytes. No timestamp
//! is signed: a retry carries the same body and the same signature.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::error::{Error, Result, SignatureHint};

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "X-CommerceLayer-Signature";

type HmacSha256 = Hmac<Sha256>;

/// Length in bytes of an HMAC-SHA256 tag.
pub const TAG_LEN: usize = 32;

/// How a body's signature is checked: with the keys of a [`Verifier`], or against tags that a
/// host computed (node:crypto, WebCrypto: a faster HMAC than this crate's on large bodies). Either
/// way this crate decodes the header, compares in constant time and picks the error.
#[derive(Debug, Clone, Copy)]
pub enum Check<'a> {
    /// Compute the HMAC here, with every key of the verifier.
    Keys(&'a Verifier),
    /// The HMAC-SHA256 of the body under each secret, computed by the host, in any order.
    Tags(&'a [[u8; TAG_LEN]]),
}

impl Check<'_> {
    /// Checks a body against an `X-CommerceLayer-Signature` value.
    ///
    /// # Errors
    ///
    /// [`Error::MissingSecret`] for no tags; then as [`Verifier::verify`].
    pub fn verify(&self, body: &[u8], signature: &str) -> Result<()> {
        self.matched(body, signature).map(|_| ())
    }

    /// As [`Check::verify`], saying which secret (or tag) matched: its place in the list.
    ///
    /// # Errors
    ///
    /// As [`Check::verify`].
    pub fn matched(&self, body: &[u8], signature: &str) -> Result<usize> {
        match self {
            Check::Keys(verifier) => verifier.matched(body, signature),
            Check::Tags(tags) => matched_tag(signature, tags),
        }
    }
}

/// Compares two tags in constant time: every byte is looked at, whatever differs.
fn same_tag(a: &[u8; TAG_LEN], b: &[u8; TAG_LEN]) -> bool {
    let diff = a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// Verifies an `X-CommerceLayer-Signature` value against tags computed elsewhere: the
/// HMAC-SHA256 of the body under each secret. The header is decoded and diagnosed as by
/// [`Verifier::verify`], and compared with every tag in constant time.
///
/// ```
/// use clhooks::signature::{verify_tags, TAG_LEN};
/// let body = br#"{"data":{"id":"xYZkjABcde","type":"orders"}}"#;
/// let signature = clhooks::sign(body, "secret")?;
/// let tag: [u8; TAG_LEN] = clhooks::signature::decode_signature(&signature)?; // a host's HMAC
/// verify_tags(&signature, &[[0; TAG_LEN], tag])?;
/// assert_eq!(verify_tags(&signature, &[[0; TAG_LEN]]).unwrap_err().code(), "signature_mismatch");
/// # Ok::<(), clhooks::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::MissingSecret`] for no tags, [`Error::MissingSignature`],
/// [`Error::MalformedSignature`] or [`Error::SignatureMismatch`].
pub fn verify_tags(signature: &str, tags: &[[u8; TAG_LEN]]) -> Result<()> {
    matched_tag(signature, tags).map(|_| ())
}

/// As [`verify_tags`], saying which tag matched: its place in `tags`.
///
/// # Errors
///
/// As [`verify_tags`].
pub fn matched_tag(signature: &str, tags: &[[u8; TAG_LEN]]) -> Result<usize> {
    if tags.is_empty() {
        return Err(Error::MissingSecret);
    }
    let tag = decode_signature(signature)?;
    // Every tag is compared, so the time taken does not tell which one matched.
    let mut matched = None;
    for (i, computed) in tags.iter().enumerate() {
        if same_tag(&tag, computed) && matched.is_none() {
            matched = Some(i);
        }
    }
    matched.ok_or(Error::SignatureMismatch)
}

fn keyed(secret: &str) -> Result<HmacSha256> {
    if secret.is_empty() {
        return Err(Error::EmptySecret);
    }
    // HMAC takes keys of any length, so this never fails for a non-empty secret.
    HmacSha256::new_from_slice(secret.as_bytes()).map_err(|_| Error::EmptySecret)
}

/// Signs a body: the value Commerce Layer puts in `X-CommerceLayer-Signature`.
///
/// ```
/// let signature = clhooks::sign(br#"{"data":{"id":"xYZkjABcde","type":"orders"}}"#,
///                               "1c0994cc4e996e8c6ee56a2198f66f3c")?;
/// assert_eq!(signature, "dcMMllaEu7O4eft47o8+QFRvvFmxl5z+HJOtsMUzUG4=");
/// # Ok::<(), clhooks::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::EmptySecret`] when the secret is empty.
pub fn sign(body: &[u8], secret: &str) -> Result<String> {
    let mut mac = keyed(secret)?;
    mac.update(body);
    Ok(STANDARD.encode(mac.finalize().into_bytes()))
}

/// Verifies a body against an `X-CommerceLayer-Signature` value with one secret.
///
/// To verify many bodies, or to accept several secrets during a rotation, build a [`Verifier`]
/// once instead.
///
/// # Errors
///
/// As [`Verifier::new`] and [`Verifier::verify`].
pub fn verify(body: &[u8], signature: &str, secret: &str) -> Result<()> {
    Verifier::new([secret])?.verify(body, signature)
}

/// Decodes a signature header value into the 32-byte tag, diagnosing the usual mix-ups.
///
/// Surrounding whitespace is ignored. Decoding is strict: standard alphabet with padding, as
/// Commerce Layer sends it.
///
/// # Errors
///
/// [`Error::MissingSignature`] for a blank value, [`Error::MalformedSignature`] otherwise.
pub fn decode_signature(signature: &str) -> Result<[u8; TAG_LEN]> {
    let value = signature.trim_matches(|c: char| c == ' ' || c == '\t' || c == '\r' || c == '\n');
    if value.is_empty() {
        return Err(Error::MissingSignature);
    }
    if value.len() == 2 * TAG_LEN && value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::MalformedSignature { hint: SignatureHint::LooksLikeHex });
    }
    let bytes =
        STANDARD.decode(value).map_err(|_| Error::MalformedSignature { hint: SignatureHint::NotBase64 })?;
    <[u8; TAG_LEN]>::try_from(bytes.as_slice())
        .map_err(|_| Error::MalformedSignature { hint: SignatureHint::WrongLength(bytes.len()) })
}

/// Verifies bodies against one or more shared secrets, keyed once.
///
/// Build it when the receiver starts and keep it: each secret's HMAC key schedule is computed
/// here, not on every delivery. With several secrets (a rotation in progress) a signature made
/// with any of them passes. The comparison is constant-time, on the decoded tag, through
/// [`Mac::verify_slice`]. Secrets never appear in `Debug` output.
///
/// ```
/// use clhooks::Verifier;
/// let verifier = Verifier::new(["new-secret", "old-secret"])?;
/// let body = br#"{"data":{"id":"xYZkjABcde","type":"orders"}}"#;
/// verifier.verify(body, &clhooks::sign(body, "old-secret")?)?;
/// let err = verifier.verify(body, &clhooks::sign(body, "another")?).unwrap_err();
/// assert_eq!(err.code(), "signature_mismatch");
/// # Ok::<(), clhooks::Error>(())
/// ```
#[derive(Clone)]
pub struct Verifier {
    keys: Vec<HmacSha256>,
    /// Each secret's fingerprint (see [`Verifier::fingerprint`]).
    fingerprints: Vec<String>,
}

/// A secret's fingerprint: the first 8 bytes of the SHA-256 of a fixed prefix and the secret,
/// in hex. It names a secret in a shared store's keys without the secret in them.
fn fingerprint(secret: &str) -> String {
    use sha2::Digest as _;
    let digest =
        Sha256::new().chain_update(b"clhooks webhook secret\0").chain_update(secret.as_bytes()).finalize();
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

impl Verifier {
    /// Keys a verifier with every secret given, the first being the current one.
    ///
    /// # Errors
    ///
    /// [`Error::MissingSecret`] when there is none, [`Error::EmptySecret`] when one is empty.
    pub fn new<I, S>(secrets: I) -> Result<Verifier>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut keys = Vec::new();
        let mut fingerprints = Vec::new();
        for secret in secrets {
            keys.push(keyed(secret.as_ref())?);
            fingerprints.push(fingerprint(secret.as_ref()));
        }
        if keys.is_empty() {
            return Err(Error::MissingSecret);
        }
        Ok(Verifier { keys, fingerprints })
    }

    /// The fingerprint of the secret at `index`, where several are set: what names that
    /// secret's webhooks in failure streaks ([`crate::health`]) without the secret in them.
    /// `None` with one secret (its webhooks are named by their topic alone) or no such secret.
    #[must_use]
    pub fn fingerprint(&self, index: usize) -> Option<&str> {
        (self.fingerprints.len() > 1).then(|| self.fingerprints.get(index).map(String::as_str)).flatten()
    }

    /// Every secret's fingerprint, in order, where several are set (empty with one).
    #[must_use]
    pub fn fingerprints(&self) -> &[String] {
        if self.fingerprints.len() > 1 {
            &self.fingerprints
        } else {
            &[]
        }
    }

    /// How many secrets this verifier accepts.
    #[must_use]
    pub fn secret_count(&self) -> usize {
        self.keys.len()
    }

    /// Checks a body against an `X-CommerceLayer-Signature` value.
    ///
    /// # Errors
    ///
    /// [`Error::MissingSignature`], [`Error::MalformedSignature`] or
    /// [`Error::SignatureMismatch`].
    pub fn verify(&self, body: &[u8], signature: &str) -> Result<()> {
        self.matched(body, signature).map(|_| ())
    }

    /// As [`Verifier::verify`], saying which secret matched: its place in the list (the first,
    /// should two be the same).
    ///
    /// # Errors
    ///
    /// As [`Verifier::verify`].
    pub fn matched(&self, body: &[u8], signature: &str) -> Result<usize> {
        let tag = decode_signature(signature)?;
        let mut matched = None;
        // Every key is tried, so the time taken does not tell which secret matched.
        for (i, key) in self.keys.iter().enumerate() {
            let mut mac = key.clone();
            mac.update(body);
            if mac.verify_slice(&tag).is_ok() && matched.is_none() {
                matched = Some(i);
            }
        }
        matched.ok_or(Error::SignatureMismatch)
    }

    /// Signs a body with the first (current) secret.
    #[must_use]
    pub fn sign(&self, body: &[u8]) -> String {
        self.keys.first().map_or_else(String::new, |key| {
            let mut mac = key.clone();
            mac.update(body);
            STANDARD.encode(mac.finalize().into_bytes())
        })
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier").field("secrets", &self.keys.len()).finish_non_exhaustive()
    }
}
