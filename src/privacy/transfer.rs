//! A transfer record: what one delivery of a job sent to whom, as GDPR accountability asks it
//! to be kept — the destination (a path, or a URL origin and path: no credentials, no query
//! string), the recipient and whether it is outside the EEA under which safeguard, the
//! purpose, legal basis and retention, the categories and names of the fields actually sent,
//! and how many rows went and arrived. The engine appends one to the audit trail for every
//! delivery (`transfer` events); `hrbridge audit transfers` and `audit ropa` read them back.

use serde::{Deserialize, Serialize};

use crate::output::output_fields;
use crate::profile::privacy::{Category, LegalBasis, Recipient, TransferMechanism};
use crate::profile::Profile;

use super::sent::sent_by;

/// One delivery of personal data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransferRecord {
    /// The output's number among the profile's `[[output]]`s, from 1.
    pub output: usize,
    pub destination: String,
    pub recipient: Option<Recipient>,
    pub outside_eea: bool,
    pub transfer_mechanism: Option<TransferMechanism>,
    pub purpose: Option<String>,
    pub legal_basis: Option<LegalBasis>,
    pub retention: Option<String>,
    pub categories: Vec<Category>,
    /// Whether a special category (GDPR Art. 9, 10) was among them.
    pub special_categories: bool,
    pub fields: Vec<String>,
    /// Rows handed to the output, and of them how many arrived and how many failed.
    pub rows: u64,
    pub succeeded: u64,
    pub failed: u64,
}

impl TransferRecord {
    /// The record of output `output` (its place in `profile.outputs`) of `profile` delivering
    /// `rows` rows to `target` (as the store names it), `succeeded` and `failed` of them.
    pub fn of(
        profile: &Profile,
        output: usize,
        target: &str,
        rows: u64,
        (succeeded, failed): (u64, u64),
    ) -> TransferRecord {
        let privacy = profile.privacy.as_ref();
        let sent = sent_by(profile, output, &output_fields(profile));
        let recipient = sent
            .as_ref()
            .and_then(|s| s.recipient.as_ref())
            .map(|(r, _)| (*r).clone());
        let categories: Vec<Category> = sent
            .as_ref()
            .map(|s| s.categories.iter().copied().collect())
            .unwrap_or_default();
        TransferRecord {
            output: output + 1,
            destination: destination(target),
            outside_eea: recipient.as_ref().is_some_and(Recipient::outside_eea),
            recipient,
            transfer_mechanism: sent.as_ref().and_then(|s| s.mechanism),
            purpose: privacy.map(|p| p.purpose.clone()),
            legal_basis: privacy.map(|p| p.legal_basis),
            retention: privacy.and_then(|p| p.retention.clone()),
            special_categories: categories.iter().any(|c| c.special()),
            categories,
            fields: sent
                .map(|s| {
                    s.fields
                        .iter()
                        .map(|&f| profile.fields[f].name.clone())
                        .collect()
                })
                .unwrap_or_default(),
            rows,
            succeeded,
            failed,
        }
    }
}

/// `target` without credentials or a query string: `sftp://host:22/in/x.csv` for
/// `sftp://user@host:22/in/x.csv`, `POST https://api.example.com/v1/people` for
/// `POST https://api.example.com/v1/people?token=…`; a local path as it is.
pub fn destination(target: &str) -> String {
    let (method, rest) = match target.split_once(' ') {
        Some((m, rest)) if !m.is_empty() && m.bytes().all(|b| b.is_ascii_uppercase()) => {
            (Some(m), rest)
        }
        _ => (None, target),
    };
    let cleaned = match rest.split_once("://") {
        Some((scheme, after)) => {
            let (authority, path) = after.split_at(after.find('/').unwrap_or(after.len()));
            let authority = authority.split(['?', '#']).next().unwrap_or_default();
            let host = authority
                .rsplit_once('@')
                .map_or(authority, |(_, host)| host);
            let path = path.split(['?', '#']).next().unwrap_or_default();
            format!("{scheme}://{host}{path}")
        }
        None => rest.to_string(),
    };
    match method {
        Some(m) => format!("{m} {cleaned}"),
        None => cleaned,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_keep_no_credentials_and_no_query() {
        for (target, shown) in [
            ("/srv/outbox/x.csv", "/srv/outbox/x.csv"),
            (
                "sftp://bob@files.example.com:22/in/x.csv",
                "sftp://files.example.com:22/in/x.csv",
            ),
            (
                "POST https://u:p@api.example.com/v1/people/{id}?token=s3cret#x",
                "POST https://api.example.com/v1/people/{id}",
            ),
            (
                "SCIM https://idp.example.com/scim/v2",
                "SCIM https://idp.example.com/scim/v2",
            ),
            (
                "PUT https://api.example.com?key=1",
                "PUT https://api.example.com",
            ),
        ] {
            assert_eq!(destination(target), shown, "{target}");
        }
    }

    #[test]
    fn a_record_names_what_went_to_whom_on_what_basis() {
        let profile = crate::privacy::test_profile(
            r#"[privacy]
purpose = "payroll"
legal_basis = "contract"
recipient = { name = "Pay Inc", country = "US" }
transfer_mechanism = "scc"
retention = "10 years"
"#,
            r#"[[field]]
name = "employee_id"
from = "ID"
category = "identity"
[[field]]
name = "sick_days"
from = "Sick"
category = "health"
[[output]]
type = "file"
path = "outbox/x.csv"
"#,
        );
        let r = TransferRecord::of(&profile, 0, "sftp://u@h/x.csv", 10, (9, 1));
        assert_eq!(r.output, 1);
        assert_eq!(r.destination, "sftp://h/x.csv");
        assert_eq!(
            r.recipient.as_ref().map(|r| r.name.as_str()),
            Some("Pay Inc")
        );
        assert!(r.outside_eea && r.special_categories);
        assert_eq!(r.transfer_mechanism, Some(TransferMechanism::Scc));
        assert_eq!(r.legal_basis, Some(LegalBasis::Contract));
        assert_eq!(r.categories, [Category::Identity, Category::Health]);
        assert_eq!(r.fields, ["employee_id", "sick_days"]);
        assert_eq!((r.rows, r.succeeded, r.failed), (10, 9, 1));
    }
}
