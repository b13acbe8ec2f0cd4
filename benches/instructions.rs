//! `make bench`, instruction counts: one piece of the core's receive path, `N` times over fixed
//! inputs, for `tests/bench/instructions.mjs` to run under callgrind. It runs each piece twice,
//! `N` times and 0 times, and divides the difference by `N`: the setup (making and signing the
//! inputs, which does not depend on the count) cancels out, and what is left is the piece's
//! instructions per call. Not a test: nothing here asserts a count.
//!
//! Usage: `instructions PIECE N` (no arguments: the pieces, one a line).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]

use std::hint::black_box;

use clhooks::{receive, sign, Body, MemoryStore, Receiver, Terms, Verifier};

const SECRET: &str = "bench-secret-1c0994cc4e996e8c6ee5";
/// The most calls a run makes: every input is made for this many, whatever the count (more
/// keys to claim: a claim is short, and its count is the store's hash table's as much as its own).
const MOST: usize = 1000;
const MOST_CLAIMS: usize = 20_000;

/// A 4 KiB `orders.place` document with its own order id, as equal.mjs's load generator makes.
fn document(n: usize) -> Vec<u8> {
    let head = format!(
        "{{\"data\":{{\"id\":\"o{n:08}\",\"type\":\"orders\",\"attributes\":{{\"number\":{n},\"note\":\""
    );
    let tail = "\"}}}";
    let pad = 4096 - head.len() - tail.len();
    let mut body = head.into_bytes();
    body.extend((0..pad).map(|i| b'a' + u8::try_from(i % 26).unwrap()));
    body.extend(tail.as_bytes());
    body
}

const PIECES: [&str; 7] = [
    "verify: Verifier::verify, 4 KiB",
    "receive: Receiver::receive (verify, topic, parse, key), 4 KiB",
    "claim: MemoryStore::claim of a new key and its record (done), 10,000 kept",
    "answer: Receiver::handle, memory store, a handler doing nothing (verify, parse, claim, end, answer), 4 KiB",
    "duplicate: Receiver::handle of a delivery handled before, 4 KiB",
    "receive-44k: clhooks::receive of the real orders.place (44 KB)",
    "denormalize-44k: ReceivedEvent::denormalize of the real orders.place",
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let [piece, n] = args.as_slice() else {
        for piece in PIECES {
            println!("{piece}");
        }
        return;
    };
    let n: usize = n.parse().expect("N, a count");
    assert!(n <= if piece == "claim" { MOST_CLAIMS } else { MOST }, "too many calls");
    let verifier = Verifier::new([SECRET]).unwrap();
    let bodies: Vec<Vec<u8>> = (0..MOST).map(document).collect();
    let signatures: Vec<String> = bodies.iter().map(|b| sign(b, SECRET).unwrap()).collect();
    let headers = |i: usize| {
        [("X-CommerceLayer-Signature", signatures[i].as_str()), ("X-CommerceLayer-Topic", "orders.place")]
    };
    let receiver = Receiver::new(Verifier::new([SECRET]).unwrap());
    let store = MemoryStore::new(10_000);
    let terms: Terms = receiver.terms();
    let handled = |i: usize| {
        receiver.handle("POST", headers(i), Body::Bytes(&bodies[i]), &store, |_, _| Ok::<(), ()>(()))
    };
    let fixture = include_bytes!("../tests/vectors/orders-place-payload.json");
    let fixture_signature = sign(fixture, SECRET).unwrap();
    let fixture_headers = [
        ("X-CommerceLayer-Signature", fixture_signature.as_str()),
        ("X-CommerceLayer-Topic", "orders.place"),
    ];
    let event = receive(fixture, fixture_headers, &verifier).unwrap();
    // The memory store at its capacity, as a receiver's is after its first 10,000 deliveries:
    // each further record forgets the oldest, so the store's size stays where it is.
    let keys: Vec<String> = (0..10_000 + MOST_CLAIMS).map(|i| format!("key-{i:08}")).collect();
    for key in &keys[..10_000] {
        use clhooks::SeenStore;
        store.claim(key, terms).unwrap();
        store.done(key, terms).unwrap();
    }
    // The deliveries a duplicate run sees again.
    if piece == "duplicate" {
        for i in 0..MOST {
            assert_eq!(handled(i).status, 200);
        }
    }
    for i in 0..n {
        match piece.as_str() {
            "verify" => verifier.verify(black_box(&bodies[i]), &signatures[i]).unwrap(),
            "receive" => {
                drop(black_box(receiver.receive("POST", headers(i), Body::Bytes(&bodies[i])).unwrap()))
            }
            "claim" => {
                use clhooks::SeenStore;
                black_box(store.claim(&keys[10_000 + i], terms).unwrap());
                store.done(&keys[10_000 + i], terms).unwrap();
            }
            "answer" | "duplicate" => assert_eq!(black_box(handled(i)).status, 200),
            "receive-44k" => {
                drop(black_box(receive(black_box(fixture), fixture_headers, &verifier).unwrap()))
            }
            "denormalize-44k" => drop(black_box(event.denormalize())),
            other => panic!("no piece {other}"),
        }
    }
}
