//! `hrbridge check`: every problem in hrbridge.toml and the profiles, located, then exit 1.

use std::path::Path;

use super::{print_diagnostics, Exit};
use crate::profile::load;

pub fn run(config: Option<&Path>) -> Exit {
    let settings = match load::load_settings(config) {
        Ok(s) => s,
        Err(d) => {
            print_diagnostics(&d);
            return Exit::Failed;
        }
    };
    match load::load_profiles(&settings) {
        Ok(profiles) => {
            let names: Vec<&str> = profiles.iter().map(|p| p.name.as_str()).collect();
            println!(
                "ok: {} profile(s) checked: {}",
                profiles.len(),
                names.join(", ")
            );
            Exit::Ok
        }
        Err(d) => {
            print_diagnostics(&d);
            eprintln!("error: {} problem(s) found", d.len());
            Exit::Failed
        }
    }
}
