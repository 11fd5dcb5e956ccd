//! The keys of an X12 834 output (`[[output]] format = "x12-834"`, `[output.x12]`): who sends
//! the interchange to whom, the plan sponsor and the payer, and which output fields fill the
//! member and coverage segments of the 005010X220A1 benefit enrollment transaction.

use serde::Deserialize;

/// `[output.x12]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct X12Spec {
    /// ISA05/ISA06 and GS02: the interchange sender.
    pub sender: Party,
    /// ISA07/ISA08 and GS03: the interchange receiver (the carrier).
    pub receiver: Party,
    /// ISA15: `"test"` or `"production"`; carriers load only production files.
    pub usage: Usage,
    /// `N1*P5`: the plan sponsor (the employer).
    pub sponsor: Entity,
    /// `N1*IN`: the payer (the carrier).
    pub payer: Entity,
    /// `"changes"` (default: BGN08 `2`, each member with their own maintenance type) or
    /// `"full"` (BGN08 `4`: every member, maintenance type `030`, as a full-file audit).
    #[serde(default)]
    pub file: FileKind,
    /// `REF*38`: the master policy number, when the carrier wants one.
    #[serde(default)]
    pub policy_number: Option<String>,
    /// Without `[lifecycle]`, in a change file: the field that says each member's change
    /// (`add`, `change`, `term`, `reinstate`, `audit`, or the codes `021` `001` `024` `025`
    /// `030`).
    #[serde(default)]
    pub maintenance: Option<String>,
    /// The separators, when the carrier wants others than `*` `~` `:` `^`.
    #[serde(default)]
    pub separators: Separators,
    /// Which fields fill the member segments.
    pub member: MemberFields,
    /// One `HD` loop per entry: the coverages each member has.
    pub coverage: Vec<CoverageFields>,
}

/// An interchange party: `qualifier` (ISA05/07: `ZZ` mutually defined, `01` DUNS, `30` FEIN,
/// ...) and its id (up to 15 characters).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Party {
    #[serde(default = "mutually_defined")]
    pub qualifier: String,
    pub id: String,
}

fn mutually_defined() -> String {
    "ZZ".to_string()
}

/// A named entity of the 1000 loops: its name, and its id (`FI` federal tax id, `94` code
/// assigned by the carrier, ...).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entity {
    pub name: String,
    #[serde(default = "tax_id")]
    pub qualifier: String,
    pub id: String,
}

fn tax_id() -> String {
    "FI".to_string()
}

/// ISA15.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Usage {
    Test,
    Production,
}

/// What the transaction is: changes, or the whole membership.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    #[default]
    Changes,
    Full,
}

/// The four separators of an interchange; each one character, all different.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Separators {
    #[serde(default = "star")]
    pub element: char,
    #[serde(default = "tilde")]
    pub segment: char,
    #[serde(default = "colon")]
    pub component: char,
    #[serde(default = "caret")]
    pub repetition: char,
}

impl Default for Separators {
    fn default() -> Self {
        Separators {
            element: star(),
            segment: tilde(),
            component: colon(),
            repetition: caret(),
        }
    }
}

fn star() -> char {
    '*'
}
fn tilde() -> char {
    '~'
}
fn colon() -> char {
    ':'
}
fn caret() -> char {
    '^'
}

/// `[output.x12.member]`: the output fields of a member's segments, by name.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberFields {
    /// `REF*0F`: the subscriber's id, on the subscriber's and each dependent's row.
    pub subscriber_id: String,
    /// INS02: the member's relationship code (`18` self: the subscriber; `01` spouse, `19`
    /// child, `53` life partner, ...).
    pub relationship: String,
    /// `NM1*IL`: last and first name.
    pub last_name: String,
    pub first_name: String,
    /// `NM1*IL` NM109 with qualifier `34`: the member's Social Security number (optional).
    #[serde(default)]
    pub ssn: Option<String>,
    /// `DMG`: date of birth (a date field) and gender code (`M`, `F`, `U`; optional).
    pub birth_date: String,
    #[serde(default)]
    pub gender: Option<String>,
    /// INS08: the subscriber's employment status code (`FT`, `PT`, `AC`, `TE`, ...; optional).
    #[serde(default)]
    pub employment_status: Option<String>,
    /// `N3`/`N4`: street, city, state and postal code (all four, or none).
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub postal_code: Option<String>,
}

/// `[[output.x12.coverage]]`: one health coverage (`HD` loop) of each member.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoverageFields {
    /// HD03: the insurance line (`HLT` health, `DEN` dental, `VIS` vision, ...): text, the
    /// same for every member.
    pub insurance_line: String,
    /// HD04: the field holding the plan (optional).
    #[serde(default)]
    pub plan: Option<String>,
    /// HD05: the field holding the coverage level code (`EMP`, `ESP`, `ECH`, `FAM`, ...;
    /// optional).
    #[serde(default)]
    pub level: Option<String>,
    /// `DTP*348`: the date field of the benefit's start.
    pub start: String,
    /// `DTP*349`: the date field of its end (optional; a term without one ends on the run
    /// date).
    #[serde(default)]
    pub end: Option<String>,
}
