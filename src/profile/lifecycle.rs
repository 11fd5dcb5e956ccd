//! `[lifecycle]`: a profile whose files are full rosters. Each accepted file becomes the
//! profile's snapshot, and what is delivered is the difference to the previous one: joiners,
//! movers, leavers and rehires. The keys here say how people are told apart, when a person
//! has left, and which differences are too large to apply without an operator.

use serde::{Deserialize, Deserializer};

use super::model::{OutputSpec, Profile};
use super::problem::{KeyPath, Problem};
use crate::kernel::change::{CHANGED_FIELDS, CHANGE_FIELD};

/// The rules of `[lifecycle]`: people are told apart by key fields that are not PII (the
/// roster keeps keys as they are), the status field is a field, and the change fields'
/// names are not taken.
pub fn check(profile: &Profile) -> Vec<Problem> {
    let mut problems = Vec::new();
    let Some(spec) = &profile.lifecycle else {
        return problems;
    };
    let at = KeyPath::root().key("lifecycle");
    let keys: Vec<usize> = (0..profile.fields.len())
        .filter(|&i| profile.fields[i].key)
        .collect();
    if keys.is_empty() {
        problems.push(Problem::new(
            at.clone(),
            "a lifecycle profile tells people apart by its key: mark the field(s) that identify a person with key = true",
        ));
    }
    for &i in &keys {
        if profile.fields[i].pii {
            problems.push(Problem::new(
                KeyPath::field(i).key("pii"),
                "a key field of a lifecycle profile cannot be pii: the snapshot keeps keys as they are; key on an employee id instead",
            ));
        }
    }
    for (i, f) in profile.fields.iter().enumerate() {
        if f.name == CHANGE_FIELD || f.name == CHANGED_FIELDS {
            problems.push(Problem::new(
                KeyPath::field(i).key("name"),
                format!("{:?} is the name of a change field a lifecycle profile adds; rename this field", f.name),
            ));
        }
    }
    match &spec.status_field {
        Some(name) if !profile.fields.iter().any(|f| &f.name == name) => {
            problems.push(Problem::new(
                at.clone().key("status_field"),
                format!("{name:?} is not a field of this profile"),
            ))
        }
        Some(_) if spec.terminated_values.is_empty() => problems.push(Problem::new(
            at.clone().key("terminated_values"),
            "status_field needs terminated_values: the statuses that mean a person has left",
        )),
        None if !spec.terminated_values.is_empty() => problems.push(Problem::new(
            at.clone().key("status_field"),
            "terminated_values needs status_field: the field they are compared with",
        )),
        _ => {}
    }
    let dated = [
        ("joiner", &spec.effective_from.joiner),
        ("leaver", &spec.effective_from.leaver),
    ];
    for (kind, name) in dated {
        if let Some(name) = name {
            if !profile.fields.iter().any(|f| &f.name == name) {
                problems.push(Problem::new(
                    at.clone().key("effective_from").key(kind),
                    format!("{name:?} is not a field of this profile"),
                ));
            }
        }
    }
    if spec.prehire == Prehire::Inactive && spec.effective_from.joiner.is_none() {
        problems.push(Problem::new(
            at.clone().key("prehire"),
            "prehire = \"inactive\" needs effective_from.joiner: the field with the start date",
        ));
    }
    for (i, output) in profile.outputs.iter().enumerate() {
        let OutputSpec::Scim(scim) = output else {
            continue;
        };
        let attribute = scim.scim.match_on.attribute();
        if profile.fields.iter().any(|f| f.name == attribute && f.pii) {
            problems.push(Problem::new(
                KeyPath::output(i).key("match"),
                format!("users are found by {attribute}, a pii field; a leaver who is gone from the roster is sent from the snapshot, which keeps pii only as hashes: match on a field that is not pii (externalId)"),
            ));
        }
    }
    match (&spec.order_by, &spec.file_date) {
        (OrderBy::FileDate, None) => problems.push(Problem::new(
            at.clone().key("file_date"),
            "order_by = \"file_date\" needs file_date: how the date is written in file names, e.g. \"%Y%m%d\"",
        )),
        (_, Some(format)) if !crate::kernel::clock::valid_format(format) => {
            problems.push(Problem::new(
                at.clone().key("file_date"),
                format!("{format:?} is not a date format with a year, month and day, e.g. \"%Y%m%d\""),
            ))
        }
        _ => {}
    }
    if spec.effective_from.leaver.is_some() && spec.status_field.is_none() {
        problems.push(Problem::new(
            at.clone().key("effective_from").key("leaver"),
            "a leaver date dates leavers by status: it needs status_field and terminated_values",
        ));
    }
    problems
}

/// `[lifecycle]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LifecycleSpec {
    /// `"snapshot"`: every file is the whole roster.
    pub mode: LifecycleMode,
    /// On the first snapshot, record everyone without emitting a change (default `false`:
    /// everyone is a joiner).
    #[serde(default)]
    pub baseline: bool,
    /// What a key missing from the snapshot means: `"terminate"` (default: a leaver) or
    /// `"ignore"`.
    #[serde(default)]
    pub absent: Absent,
    /// The mapped field holding the employment status; with `terminated_values`, a person
    /// whose status is one of them is a leaver.
    #[serde(default)]
    pub status_field: Option<String>,
    /// Status values (compared case-insensitively, after mapping) that mean the person has
    /// left.
    #[serde(default)]
    pub terminated_values: Vec<String>,
    /// More leavers than this holds the file for approval: a count (`50`) or a share of the
    /// previous snapshot's active people (`"20%"`, the default).
    #[serde(default = "default_threshold")]
    pub max_leavers: Threshold,
    /// A snapshot this much smaller than the previous one holds the file for approval: a
    /// count of rows or a share (`"20%"`, the default).
    #[serde(default = "default_threshold")]
    pub max_drop: Threshold,
    /// The mapped fields holding the dates changes take effect on: a joiner or rehire whose
    /// `joiner` date, or a leaver by status whose `leaver` date, is after today (in the
    /// profile's time zone) waits in the queue until that date.
    #[serde(default)]
    pub effective_from: EffectiveFrom,
    /// What a future joiner gets before the start date: nothing (`"wait"`, the default), or an
    /// account created inactive (`"inactive"`: a `prehire` change now, the joiner on the date).
    #[serde(default)]
    pub prehire: Prehire,
    /// The order files are applied in: as they arrive, by name (`"arrival"`, the default), or
    /// by the date in their names (`"file_date"`, written as `file_date` says).
    #[serde(default)]
    pub order_by: OrderBy,
    /// How the date is written in file names, as a strftime format (`"%Y%m%d"`).
    #[serde(default)]
    pub file_date: Option<String>,
}

/// `[lifecycle] order_by`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderBy {
    #[default]
    Arrival,
    FileDate,
}

/// `[lifecycle] effective_from`: which field dates which change.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EffectiveFrom {
    /// The start date of joiners and rehires (`"start_date"`).
    pub joiner: Option<String>,
    /// The last day of leavers by status (`"termination_date"`).
    pub leaver: Option<String>,
}

/// `[lifecycle] prehire`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Prehire {
    #[default]
    Wait,
    Inactive,
}

/// `[lifecycle] mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LifecycleMode {
    Snapshot,
}

/// `[lifecycle] absent`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Absent {
    #[default]
    Terminate,
    Ignore,
}

/// A safeguard's limit: at most `Count` people, or at most a share of the previous snapshot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    Count(u64),
    /// A percentage, 0–100.
    Percent(f64),
}

fn default_threshold() -> Threshold {
    Threshold::Percent(20.0)
}

impl Threshold {
    /// Whether `n` goes over this limit, against a previous snapshot of `of` people.
    pub fn exceeded(self, n: u64, of: u64) -> bool {
        match self {
            Threshold::Count(max) => n > max,
            Threshold::Percent(p) => (n as f64) > (of as f64) * p / 100.0,
        }
    }
}

impl std::fmt::Display for Threshold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Threshold::Count(n) => write!(f, "{n}"),
            Threshold::Percent(p) => write!(f, "{p}%"),
        }
    }
}

/// A `max_leavers`/`max_drop` that is neither a count nor a percentage.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a count (50) or a percentage (\"20%\") between 0% and 100%")]
pub struct ThresholdError(String);

impl std::str::FromStr for Threshold {
    type Err = ThresholdError;

    fn from_str(s: &str) -> Result<Threshold, ThresholdError> {
        let bad = || ThresholdError(s.to_string());
        match s.trim().strip_suffix('%') {
            Some(p) => {
                let p: f64 = p.trim().parse().map_err(|_| bad())?;
                if (0.0..=100.0).contains(&p) {
                    Ok(Threshold::Percent(p))
                } else {
                    Err(bad())
                }
            }
            None => s.trim().parse().map(Threshold::Count).map_err(|_| bad()),
        }
    }
}

impl<'de> Deserialize<'de> for Threshold {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Threshold, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            Count(u64),
            Text(String),
        }
        match Written::deserialize(d)? {
            Written::Count(n) => Ok(Threshold::Count(n)),
            Written::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// `send` of a file output in a lifecycle profile: only the changes (default), or the whole
/// roster with the change columns (empty for people who did not change).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Send {
    #[default]
    Changes,
    Roster,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::fixtures::paths;

    /// The problems of a lifecycle profile with `lifecycle` as its section and `fields`.
    fn problems(lifecycle: &str, fields: &str) -> Vec<String> {
        let text = format!(
            "name = \"l\"\n[lifecycle]\nmode = \"snapshot\"\n{lifecycle}\n{fields}\n\
             [source]\ntype = \"dir\"\npath = \"inbox/x\"\n\
             [[output]]\ntype = \"file\"\npath = \"outbox/x.csv\"\n"
        );
        let profile: Profile = toml::from_str(&text).unwrap();
        paths(&check(&profile))
    }

    const FIELDS: &str = r#"
[[field]]
name = "id"
from = "ID"
key = true
[[field]]
name = "status"
from = "Status"
[[field]]
name = "start"
from = "Start"
"#;

    #[test]
    fn people_are_told_apart_by_a_key_that_is_not_pii() {
        assert_eq!(problems("", FIELDS), Vec::<String>::new());
        let keyless = FIELDS.replace("key = true", "");
        assert_eq!(problems("", &keyless), ["lifecycle"]);
        let pii = FIELDS.replace("key = true", "key = true\npii = true");
        assert_eq!(problems("", &pii), ["field[0].pii"]);
        let taken = FIELDS.replace("name = \"start\"", "name = \"change\"");
        assert_eq!(problems("", &taken), ["field[2].name"]);
    }

    #[test]
    fn scim_users_are_not_found_by_a_pii_field() {
        let scim = |matched: &str| {
            format!(
                "{FIELDS}[[field]]\nname = \"userName\"\nfrom = \"Email\"\npii = true\n\
                 [[output]]\ntype = \"scim\"\nbase_url = \"https://idp.example.com/scim/v2\"\n\
                 match = \"{matched}\"\n\
                 [[field]]\nname = \"externalId\"\nfrom = \"ID\"\n"
            )
        };
        assert_eq!(problems("", &scim("externalId")), Vec::<String>::new());
        assert_eq!(problems("", &scim("userName")), ["output[0].match"]);
    }

    #[test]
    fn status_and_dates_name_fields_of_the_profile() {
        let ok = "status_field = \"status\"\nterminated_values = [\"gone\"]\n\
                  effective_from = { joiner = \"start\", leaver = \"start\" }\n\
                  prehire = \"inactive\"";
        assert_eq!(problems(ok, FIELDS), Vec::<String>::new());
        assert_eq!(
            problems("status_field = \"status\"", FIELDS),
            ["lifecycle.terminated_values"]
        );
        assert_eq!(
            problems("terminated_values = [\"gone\"]", FIELDS),
            ["lifecycle.status_field"]
        );
        assert_eq!(
            problems("effective_from = { joiner = \"hired\" }", FIELDS),
            ["lifecycle.effective_from.joiner"]
        );
        assert_eq!(
            problems("effective_from = { leaver = \"start\" }", FIELDS),
            ["lifecycle.effective_from.leaver"]
        );
        assert_eq!(
            problems("prehire = \"inactive\"", FIELDS),
            ["lifecycle.prehire"]
        );
        let ordered = "order_by = \"file_date\"";
        assert_eq!(problems(ordered, FIELDS), ["lifecycle.file_date"]);
        let dated = format!("{ordered}\nfile_date = \"%Y%m%d\"");
        assert_eq!(problems(&dated, FIELDS), Vec::<String>::new());
        let monthly = format!("{ordered}\nfile_date = \"%Y%m\"");
        assert_eq!(problems(&monthly, FIELDS), ["lifecycle.file_date"]);
    }

    #[test]
    fn thresholds_are_counts_or_percentages() {
        assert_eq!(
            "20%".parse::<Threshold>().unwrap(),
            Threshold::Percent(20.0)
        );
        assert_eq!("7".parse::<Threshold>().unwrap(), Threshold::Count(7));
        assert!("120%".parse::<Threshold>().is_err());
        assert!("many".parse::<Threshold>().is_err());
        assert!(Threshold::Percent(20.0).exceeded(21, 100));
        assert!(!Threshold::Percent(20.0).exceeded(20, 100));
        assert!(Threshold::Count(3).exceeded(4, 1000));
    }
}
