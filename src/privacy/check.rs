//! The privacy rules `hrbridge check` holds a profile to, each reported at the key path of the
//! value to change: an output may receive only its `allowed_categories` (data minimisation,
//! GDPR Art. 5(1)(c)); personal data may leave the EEA only under a named safeguard (Art.
//! 44–49); and a profile that delivers PII should say why, to whom and on what basis (a
//! warning: it works, but its transfers cannot be accounted for).

use crate::profile::privacy::{is_country_code, Category};
use crate::profile::{KeyPath, OutputSpec, Problem, Profile};

use super::sent::sent;

/// The errors: categories an output may not receive, and transfers outside the EEA without a
/// safeguard.
pub fn check(profile: &Profile) -> Vec<Problem> {
    let mut problems = Vec::new();
    for sent in sent(profile) {
        let output = &profile.outputs[sent.output];
        let named = format!("output {} ({})", sent.output + 1, kind(output));
        if let Some((r, at)) = &sent.recipient {
            let abroad = is_country_code(&r.country) && r.outside_eea();
            if abroad && sent.mechanism.is_none() && !sent.fields.is_empty() {
                problems.push(Problem::new(
                    at.clone().key("country"),
                    format!(
                        "{named} sends personal data to {:?} in {}, outside the EEA: name the \
                         transfer_mechanism it relies on (\"adequacy\", \"scc\", \"bcr\" or \
                         \"derogation\"; GDPR Art. 45–49) in its [output.privacy] or in [privacy]",
                        r.name, r.country
                    ),
                ));
            }
        }
        let Some(allowed) = &output.privacy().allowed_categories else {
            continue;
        };
        let words = allowed
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        for &f in &sent.fields {
            let field = &profile.fields[f];
            match field.category {
                Some(c) if allowed.contains(&c) => {}
                Some(c) => problems.push(Problem::new(
                    KeyPath::field(f).key("category"),
                    format!(
                        "field `{}` is {} data, which {named} may not receive (its \
                         allowed_categories: {words}): leave it out of what that output sends",
                        field.name,
                        c.as_str()
                    ),
                )),
                None => problems.push(Problem::new(
                    KeyPath::field(f).key("name"),
                    format!(
                        "field `{}` has no category, and {named} receives only {words}: \
                         declare the field's category",
                        field.name
                    ),
                )),
            }
        }
    }
    problems
}

/// The warnings: PII delivered by a profile without `[privacy]`.
pub fn warnings(profile: &Profile) -> Vec<Problem> {
    if profile.privacy.is_some() {
        return Vec::new();
    }
    let mut pii: Vec<usize> = sent(profile)
        .into_iter()
        .flat_map(|s| s.fields)
        .filter(|&f| profile.fields[f].pii)
        .collect();
    pii.sort_unstable();
    pii.dedup();
    let Some(&first) = pii.first() else {
        return Vec::new();
    };
    let names: Vec<&str> = pii
        .iter()
        .map(|&f| profile.fields[f].name.as_str())
        .collect();
    vec![Problem::new(
        KeyPath::field(first).key("pii"),
        format!(
            "this profile delivers PII ({}) but declares no [privacy]: add its purpose, \
             legal_basis and recipient, so that `audit transfers` and `audit ropa` can account \
             for where the data goes (GDPR Art. 30)",
            names.join(", ")
        ),
    )]
}

/// The categories an output sends, as `check` lists them: `identity, contact` and how many
/// fields go without one.
pub fn described(
    categories: &std::collections::BTreeSet<Category>,
    uncategorised: usize,
) -> String {
    let mut words: Vec<String> = categories.iter().map(|c| c.as_str().to_string()).collect();
    if uncategorised > 0 {
        words.push(format!("{uncategorised} field(s) without a category"));
    }
    if words.is_empty() {
        return "no personal data".to_string();
    }
    words.join(", ")
}

/// An output's `type`, for messages.
fn kind(output: &OutputSpec) -> &'static str {
    match output {
        OutputSpec::File(_) => "file",
        OutputSpec::Sftp(_) => "sftp",
        OutputSpec::Http(_) => "http",
        OutputSpec::Scim(_) => "scim",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::fixtures::paths;

    /// A profile of an id, a name, a salary and an SSN with `privacy` TOML in front and the
    /// `[[output]]`s of `outputs`.
    fn profile(privacy: &str, outputs: &str) -> Profile {
        let fields = r#"[[field]]
name = "employee_id"
from = "ID"
key = true
category = "identity"
[[field]]
name = "name"
from = "Name"
category = "identity"
[[field]]
name = "salary"
from = "Salary"
category = "compensation"
[[field]]
name = "ssn"
from = "SSN"
pii = true
"#;
        crate::privacy::test_profile(privacy, &format!("{fields}{outputs}"))
    }

    const PRIVACY: &str = r#"[privacy]
purpose = "learning management"
legal_basis = "legitimate_interests"
recipient = { name = "LMS GmbH", country = "DE" }
"#;

    const LMS: &str = r#"[[output]]
type = "http"
url = "https://lms.example.com/api/learners"
body = { id = "{employee_id}", name = "{name}" }
[output.privacy]
allowed_categories = ["identity", "employment"]
"#;

    #[test]
    fn an_output_gets_only_its_allowed_categories() {
        // The LMS output names only the id and the name: it is within its categories.
        assert!(check(&profile(PRIVACY, LMS)).is_empty());
        // Without a body it sends the whole record: the salary and the SSN too.
        let whole = LMS.replace("body = { id = \"{employee_id}\", name = \"{name}\" }\n", "");
        let problems = check(&profile(PRIVACY, &whole));
        assert_eq!(paths(&problems), ["field[2].category", "field[3].name"]);
        assert!(
            problems[0]
                .message
                .contains("`salary` is compensation data")
                && problems[0].message.contains("output 1 (http)"),
            "{}",
            problems[0].message
        );
        assert!(problems[1].message.contains("`ssn` has no category"));
    }

    #[test]
    fn data_leaves_the_eea_only_under_a_named_safeguard() {
        let us = PRIVACY.replace("\"DE\"", "\"US\"");
        let file = "[[output]]\ntype = \"file\"\npath = \"outbox/x.csv\"\n";
        let problems = check(&profile(&us, file));
        assert_eq!(paths(&problems), ["privacy.recipient.country"]);
        assert!(problems[0].message.contains("outside the EEA"));
        let safeguarded = format!("{us}transfer_mechanism = \"scc\"\n");
        assert!(check(&profile(&safeguarded, file)).is_empty());
        // An output's own recipient is checked where it is written.
        let own = format!(
            "{file}[output.privacy]\nrecipient = {{ name = \"Acme Inc\", country = \"US\" }}\n"
        );
        assert_eq!(
            paths(&check(&profile(PRIVACY, &own))),
            ["output[0].privacy.recipient.country"]
        );
        let adequate = format!("{own}transfer_mechanism = \"adequacy\"\n");
        assert!(check(&profile(PRIVACY, &adequate)).is_empty());
    }

    #[test]
    fn pii_delivered_without_privacy_is_pointed_out() {
        let file = "[[output]]\ntype = \"file\"\npath = \"outbox/x.csv\"\n";
        let warned = warnings(&profile("", file));
        assert_eq!(paths(&warned), ["field[3].pii"]);
        assert!(warned[0].message.contains("(ssn)"), "{}", warned[0].message);
        assert!(warnings(&profile(PRIVACY, file)).is_empty());
        // An output that never sends the PII field is no reason for a warning.
        assert!(warnings(&profile("", LMS)).is_empty());
    }

    #[test]
    fn what_an_output_sends_is_listed_by_category() {
        let p = profile(PRIVACY, LMS);
        let lms = &crate::privacy::sent::sent(&p)[0];
        assert_eq!(lms.fields, [0, 1]);
        assert_eq!(described(&lms.categories, lms.uncategorised), "identity");
        let whole = profile(
            PRIVACY,
            "[[output]]\ntype = \"file\"\npath = \"outbox/x.csv\"\n",
        );
        let all = &crate::privacy::sent::sent(&whole)[0];
        assert_eq!(
            described(&all.categories, all.uncategorised),
            "identity, compensation, 1 field(s) without a category"
        );
        assert_eq!(
            all.recipient.as_ref().map(|(r, _)| r.name.as_str()),
            Some("LMS GmbH")
        );
    }
}
