//! `hrbridge check`: every problem in hrbridge.toml and the profiles, located, then exit 1 —
//! including each `${secret:...}` or `${env:...}` a profile references that is not set, and
//! each inbox folder that does not exist. It reads and creates nothing in the state folder
//! but the secrets store it reads.

use std::path::Path;

use super::{print_diagnostics, Exit};
use crate::engine::checks::{self, check_secrets};
use crate::kernel::secret::SecretStore;
use crate::privacy::check::described;
use crate::privacy::sent::sent;
use crate::profile::check::check_inbox;
use crate::profile::load;

use super::table::TextTable;

/// What each output sends, by data category, and to whom.
fn print_categories(profiles: &[checks::Checked]) {
    let mut table = TextTable::new(["profile", "output", "sends", "to"]).max_width(80);
    for checks::Checked { profile, .. } in profiles {
        for sent in sent(profile) {
            let to = match sent.recipient {
                Some((r, _)) => format!("{} ({})", r.name, r.country),
                None => "no recipient declared".to_string(),
            };
            table.push([
                profile.name.clone(),
                (sent.output + 1).to_string(),
                described(&sent.categories, sent.uncategorised),
                to,
            ]);
        }
    }
    if !table.is_empty() {
        println!("\nwhat each output sends (data categories) and to whom:");
        print!("{}", table.render());
    }
}

pub fn run(config: Option<&Path>) -> Exit {
    let settings = match load::load_settings(config) {
        Ok(s) => s,
        Err(d) => {
            print_diagnostics(&d);
            return Exit::Failed;
        }
    };
    // Reading the store creates nothing; an unreadable one is reported, and then every
    // `${secret:...}` is reported as not set as well.
    let secrets = SecretStore::open(&settings.state_dir)
        .map_err(|e| eprintln!("error: cannot read the secrets store: {e}\n"))
        .ok();
    let result = checks::load_profiles_and(&settings, &|p| {
        let mut problems = check_secrets(p, secrets.as_ref());
        problems.extend(check_inbox(p, &settings));
        problems
    });
    match result {
        Ok(profiles) if secrets.is_some() => {
            for checks::Checked { profile, .. } in &profiles {
                let warnings = checks::warnings(profile);
                print_diagnostics(&load::locate_warnings(profile, warnings));
            }
            let names: Vec<&str> = profiles.iter().map(|c| c.profile.name.as_str()).collect();
            println!(
                "ok: {} profile(s) checked: {}",
                profiles.len(),
                names.join(", ")
            );
            print_categories(&profiles);
            Exit::Ok
        }
        Ok(_) => Exit::Failed,
        Err(d) => {
            print_diagnostics(&d);
            eprintln!("error: {} problem(s) found", d.len());
            Exit::Failed
        }
    }
}
