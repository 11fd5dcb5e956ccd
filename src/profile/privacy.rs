//! `[privacy]`, a field's `category` and an output's `[output.privacy]`: what a profile declares
//! about the personal data it moves — why (purpose, legal basis), to whom and where (the
//! recipient and its country), for how long, by which safeguard it may leave the EEA, and
//! which categories of data each field is and each output may receive. `hrbridge check` holds
//! the outputs to these declarations (`crate::privacy::check`); the audit trail's transfer
//! records are written from them.

use serde::{Deserialize, Serialize};

use super::model::Profile;
use super::problem::{KeyPath, Problem};

/// `[privacy]`: the declarations of the profile as a whole; an output's own
/// `[output.privacy]` keys take precedence for that output.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacySpec {
    /// What the data is sent for, in words (`"payroll"`, `"learning management"`).
    pub purpose: String,
    /// The lawful basis of the processing (GDPR Art. 6(1)).
    pub legal_basis: LegalBasis,
    /// Who receives the data, unless an output names its own.
    #[serde(default)]
    pub recipient: Option<Recipient>,
    /// How long the recipient keeps it, in words (`"7 years after leaving"`).
    #[serde(default)]
    pub retention: Option<String>,
    /// The safeguard a transfer outside the EEA relies on, unless an output names its own.
    #[serde(default)]
    pub transfer_mechanism: Option<TransferMechanism>,
}

/// `[output.privacy]`: who this output's data goes to and what it may carry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputPrivacy {
    /// The recipient of this output (default: `[privacy]`'s).
    #[serde(default)]
    pub recipient: Option<Recipient>,
    /// The only categories of data this output may receive; a field of another category (or of
    /// none) sent to it is an error.
    #[serde(default)]
    pub allowed_categories: Option<Vec<Category>>,
    /// The safeguard of a transfer outside the EEA (default: `[privacy]`'s).
    #[serde(default)]
    pub transfer_mechanism: Option<TransferMechanism>,
}

/// A recipient of personal data.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Recipient {
    pub name: String,
    /// Where it processes the data: an ISO 3166-1 alpha-2 code (`"DE"`, `"US"`).
    pub country: String,
    /// `"processor"` (default: it processes on the profile owner's behalf) or `"controller"`.
    #[serde(default)]
    pub role: Role,
}

impl Recipient {
    /// Whether it processes the data outside the EEA.
    pub fn outside_eea(&self) -> bool {
        !in_eea(&self.country)
    }
}

/// Whether a recipient processes for the sender or decides for itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    #[default]
    Processor,
    Controller,
}

/// The lawful bases of GDPR Art. 6(1), (a) to (f).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LegalBasis {
    Consent,
    Contract,
    LegalObligation,
    VitalInterests,
    PublicTask,
    LegitimateInterests,
}

impl LegalBasis {
    /// The basis as written in a profile.
    pub fn as_str(self) -> &'static str {
        match self {
            LegalBasis::Consent => "consent",
            LegalBasis::Contract => "contract",
            LegalBasis::LegalObligation => "legal_obligation",
            LegalBasis::VitalInterests => "vital_interests",
            LegalBasis::PublicTask => "public_task",
            LegalBasis::LegitimateInterests => "legitimate_interests",
        }
    }

    /// Where the GDPR states it.
    pub fn article(self) -> &'static str {
        match self {
            LegalBasis::Consent => "Art. 6(1)(a)",
            LegalBasis::Contract => "Art. 6(1)(b)",
            LegalBasis::LegalObligation => "Art. 6(1)(c)",
            LegalBasis::VitalInterests => "Art. 6(1)(d)",
            LegalBasis::PublicTask => "Art. 6(1)(e)",
            LegalBasis::LegitimateInterests => "Art. 6(1)(f)",
        }
    }
}

/// The safeguards a transfer to a country outside the EEA may rely on (GDPR Art. 45–49).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferMechanism {
    /// An adequacy decision for the country (Art. 45), e.g. the UK, Switzerland, Japan, or the
    /// EU–US Data Privacy Framework for a certified recipient.
    Adequacy,
    /// Standard contractual clauses (Art. 46(2)(c)).
    Scc,
    /// Binding corporate rules (Art. 47).
    Bcr,
    /// A derogation for a specific situation (Art. 49).
    Derogation,
}

impl TransferMechanism {
    pub fn as_str(self) -> &'static str {
        match self {
            TransferMechanism::Adequacy => "adequacy",
            TransferMechanism::Scc => "scc",
            TransferMechanism::Bcr => "bcr",
            TransferMechanism::Derogation => "derogation",
        }
    }
}

/// What kind of personal data a field is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Names, employee numbers, dates of birth.
    Identity,
    /// Addresses, e-mail, phone numbers.
    Contact,
    /// Job, department, manager, location, dates of employment.
    Employment,
    /// Pay, bonus, benefits.
    Compensation,
    /// Bank accounts.
    Bank,
    /// National identifiers: SSN, passport, tax number.
    GovernmentId,
    /// Dependants, marital status.
    Family,
    /// Special categories (GDPR Art. 9) from here on, and criminal records (Art. 10).
    Health,
    Biometric,
    Genetic,
    Ethnicity,
    Religion,
    Politics,
    TradeUnion,
    SexualOrientation,
    CriminalRecord,
    /// Personal data of no category above.
    Other,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Identity => "identity",
            Category::Contact => "contact",
            Category::Employment => "employment",
            Category::Compensation => "compensation",
            Category::Bank => "bank",
            Category::GovernmentId => "government_id",
            Category::Family => "family",
            Category::Health => "health",
            Category::Biometric => "biometric",
            Category::Genetic => "genetic",
            Category::Ethnicity => "ethnicity",
            Category::Religion => "religion",
            Category::Politics => "politics",
            Category::TradeUnion => "trade_union",
            Category::SexualOrientation => "sexual_orientation",
            Category::CriminalRecord => "criminal_record",
            Category::Other => "other",
        }
    }

    /// A special category of GDPR Art. 9, or criminal records (Art. 10): processing needs a
    /// condition of its own besides the legal basis.
    pub fn special(self) -> bool {
        self >= Category::Health && self < Category::Other
    }
}

/// The countries of the European Economic Area (the EU and Iceland, Liechtenstein, Norway),
/// as ISO 3166-1 alpha-2 codes.
const EEA: &[&str] = &[
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IS",
    "IT", "LI", "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE", "SI", "SK",
];

/// Whether `country` (an ISO 3166-1 alpha-2 code) is in the EEA.
pub fn in_eea(country: &str) -> bool {
    EEA.contains(&country)
}

/// Whether `code` is written as an ISO 3166-1 alpha-2 code: two capital letters.
pub fn is_country_code(code: &str) -> bool {
    code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase())
}

/// The rules the declarations keep by themselves: a country is a two-letter code.
pub fn check(profile: &Profile) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut country = |recipient: &Option<Recipient>, at: KeyPath| {
        if let Some(r) = recipient {
            let code = &r.country;
            if !is_country_code(code) {
                problems.push(Problem::new(
                    at.key("recipient").key("country"),
                    format!("{code:?} is not a country code: write the ISO 3166-1 alpha-2 code in capitals (\"DE\", \"US\")"),
                ));
            }
        }
    };
    if let Some(privacy) = &profile.privacy {
        country(&privacy.recipient, KeyPath::root().key("privacy"));
    }
    for (i, output) in profile.outputs.iter().enumerate() {
        country(
            &output.privacy().recipient,
            KeyPath::output(i).key("privacy"),
        );
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_categories_are_those_of_article_9_and_10() {
        let special: Vec<&str> = [
            Category::Identity,
            Category::Compensation,
            Category::GovernmentId,
            Category::Family,
            Category::Health,
            Category::TradeUnion,
            Category::CriminalRecord,
            Category::Other,
        ]
        .into_iter()
        .filter(|c| c.special())
        .map(Category::as_str)
        .collect();
        assert_eq!(special, ["health", "trade_union", "criminal_record"]);
    }

    #[test]
    fn the_eea_is_the_eu_and_three_more() {
        assert_eq!(EEA.len(), 30);
        assert!(in_eea("DE") && in_eea("NO") && in_eea("IS"));
        assert!(!in_eea("US") && !in_eea("GB") && !in_eea("CH") && !in_eea("de"));
    }
}
