//! What each output of a profile sends, as the GDPR asks it to be accounted for: the fields its
//! recipient gets (an `http` output sends the fields its templates name; other outputs every
//! mapped field), their categories, the recipient and the safeguard of a transfer outside the
//! EEA — the output's own declarations, else the profile's `[privacy]`.

use std::collections::BTreeSet;

use crate::output::open::open as open_output;
use crate::output::output_fields;
use crate::profile::privacy::{Category, Recipient, TransferMechanism};
use crate::profile::{KeyPath, Profile};

/// What one output sends.
#[derive(Debug, Clone, PartialEq)]
pub struct Sent<'a> {
    /// The output's place among the profile's `[[output]]`s.
    pub output: usize,
    /// The mapped fields it sends (places in `profile.fields`).
    pub fields: Vec<usize>,
    /// Their categories, and the fields sent without one.
    pub categories: BTreeSet<Category>,
    pub uncategorised: Vec<usize>,
    /// Who receives them, and where that is declared.
    pub recipient: Option<(&'a Recipient, KeyPath)>,
    pub mechanism: Option<TransferMechanism>,
}

/// What every output of `profile` sends, in output order.
pub fn sent(profile: &Profile) -> Vec<Sent<'_>> {
    let fields = output_fields(profile);
    let privacy = profile.privacy.as_ref();
    profile
        .outputs
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            let own = spec.privacy();
            // The change fields a lifecycle profile adds are no one's personal data.
            let mapped: Vec<usize> = open_output(spec)
                .sends(&fields)
                .into_iter()
                .filter(|&f| f < profile.fields.len())
                .collect();
            let categories = mapped
                .iter()
                .filter_map(|&f| profile.fields[f].category)
                .collect();
            let uncategorised = mapped
                .iter()
                .copied()
                .filter(|&f| profile.fields[f].category.is_none())
                .collect();
            let recipient = match (&own.recipient, privacy.and_then(|p| p.recipient.as_ref())) {
                (Some(r), _) => Some((r, KeyPath::output(i).key("privacy").key("recipient"))),
                (None, Some(r)) => Some((r, KeyPath::root().key("privacy").key("recipient"))),
                (None, None) => None,
            };
            Sent {
                output: i,
                fields: mapped,
                categories,
                uncategorised,
                recipient,
                mechanism: own
                    .transfer_mechanism
                    .or(privacy.and_then(|p| p.transfer_mechanism)),
            }
        })
        .collect()
}
