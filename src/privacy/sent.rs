//! What each output of a profile sends, as the GDPR asks it to be accounted for: the fields its
//! recipient gets (an `http` output sends the fields its templates name; other outputs every
//! mapped field), their categories, the recipient and the safeguard of a transfer outside the
//! EEA — the output's own declarations, else the profile's `[privacy]`.

use std::collections::BTreeSet;

use crate::kernel::mapped::FieldInfo;
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
    /// Their categories, and how many fields are sent without one.
    pub categories: BTreeSet<Category>,
    pub uncategorised: usize,
    /// Who receives them, and where that is declared.
    pub recipient: Option<(&'a Recipient, KeyPath)>,
    pub mechanism: Option<TransferMechanism>,
}

/// What every output of `profile` sends, in output order.
pub fn sent(profile: &Profile) -> Vec<Sent<'_>> {
    let fields = output_fields(profile);
    (0..profile.outputs.len())
        .filter_map(|i| sent_by(profile, i, &fields))
        .collect()
}

/// What output `output` (its place in `profile.outputs`; `None` past them, as for a job
/// recorded before its profile lost an output) sends, of the `fields` every output of the
/// profile gets ([`output_fields`]).
pub fn sent_by<'a>(profile: &'a Profile, output: usize, fields: &[FieldInfo]) -> Option<Sent<'a>> {
    let spec = profile.outputs.get(output)?;
    let own = spec.privacy();
    let privacy = profile.privacy.as_ref();
    // The change fields a lifecycle profile adds are no one's personal data.
    let mapped: Vec<usize> = open_output(spec)
        .sends(fields)
        .into_iter()
        .filter(|&f| f < profile.fields.len())
        .collect();
    let categories = mapped
        .iter()
        .filter_map(|&f| profile.fields[f].category)
        .collect();
    let uncategorised = mapped
        .iter()
        .filter(|&&f| profile.fields[f].category.is_none())
        .count();
    let recipient = match (&own.recipient, privacy.and_then(|p| p.recipient.as_ref())) {
        (Some(r), _) => Some((r, KeyPath::output(output).key("privacy").key("recipient"))),
        (None, Some(r)) => Some((r, KeyPath::root().key("privacy").key("recipient"))),
        (None, None) => None,
    };
    Some(Sent {
        output,
        fields: mapped,
        categories,
        uncategorised,
        recipient,
        mechanism: own
            .transfer_mechanism
            .or(privacy.and_then(|p| p.transfer_mechanism)),
    })
}
