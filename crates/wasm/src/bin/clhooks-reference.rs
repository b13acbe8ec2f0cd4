//! Prints `docs/reference.md`, the receivers' options and every error code, generated from the
//! code's own lists (`clhooks_wasm::reference`): `make reference` writes it.

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    match clhooks_wasm::reference::render() {
        Ok(text) => {
            print!("{text}");
            std::process::ExitCode::SUCCESS
        }
        Err(out_of_step) => {
            eprintln!("clhooks-reference: {out_of_step}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(target_arch = "wasm32")]
fn main() {}
