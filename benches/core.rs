//! `make bench`, native side: the core's speed in µs per call, median of 15 rounds, printed as a
//! table. Not a test: nothing here asserts a time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]

use std::hint::black_box;
use std::time::Instant;

use clhooks::sender::simulate::{simulate, Scenario};
use clhooks::{receive, sign, Verifier};

fn time_it(mut f: impl FnMut()) -> f64 {
    let mut n = 1u32;
    loop {
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        if t.elapsed().as_millis() > 20 {
            break;
        }
        n *= 2;
    }
    let mut samples: Vec<f64> = (0..15)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..n {
                f();
            }
            t.elapsed().as_secs_f64() * 1e6 / f64::from(n)
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn fmt(us: f64) -> String {
    if us >= 100.0 {
        format!("{us:.0}")
    } else if us >= 10.0 {
        format!("{us:.1}")
    } else {
        format!("{us:.2}")
    }
}

fn main() {
    let secret = "bench-secret-1c0994cc4e996e8c6ee5";
    let sizes = [("512 B", 512), ("4 KiB", 4096), ("64 KiB", 65536), ("1 MiB", 1 << 20)];
    println!("\nnative Rust, µs per call (median of 15 rounds)");
    print!("{:>40}", "");
    for (name, _) in sizes {
        print!("  {name:>8}");
    }
    println!();
    let verifier = Verifier::new([secret]).unwrap();
    let two = Verifier::new(["other-secret", secret]).unwrap();
    type Verify<'a> = &'a dyn Fn(&[u8], &str);
    let rows: [(&str, Verify); 3] = [
        ("Verifier::verify", &|b, s| verifier.verify(black_box(b), s).unwrap()),
        ("Verifier::verify, 2 secrets", &|b, s| two.verify(black_box(b), s).unwrap()),
        ("clhooks::verify (keys each call)", &|b, s| clhooks::verify(black_box(b), s, secret).unwrap()),
    ];
    let bodies: Vec<Vec<u8>> =
        sizes.iter().map(|&(_, n)| (0..n).map(|i: usize| (i.wrapping_mul(31) + 7) as u8).collect()).collect();
    let signatures: Vec<String> = bodies.iter().map(|b| sign(b, secret).unwrap()).collect();
    for (name, f) in rows {
        print!("{name:>40}");
        for (body, signature) in bodies.iter().zip(&signatures) {
            print!("  {:>8}", fmt(time_it(|| f(body, signature))));
        }
        println!();
    }

    let fixture = include_bytes!("../tests/vectors/orders-place-payload.json");
    let signature = sign(fixture, secret).unwrap();
    let headers =
        [("X-CommerceLayer-Signature", signature.as_str()), ("X-CommerceLayer-Topic", "orders.place")];
    println!("\nnative Rust, the real orders.place delivery ({} bytes), µs per call", fixture.len());
    let receive_us = time_it(|| {
        black_box(receive(black_box(fixture), headers, &verifier).unwrap());
    });
    println!("  receive (verify + topic + document)     {}", fmt(receive_us));
    let event = receive(fixture, headers, &verifier).unwrap();
    println!(
        "  denormalize                             {}",
        fmt(time_it(|| drop(black_box(event.denormalize()))))
    );
    let value: serde_json::Value = serde_json::from_slice(fixture).unwrap();
    let outline = clhooks::payload::outline::of_value(&value);
    let no_names = |_: usize, _: usize| String::new();
    println!(
        "  the outline's shape check + denormalize plan (what JS asks of the wasm) {}",
        fmt(time_it(|| {
            let skeleton = clhooks::payload::outline::check(black_box(&outline), &no_names).unwrap();
            let attributes = |p: usize| {
                let resource = if p == 0 { &value["data"] } else { &value["included"][p - 1] };
                resource["attributes"].as_object().map_or(1, clhooks::payload::outline::weight)
            };
            drop(black_box(skeleton.plan(clhooks::payload::DenormalizeOptions::default(), attributes)));
        }))
    );

    let scenario = Scenario::from_json(include_str!("../tests/bench/throughput.json")).unwrap();
    let report = simulate(&scenario).unwrap();
    let us = time_it(|| drop(black_box(simulate(&scenario).unwrap())));
    println!(
        "\nnative Rust, sender simulation (tests/bench/throughput.json: {} events, {} attempts, {} timeline entries)",
        report.events,
        report.attempts,
        report.timeline.len()
    );
    println!(
        "  {:.0} ms per run, {:.0} attempt decisions per second",
        us / 1000.0,
        f64::from(report.attempts) / (us / 1e6)
    );
}
