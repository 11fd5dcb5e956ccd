//! Accountability for the personal data hrbridge moves: which categories of data each output
//! of a profile sends to which recipient, and whether that keeps to what the profile declares
//! (`[privacy]`, each field's `category`, each output's `[output.privacy]`; the declarations
//! themselves are part of the profile language, `profile::privacy`).
//!
//! | module    | owns |
//! |-----------|------|
//! | [`sent`]  | what each output sends: its fields, their categories, its recipient and safeguard |
//! | [`check`] | the rules `hrbridge check` holds profiles to: minimisation, transfers outside the EEA, undeclared PII |
//! | [`transfer`] | the transfer record the audit trail keeps of every delivery |
//! | [`trace`] | the per-person trace index: which rows carried whom (keyed hashes), what the read made of them |
//! | [`trace_report`] | what a trace answers: each row of a person, and what became of it at every output |

pub mod check;
pub mod sent;
pub mod trace;
pub mod trace_report;
pub mod transfer;

/// A profile named `x` reading `inbox/x`: `privacy` TOML before its `[source]`, `body` (the
/// fields and outputs) after it (tests).
#[cfg(test)]
pub(crate) fn test_profile(privacy: &str, body: &str) -> crate::profile::Profile {
    let text = format!("{privacy}\n[source]\ntype = \"dir\"\npath = \"inbox/x\"\n{body}");
    let mut profile: crate::profile::Profile = toml::from_str(&text).unwrap();
    profile.name = "x".into();
    profile
}
