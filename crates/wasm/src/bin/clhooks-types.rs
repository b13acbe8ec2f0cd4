//! Prints the TypeScript declarations of every type that crosses into JavaScript, generated
//! from the Rust types by ts-rs. `make pkg` writes them into the package's `index.d.ts`.

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    use clhooks::model::Credential;
    use clhooks::receiver::{Answer, Claim, Duplicates, InFlight, Run, Terms};
    use clhooks::sender::simulate::{
        Action, Endpoint, EventSpec, Import, Report, Scenario, WebhookSummary, Window,
    };
    use clhooks::sender::{DropReason, Outcome, Output, Policy, WebhookConfig};
    use clhooks_wasm::types::{CallFields, ErrorDetails, EventFields, TopicFields};
    use ts_rs::{Config, TS};

    let cfg = Config::new().with_large_int("number");
    let declarations = [
        Scenario::decl(&cfg),
        Policy::decl(&cfg),
        WebhookConfig::decl(&cfg),
        Endpoint::decl(&cfg),
        Window::decl(&cfg),
        EventSpec::decl(&cfg),
        Action::decl(&cfg),
        Import::decl(&cfg),
        Credential::decl(&cfg),
        Report::decl(&cfg),
        WebhookSummary::decl(&cfg),
        Output::decl(&cfg),
        DropReason::decl(&cfg),
        Outcome::decl(&cfg),
        Answer::decl(&cfg),
        Claim::decl(&cfg),
        Run::decl(&cfg),
        Duplicates::decl(&cfg),
        InFlight::decl(&cfg),
        Terms::decl(&cfg),
        ErrorDetails::decl(&cfg),
        TopicFields::decl(&cfg),
        EventFields::decl(&cfg),
        CallFields::decl(&cfg),
    ];
    println!(
        "// Generated from the Rust types by ts-rs (crates/wasm/src/bin/clhooks-types.rs): do not edit."
    );
    for declaration in declarations {
        println!("\nexport {declaration}");
    }
}

#[cfg(target_arch = "wasm32")]
fn main() {}
