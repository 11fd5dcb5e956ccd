//! ANSI X12 834 benefit enrollment files (005010X220A1, `format = "x12-834"`): each mapped
//! record becomes one member's loop — `INS`, `REF*0F`, `NM1*IL`, `N3`/`N4`, `DMG` and an `HD`
//! loop per coverage with its dates — inside a complete envelope (ISA/GS/ST … SE/GE/IEA with
//! the segment count and the profile's sequence number as control numbers).
//!
//! Carriers reject whole files for one bad segment, so a record that cannot make a valid
//! member loop (no subscriber id, a date that is not a date, a relationship code X12 does not
//! have, a separator or a character outside X12's extended set in a value, a value longer than
//! its element) is a rejected row before anything of it is written
//! ([`X12Encoder::refusal`]), like any other rejection. The maintenance type comes from the
//! lifecycle change (joiner `021`, mover `001`, leaver `024`, rehire `025`), from a mapped
//! field, or is `030` for every member of a full file.

use std::io::{self, Write};

use chrono::NaiveDate;

use super::file::Stamp;
use super::fixed::Refusal;
use crate::kernel::change::{ChangeKind, CHANGE_FIELD};
use crate::kernel::mapped::{FieldInfo, MappedRecord};
use crate::kernel::value::Value;
use crate::profile::lifecycle::Absent;
use crate::profile::x12_output::{FileKind, Separators, Usage, X12Spec};
use crate::profile::{FieldType, FileOutputSpec, KeyPath, OutputFormat, Problem, Profile};

/// The implementation guide every transaction names (GS08, ST03).
const GUIDE: &str = "005010X220A1";

/// INS02 relationship codes of 005010X220A1; `18` is the subscriber.
const RELATIONSHIPS: &[&str] = &[
    "01", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "13", "14", "15", "16", "17",
    "18", "19", "23", "24", "25", "26", "31", "38", "53", "60", "D2", "G8", "G9",
];

/// HD03 insurance line codes.
const INSURANCE_LINES: &[&str] = &[
    "AG", "AH", "AJ", "AK", "DCP", "DEN", "EPO", "FAC", "HE", "HLT", "HMO", "LTC", "LTD", "MM",
    "MOD", "PDG", "POS", "PPO", "PRA", "STD", "UR", "VIS",
];

/// HD05 coverage level codes.
const COVERAGE_LEVELS: &[&str] = &[
    "CHD", "DEP", "E1D", "E2D", "E3D", "E5D", "E6D", "E7D", "E8D", "E9D", "ECH", "EMP", "ESP",
    "FAM", "IND", "SPC", "SPO", "TWO",
];

/// ISA05/ISA07 interchange id qualifiers.
const ID_QUALIFIERS: &[&str] = &["01", "14", "20", "27", "28", "29", "30", "33", "ZZ"];

/// INS08 employment status codes.
const EMPLOYMENT_STATUSES: &[&str] = &["AC", "AO", "AU", "FT", "L1", "PT", "RT", "TE"];

/// A member's maintenance: INS03/HD01 and the INS04 reason sent with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Maintenance {
    /// `021`, reason `28` initial enrollment.
    Add,
    /// `001`, reason `AI` no reason given.
    Change,
    /// `024`, reason `07` termination of benefits.
    Term,
    /// `025`, reason `41` re-enrollment.
    Reinstate,
    /// `030`, reason `XN` notification only.
    Audit,
}

impl Maintenance {
    fn codes(self) -> (&'static str, &'static str) {
        match self {
            Maintenance::Add => ("021", "28"),
            Maintenance::Change => ("001", "AI"),
            Maintenance::Term => ("024", "07"),
            Maintenance::Reinstate => ("025", "41"),
            Maintenance::Audit => ("030", "XN"),
        }
    }

    /// The maintenance a mapped value names: a word or its code.
    fn parse(text: &str) -> Option<Maintenance> {
        Some(match text.trim().to_ascii_lowercase().as_str() {
            "add" | "021" => Maintenance::Add,
            "change" | "001" => Maintenance::Change,
            "term" | "cancel" | "024" => Maintenance::Term,
            "reinstate" | "025" => Maintenance::Reinstate,
            "audit" | "030" => Maintenance::Audit,
            _ => return None,
        })
    }

    /// The maintenance of a lifecycle change.
    fn of_change(kind: ChangeKind) -> Maintenance {
        match kind {
            ChangeKind::Joiner | ChangeKind::Prehire => Maintenance::Add,
            ChangeKind::Mover => Maintenance::Change,
            ChangeKind::Leaver => Maintenance::Term,
            ChangeKind::Rehire => Maintenance::Reinstate,
        }
    }
}

/// Where each member's maintenance comes from.
#[derive(Debug)]
enum MaintenanceFrom {
    /// Every member is `030` (a full file).
    Audit,
    /// The field at this place: a lifecycle change, or a mapped word or code.
    Field(usize),
}

/// The places of the fields a member loop is made of.
#[derive(Debug)]
struct Member {
    subscriber_id: usize,
    relationship: usize,
    last_name: usize,
    first_name: usize,
    ssn: Option<usize>,
    birth_date: usize,
    gender: Option<usize>,
    employment_status: Option<usize>,
    /// Street, city, state, postal code.
    address: Option<[usize; 4]>,
}

#[derive(Debug)]
struct Coverage {
    insurance_line: String,
    plan: Option<usize>,
    level: Option<usize>,
    start: usize,
    end: Option<usize>,
}

/// An 834 output's envelope and member layout, ready to write.
#[derive(Debug)]
pub struct Layout {
    spec: X12Spec,
    /// The output fields' names, for refusals.
    names: Vec<String>,
    maintenance: MaintenanceFrom,
    member: Member,
    coverages: Vec<Coverage>,
}

impl Layout {
    /// The layout `spec` describes for records of `fields`, or its problems at their keys
    /// under `at`.
    pub fn compile(
        spec: &FileOutputSpec,
        fields: &[FieldInfo],
        at: &KeyPath,
    ) -> Result<Layout, Vec<Problem>> {
        let at = at.clone().key("x12");
        let Some(x12) = &spec.x12 else {
            return Err(vec![Problem::new(
                at,
                "an x12-834 output needs [output.x12]: its sender, receiver, sponsor, payer, member fields and coverages",
            )]);
        };
        let mut problems = Vec::new();
        let mut find = Finder {
            fields,
            problems: &mut problems,
        };
        let m = &x12.member;
        let mat = at.clone().key("member");
        let ssn = find.optional(&mat, "ssn", &m.ssn);
        let gender = find.optional(&mat, "gender", &m.gender);
        let employment_status = find.optional(&mat, "employment_status", &m.employment_status);
        let street = find.optional(&mat, "address", &m.address);
        let city = find.optional(&mat, "city", &m.city);
        let state = find.optional(&mat, "state", &m.state);
        let postal = find.optional(&mat, "postal_code", &m.postal_code);
        let member = Member {
            subscriber_id: find.place(mat.clone().key("subscriber_id"), &m.subscriber_id),
            relationship: find.place(mat.clone().key("relationship"), &m.relationship),
            last_name: find.place(mat.clone().key("last_name"), &m.last_name),
            first_name: find.place(mat.clone().key("first_name"), &m.first_name),
            ssn,
            birth_date: find.place(mat.clone().key("birth_date"), &m.birth_date),
            gender,
            employment_status,
            address: match (street, city, state, postal) {
                (Some(a), Some(b), Some(c), Some(d)) => Some([a, b, c, d]),
                (None, None, None, None) => None,
                _ => {
                    find.problems.push(Problem::new(
                        mat.clone(),
                        "give address, city, state and postal_code together, or none of them",
                    ));
                    None
                }
            },
        };
        let mut coverages = Vec::new();
        for (n, c) in x12.coverage.iter().enumerate() {
            let cat = at.clone().key("coverage").index(n);
            if !INSURANCE_LINES.contains(&c.insurance_line.as_str()) {
                find.problems.push(Problem::new(
                    cat.clone().key("insurance_line"),
                    format!(
                        "{:?} is not an X12 insurance line code ({})",
                        c.insurance_line,
                        INSURANCE_LINES.join(", ")
                    ),
                ));
            }
            coverages.push(Coverage {
                insurance_line: c.insurance_line.clone(),
                plan: find.optional(&cat, "plan", &c.plan),
                level: find.optional(&cat, "level", &c.level),
                start: find.place(cat.clone().key("start"), &c.start),
                end: find.optional(&cat, "end", &c.end),
            });
        }
        if coverages.is_empty() {
            find.problems.push(Problem::new(
                at.clone().key("coverage"),
                "give at least one [[output.x12.coverage]]: the benefit each member is enrolled in",
            ));
        }
        let maintenance = match (&x12.maintenance, x12.file) {
            (Some(name), _) => {
                MaintenanceFrom::Field(find.place(at.clone().key("maintenance"), name))
            }
            (None, FileKind::Full) => MaintenanceFrom::Audit,
            (None, FileKind::Changes) => match fields.iter().position(|f| f.name == CHANGE_FIELD) {
                Some(i) => MaintenanceFrom::Field(i),
                None => {
                    find.problems.push(Problem::new(
                        at.clone().key("maintenance"),
                        "a change file needs each member's maintenance type: give the profile [lifecycle], name a field here, or set file = \"full\"",
                    ));
                    MaintenanceFrom::Audit
                }
            },
        };
        problems.extend(envelope_problems(x12, &at));
        match problems.is_empty() {
            true => Ok(Layout {
                spec: X12Spec::clone(x12),
                names: fields.iter().map(|f| f.name.clone()).collect(),
                maintenance,
                member,
                coverages,
            }),
            false => Err(problems),
        }
    }

    /// The places of the fields this output sends.
    pub fn sends(&self) -> Vec<usize> {
        let m = &self.member;
        let mut places = vec![
            m.subscriber_id,
            m.relationship,
            m.last_name,
            m.first_name,
            m.birth_date,
        ];
        places.extend([m.ssn, m.gender, m.employment_status].into_iter().flatten());
        places.extend(m.address.iter().flatten());
        for c in &self.coverages {
            places.extend(
                [c.plan, c.level, Some(c.start), c.end]
                    .into_iter()
                    .flatten(),
            );
        }
        if let MaintenanceFrom::Field(i) = self.maintenance {
            places.push(i);
        }
        places.sort_unstable();
        places.dedup();
        places
    }
}

/// Finds the places of the fields a layout names, noting the names that are no field.
struct Finder<'a> {
    fields: &'a [FieldInfo],
    problems: &'a mut Vec<Problem>,
}

impl Finder<'_> {
    fn place(&mut self, at: KeyPath, name: &str) -> usize {
        match self.fields.iter().position(|f| f.name == name) {
            Some(i) => i,
            None => {
                self.problems.push(Problem::new(
                    at,
                    format!("no output field is named {name:?}"),
                ));
                0
            }
        }
    }

    fn optional(&mut self, at: &KeyPath, key: &str, name: &Option<String>) -> Option<usize> {
        name.as_deref().map(|n| self.place(at.clone().key(key), n))
    }
}

/// The problems of the envelope keys: parties, entities and separators X12 can carry.
fn envelope_problems(x12: &X12Spec, at: &KeyPath) -> Vec<Problem> {
    let mut problems = Vec::new();
    let text = |at: KeyPath, value: &str, (min, max): (usize, usize)| {
        let length = value.chars().count();
        if length < min || length > max {
            Some(Problem::new(
                at,
                format!("must be {min} to {max} characters, not {length}"),
            ))
        } else {
            unwritable(value, &x12.separators).map(|why| Problem::new(at, why))
        }
    };
    for (key, party) in [("sender", &x12.sender), ("receiver", &x12.receiver)] {
        problems.extend(text(at.clone().key(key).key("id"), &party.id, (2, 15)));
        if !ID_QUALIFIERS.contains(&party.qualifier.as_str()) {
            problems.push(Problem::new(
                at.clone().key(key).key("qualifier"),
                format!(
                    "an interchange id qualifier is one of {}",
                    ID_QUALIFIERS.join(", ")
                ),
            ));
        }
    }
    let entities = [
        ("sponsor", &x12.sponsor, &["24", "94", "FI"][..]),
        ("payer", &x12.payer, &["94", "FI", "XV"][..]),
    ];
    for (key, entity, qualifiers) in entities {
        problems.extend(text(at.clone().key(key).key("name"), &entity.name, (1, 60)));
        problems.extend(text(at.clone().key(key).key("id"), &entity.id, (2, 80)));
        if !qualifiers.contains(&entity.qualifier.as_str()) {
            problems.push(Problem::new(
                at.clone().key(key).key("qualifier"),
                format!(
                    "the {key}'s id qualifier is one of {}",
                    qualifiers.join(", ")
                ),
            ));
        }
    }
    if let Some(policy) = &x12.policy_number {
        problems.extend(text(at.clone().key("policy_number"), policy, (1, 50)));
    }
    let s = &x12.separators;
    let all = [s.element, s.segment, s.component, s.repetition];
    let distinct = (0..4).all(|i| (i + 1..4).all(|j| all[i] != all[j]));
    if !distinct
        || all
            .iter()
            .any(|c| c.is_alphanumeric() || c.is_whitespace() || !c.is_ascii())
    {
        problems.push(Problem::new(
            at.clone().key("separators"),
            "the four separators must be different ASCII characters, none a letter, digit or space",
        ));
    }
    problems
}

/// Why `value` cannot stand in an element: a separator, or a character outside X12's
/// extended character set (letters, digits, space and ASCII punctuation).
fn unwritable(value: &str, s: &Separators) -> Option<String> {
    if let Some(c) = value
        .chars()
        .find(|&c| [s.element, s.segment, s.component, s.repetition].contains(&c))
    {
        return Some(format!("holds {c:?}, a separator of the interchange"));
    }
    if value.chars().any(|c| !(c.is_ascii_graphic() || c == ' ')) {
        return Some(
            "holds characters an X12 file cannot carry (only letters A-Z, digits, spaces and ASCII punctuation); fold them in the profile (transform = [\"ascii_fold\"])"
                .into(),
        );
    }
    None
}

/// Semantic checks of an output's `[output.x12]`: on an x12-834 output, its layout's
/// problems and that its date fields are dates and its maintenance source is one; on any
/// other, that the table is not there.
pub fn check(spec: &FileOutputSpec, profile: &Profile, at: &KeyPath) -> Vec<Problem> {
    if spec.format != OutputFormat::X12 {
        return match spec.x12 {
            Some(_) => vec![Problem::new(
                at.clone().key("x12"),
                "[output.x12] is for X12 834 outputs (format = \"x12-834\")",
            )],
            None => Vec::new(),
        };
    }
    let mut problems = Vec::new();
    if spec.delimiter.is_some() {
        problems.push(Problem::new(
            at.clone().key("delimiter"),
            "an X12 output has no delimiter: set [output.x12.separators]",
        ));
    }
    if let Err(found) = Layout::compile(spec, &super::output_fields(profile), at) {
        problems.extend(found);
        return problems;
    }
    let Some(x12) = &spec.x12 else {
        return problems;
    };
    let kind = |name: &str| {
        profile
            .fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.kind)
    };
    let at = at.clone().key("x12");
    let mut dates = vec![(
        at.clone().key("member").key("birth_date"),
        &x12.member.birth_date,
    )];
    for (n, c) in x12.coverage.iter().enumerate() {
        let cat = at.clone().key("coverage").index(n);
        dates.push((cat.clone().key("start"), &c.start));
        if let Some(end) = &c.end {
            dates.push((cat.key("end"), end));
        }
    }
    for (at, name) in dates {
        if kind(name) != Some(FieldType::Date) {
            problems.push(Problem::new(
                at,
                format!(
                    "{name:?} is not a date field (type = \"date\"): X12 writes it as CCYYMMDD"
                ),
            ));
        }
    }
    let mut needed = vec![
        &x12.member.subscriber_id,
        &x12.member.relationship,
        &x12.member.last_name,
    ];
    needed.extend(x12.coverage.iter().map(|c| &c.start));
    let pii = needed
        .into_iter()
        .find(|name| profile.fields.iter().any(|f| &&f.name == name && f.pii));
    let terminates = profile.lifecycle.as_ref().map(|l| l.absent) == Some(Absent::Terminate);
    if let (true, Some(name)) = (terminates, pii) {
        problems.push(Problem::new(
            KeyPath::root().key("lifecycle").key("absent"),
            format!(
                "a member gone from the roster would be terminated with what the snapshot keeps, which is no PII: the 834 needs {name:?}; set absent = \"ignore\" and send terminations as rows whose status_field says so"
            ),
        ));
    }
    if profile.lifecycle.is_some() && x12.maintenance.is_some() {
        problems.push(Problem::new(
            at.key("maintenance"),
            "a lifecycle profile's members get their maintenance type from their change; leave maintenance out",
        ));
    }
    problems
}

/// Writes an 834 interchange: the envelope's opening at once, a member loop per record, the
/// counts and closing at the end.
pub struct X12Encoder<W: Write> {
    out: W,
    layout: Layout,
    stamp: Stamp,
    /// Segments from ST on, for SE01.
    segments: u64,
    buffer: String,
}

impl<W: Write> X12Encoder<W> {
    /// Starts the interchange: ISA, GS, ST, BGN, the policy number, sponsor and payer.
    pub fn new(out: W, layout: Layout, stamp: Stamp) -> io::Result<Self> {
        let mut encoder = X12Encoder {
            out,
            layout,
            stamp,
            segments: 0,
            buffer: String::new(),
        };
        let x12 = &encoder.layout.spec;
        let control = encoder.control();
        let date = stamp.today.format("%Y%m%d").to_string();
        let time = stamp.now.format("%H%M").to_string();
        let usage = match x12.usage {
            Usage::Test => "T",
            Usage::Production => "P",
        };
        let (s, r) = (&x12.sender, &x12.receiver);
        let mut head = Segments::new(&x12.separators);
        head.push(&[
            "ISA",
            "00",
            &" ".repeat(10),
            "00",
            &" ".repeat(10),
            &s.qualifier,
            &format!("{:<15}", s.id),
            &r.qualifier,
            &format!("{:<15}", r.id),
            &date[2..],
            &time,
            &x12.separators.repetition.to_string(),
            "00501",
            &format!("{control:09}"),
            "0",
            usage,
            &x12.separators.component.to_string(),
        ]);
        let group = control.to_string();
        head.push(&["GS", "BE", &s.id, &r.id, &date, &time, &group, "X", GUIDE]);
        let before = head.count;
        head.push(&["ST", "834", "0001", GUIDE]);
        let action = match x12.file {
            FileKind::Changes => "2",
            FileKind::Full => "4",
        };
        head.push(&["BGN", "00", &group, &date, &time, "", "", "", action]);
        if let Some(policy) = &x12.policy_number {
            head.push(&["REF", "38", policy]);
        }
        for (code, e) in [("P5", &x12.sponsor), ("IN", &x12.payer)] {
            head.push(&["N1", code, &e.name, &e.qualifier, &e.id]);
        }
        encoder.segments = head.count - before;
        encoder.out.write_all(head.text.as_bytes())?;
        Ok(encoder)
    }

    /// ISA13 and GS06: the profile's sequence number (ISA13 has nine digits).
    fn control(&self) -> u64 {
        self.stamp.seq % 1_000_000_000
    }

    /// Why `rec` cannot make a member loop, if it cannot. A lifecycle record's change is not
    /// known yet here (it is added when the record is written): it is not looked at.
    pub fn refusal(&self, rec: &MappedRecord) -> Option<Refusal> {
        let mut scratch = Segments::new(&self.layout.spec.separators);
        self.member(rec, &mut scratch).err()
    }

    /// Writes one member loop; a record that [`Self::refusal`] refuses is an error.
    pub fn write(&mut self, rec: &MappedRecord) -> io::Result<()> {
        let mut loop_ = Segments::new(&self.layout.spec.separators);
        loop_.text = std::mem::take(&mut self.buffer);
        loop_.text.clear();
        if let Err(why) = self.member(rec, &mut loop_) {
            return Err(io::Error::other(format!(
                "field {:?}: {}",
                why.field, why.reason
            )));
        }
        self.segments += loop_.count;
        self.out.write_all(loop_.text.as_bytes())?;
        self.buffer = loop_.text;
        Ok(())
    }

    /// Closes the interchange (SE with the segment count, GE, IEA) and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        let control = self.control();
        let mut tail = Segments::new(&self.layout.spec.separators);
        tail.push(&["SE", &(self.segments + 1).to_string(), "0001"]);
        tail.push(&["GE", "1", &control.to_string()]);
        tail.push(&["IEA", "1", &format!("{control:09}")]);
        self.out.write_all(tail.text.as_bytes())?;
        Ok(self.out)
    }

    /// The writer, the interchange left open (the file is abandoned).
    pub fn into_inner(self) -> W {
        self.out
    }

    /// The member loop of `rec`, added to `out`; or the field that stops it and why.
    fn member(&self, rec: &MappedRecord, out: &mut Segments<'_>) -> Result<(), Refusal> {
        let layout = &self.layout;
        let m = &layout.member;
        let get = |i: usize| rec.values.get(i);
        let name = |i: usize| layout.names[i].clone();
        let value = |i: usize, (min, max): (usize, usize)| -> Result<Option<String>, Refusal> {
            let text = match get(i) {
                None | Some(Value::Null) => return Ok(None),
                Some(v) => v.text().trim().to_string(),
            };
            if text.is_empty() {
                return Ok(None);
            }
            let refuse = |reason: String| Refusal {
                field: name(i),
                reason,
            };
            if let Some(why) = unwritable(&text, &layout.spec.separators) {
                return Err(refuse(why));
            }
            let length = text.chars().count();
            if length < min || length > max {
                return Err(refuse(format!(
                    "is {length} characters; its X12 element holds {min} to {max}"
                )));
            }
            Ok(Some(text))
        };
        let required = |i: usize, range| {
            value(i, range)?.ok_or_else(|| Refusal {
                field: name(i),
                reason: "is empty; an 834 member loop needs it".into(),
            })
        };
        let code = |i: usize, codes: &[&str], what: &str| -> Result<Option<String>, Refusal> {
            match value(i, (1, 3))? {
                Some(c) if !codes.contains(&c.as_str()) => Err(Refusal {
                    field: name(i),
                    reason: format!("is not an X12 {what} code ({})", codes.join(", ")),
                }),
                other => Ok(other),
            }
        };
        let date = |i: usize| -> Result<Option<String>, Refusal> {
            match value(i, (1, 35))? {
                None => Ok(None),
                Some(text) => ccyymmdd(&text).map(Some).ok_or_else(|| Refusal {
                    field: name(i),
                    reason: "is not a date (YYYY-MM-DD or YYYYMMDD)".into(),
                }),
            }
        };
        let subscriber_id = required(m.subscriber_id, (1, 50))?;
        let relationship =
            code(m.relationship, RELATIONSHIPS, "relationship")?.ok_or_else(|| Refusal {
                field: name(m.relationship),
                reason: "is empty; an 834 member loop needs the relationship code".into(),
            })?;
        let last = required(m.last_name, (1, 60))?;
        let first = value(m.first_name, (1, 35))?;
        let ssn = match m.ssn {
            None => None,
            Some(i) => match value(i, (1, 11))? {
                None => None,
                Some(text) => {
                    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
                    if digits.len() != 9 || text.chars().any(|c| !c.is_ascii_digit() && c != '-') {
                        return Err(Refusal {
                            field: name(i),
                            reason: "is not a Social Security number (9 digits)".into(),
                        });
                    }
                    Some(digits)
                }
            },
        };
        let birth = date(m.birth_date)?;
        let gender = match m.gender {
            Some(i) => code(i, &["F", "M", "U"], "gender")?,
            None => None,
        };
        let status = match m.employment_status {
            Some(i) => code(i, EMPLOYMENT_STATUSES, "employment status")?,
            None => None,
        };
        let address = match m.address {
            None => None,
            Some([street, city, state, postal]) => {
                match (
                    value(street, (1, 55))?,
                    value(city, (2, 30))?,
                    value(state, (2, 2))?,
                    value(postal, (3, 15))?,
                ) {
                    (Some(a), Some(b), Some(c), Some(d)) => Some([a, b, c, d]),
                    (None, None, None, None) => None,
                    _ => {
                        return Err(Refusal {
                            field: name(street),
                            reason: "the address is incomplete: street, city, state and postal code go together".into(),
                        })
                    }
                }
            }
        };
        let maintenance = match layout.maintenance {
            MaintenanceFrom::Audit => Maintenance::Audit,
            MaintenanceFrom::Field(i) => match get(i) {
                // Not known yet (a lifecycle record being admitted), or an unchanged person of
                // a roster output: audit.
                None | Some(Value::Null) => Maintenance::Audit,
                Some(v) => {
                    let text = v.text();
                    ChangeKind::parse(&text)
                        .map(Maintenance::of_change)
                        .or_else(|| Maintenance::parse(&text))
                        .ok_or_else(|| Refusal {
                            field: name(i),
                            reason: "is not a maintenance type (add, change, term, reinstate, audit, or 021, 001, 024, 025, 030)".into(),
                        })?
                }
            },
        };
        let mut hd = Vec::new();
        for c in &layout.coverages {
            let plan = match c.plan {
                Some(i) => value(i, (1, 50))?,
                None => None,
            };
            let level = match c.level {
                Some(i) => code(i, COVERAGE_LEVELS, "coverage level")?,
                None => None,
            };
            let start = date(c.start)?.ok_or_else(|| Refusal {
                field: name(c.start),
                reason: "is empty; a coverage needs its start date".into(),
            })?;
            let end = match c.end {
                Some(i) => date(i)?,
                None => None,
            };
            hd.push((c, plan, level, start, end));
        }

        let (ins03, ins04) = maintenance.codes();
        let subscriber = relationship == "18";
        let today = self.stamp.today.format("%Y%m%d").to_string();
        out.push(&[
            "INS",
            if subscriber { "Y" } else { "N" },
            &relationship,
            ins03,
            ins04,
            "A",
            "",
            "",
            if subscriber {
                status.as_deref().unwrap_or("")
            } else {
                ""
            },
        ]);
        out.push(&["REF", "0F", &subscriber_id]);
        let ended = |end: &Option<String>| match (maintenance, end) {
            (_, Some(end)) => Some(end.clone()),
            (Maintenance::Term, None) => Some(today.clone()),
            _ => None,
        };
        if maintenance == Maintenance::Term {
            if let Some(end) = hd.iter().find_map(|h| ended(&h.4)) {
                out.push(&["DTP", "357", "D8", &end]);
            }
        }
        let first = first.unwrap_or_default();
        match &ssn {
            Some(ssn) => out.push(&["NM1", "IL", "1", &last, &first, "", "", "", "34", ssn]),
            None => out.push(&["NM1", "IL", "1", &last, &first]),
        }
        if let Some([street, city, state, postal]) = &address {
            out.push(&["N3", street]);
            out.push(&["N4", city, state, postal]);
        }
        if let Some(birth) = &birth {
            out.push(&["DMG", "D8", birth, gender.as_deref().unwrap_or("U")]);
        }
        for (c, plan, level, start, end) in &hd {
            out.push(&[
                "HD",
                ins03,
                "",
                &c.insurance_line,
                plan.as_deref().unwrap_or(""),
                level.as_deref().unwrap_or(""),
            ]);
            out.push(&["DTP", "348", "D8", start]);
            if let Some(end) = ended(end) {
                out.push(&["DTP", "349", "D8", &end]);
            }
        }
        Ok(())
    }
}

/// Segments being written: elements joined by the element separator, each segment ended by
/// the segment terminator and a line break (which X12 readers skip), trailing empty elements
/// left out.
struct Segments<'a> {
    separators: &'a Separators,
    text: String,
    count: u64,
}

impl<'a> Segments<'a> {
    fn new(separators: &'a Separators) -> Segments<'a> {
        Segments {
            separators,
            text: String::new(),
            count: 0,
        }
    }

    fn push(&mut self, elements: &[&str]) {
        let used = elements
            .iter()
            .rposition(|e| !e.is_empty())
            .map_or(0, |i| i + 1);
        for (n, element) in elements[..used].iter().enumerate() {
            if n > 0 {
                self.text.push(self.separators.element);
            }
            self.text.push_str(element);
        }
        self.text.push(self.separators.segment);
        self.text.push('\n');
        self.count += 1;
    }
}

/// A date as X12 writes it (CCYYMMDD), from an ISO date or one already written so.
fn ccyymmdd(text: &str) -> Option<String> {
    let date = crate::kernel::clock::parse_date(text)
        .or_else(|| NaiveDate::parse_from_str(text, "%Y%m%d").ok())?;
    Some(date.format("%Y%m%d").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::record::Position;
    use crate::output::test_fields;

    const NAMES: [&str; 7] = ["id", "rel", "last", "first", "ssn", "dob", "start"];

    const SPEC: &str = r#"
        path = "o.x12"
        format = "x12-834"
        [x12]
        sender = { id = "SENDER" }
        receiver = { qualifier = "30", id = "RECEIVER" }
        usage = "production"
        file = "full"
        sponsor = { name = "Example Corp", id = "990000001" }
        payer = { name = "Example Plan", id = "990000002" }
        [x12.member]
        subscriber_id = "id"
        relationship = "rel"
        last_name = "last"
        first_name = "first"
        ssn = "ssn"
        birth_date = "dob"
        [[x12.coverage]]
        insurance_line = "DEN"
        start = "start"
    "#;

    fn layout(text: &str) -> Result<Layout, Vec<Problem>> {
        let spec: FileOutputSpec = toml::from_str(text).unwrap();
        Layout::compile(&spec, &test_fields(&NAMES), &KeyPath::output(0))
    }

    fn encoder() -> X12Encoder<Vec<u8>> {
        let stamp = Stamp {
            today: NaiveDate::from_ymd_opt(2024, 6, 1).unwrap(),
            now: chrono::DateTime::parse_from_rfc3339("2024-06-01T09:30:00+02:00").unwrap(),
            seq: 7,
        };
        X12Encoder::new(Vec::new(), layout(SPEC).unwrap(), stamp).unwrap()
    }

    fn member(values: [&str; 7]) -> MappedRecord {
        MappedRecord {
            pos: Position::new("roster.csv".into(), 2),
            values: values
                .iter()
                .map(|v| match *v {
                    "" => Value::Null,
                    v => Value::Text(v.to_string()),
                })
                .collect(),
        }
    }

    const GOOD: [&str; 7] = [
        "00101",
        "18",
        "Doe",
        "Jane",
        "900-12-3456",
        "1980-01-15",
        "2024-06-01",
    ];

    #[test]
    fn an_interchange_is_enveloped_counted_and_numbered_by_the_sequence() {
        let mut enc = encoder();
        enc.write(&member(GOOD)).unwrap();
        let mut child = GOOD;
        (child[1], child[3], child[4]) = ("19", "Sam", "");
        enc.write(&member(child)).unwrap();
        let text = String::from_utf8(enc.finish().unwrap()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "ISA*00*          *00*          *ZZ*SENDER         *30*RECEIVER       *240601*0930*^*00501*000000007*0*P*:~"
        );
        assert_eq!(lines[0].len(), 106);
        assert_eq!(
            lines[1],
            "GS*BE*SENDER*RECEIVER*20240601*0930*7*X*005010X220A1~"
        );
        assert_eq!(lines[3], "BGN*00*7*20240601*0930****4~");
        assert_eq!(
            lines[6..12],
            [
                "INS*Y*18*030*XN*A~",
                "REF*0F*00101~",
                "NM1*IL*1*Doe*Jane****34*900123456~",
                "DMG*D8*19800115*U~",
                "HD*030**DEN~",
                "DTP*348*D8*20240601~",
            ]
        );
        assert_eq!(lines[12], "INS*N*19*030*XN*A~");
        let st = lines.iter().position(|l| l.starts_with("ST*")).unwrap();
        let se = lines.iter().position(|l| l.starts_with("SE*")).unwrap();
        assert_eq!(lines[se], format!("SE*{}*0001~", se - st + 1));
        assert_eq!(lines[se + 1..], ["GE*1*7~", "IEA*1*000000007~"]);
    }

    #[test]
    fn a_record_that_cannot_make_a_member_loop_is_refused_by_field_without_its_value() {
        let enc = encoder();
        let refused = |at: usize, value: &str| {
            let mut values = GOOD;
            values[at] = value;
            enc.refusal(&member(values))
                .unwrap_or_else(|| panic!("{value:?} was taken"))
        };
        let cases = [
            (0, "", "is empty"),
            (1, "99", "is not an X12 relationship code"),
            (2, "O*Brien", "a separator of the interchange"),
            (2, "Nguyễn", "cannot carry"),
            (
                3,
                &"J".repeat(36),
                "is 36 characters; its X12 element holds 1 to 35",
            ),
            (4, "12345", "is not a Social Security number"),
            (5, "15/01/1980", "is not a date"),
            (6, "", "a coverage needs its start date"),
        ];
        for (at, value, says) in cases {
            let why = refused(at, value);
            assert_eq!(why.field, NAMES[at]);
            assert!(why.reason.contains(says), "{value:?}: {}", why.reason);
            if !value.is_empty() {
                assert!(!why.reason.contains(value), "{}", why.reason);
            }
        }
        assert_eq!(enc.refusal(&member(GOOD)), None);
    }

    #[test]
    fn envelopes_x12_cannot_carry_are_problems_at_their_keys() {
        let cases = [
            (
                "id = \"SENDER\"",
                "id = \"A-SENDER-NAME-TOO-LONG\"",
                "output[0].x12.sender.id",
                "2 to 15",
            ),
            (
                "qualifier = \"30\"",
                "qualifier = \"QQ\"",
                "output[0].x12.receiver.qualifier",
                "one of",
            ),
            (
                "insurance_line = \"DEN\"",
                "insurance_line = \"XYZ\"",
                "output[0].x12.coverage[0].insurance_line",
                "not an X12 insurance line",
            ),
            (
                "start = \"start\"",
                "start = \"begin\"",
                "output[0].x12.coverage[0].start",
                "no output field",
            ),
            (
                "file = \"full\"",
                "",
                "output[0].x12.maintenance",
                "maintenance type",
            ),
            (
                "usage = \"production\"",
                "usage = \"production\"\nseparators = { element = \":\" }",
                "output[0].x12.separators",
                "different",
            ),
            (
                "name = \"Example Corp\"",
                "name = \"Example*Corp\"",
                "output[0].x12.sponsor.name",
                "separator",
            ),
        ];
        for (from, to, at, says) in cases {
            let problems = layout(&SPEC.replace(from, to)).unwrap_err();
            assert!(
                problems
                    .iter()
                    .any(|p| p.at.to_string() == at && p.message.contains(says)),
                "{to}: {problems:?}"
            );
        }
    }

    #[test]
    fn a_profile_check_wants_dates_a_maintenance_source_and_names_it_can_keep() {
        let profile = |extra: &str, output: &str| {
            let fields: String = NAMES
                .iter()
                .map(|n| {
                    let kind = if ["dob", "start"].contains(n) {
                        "type = \"date\"\n"
                    } else {
                        ""
                    };
                    let pii = if *n == "last" { "pii = true\n" } else { "" };
                    format!("[[field]]\nname = \"{n}\"\nfrom = \"{n}\"\n{kind}{pii}")
                })
                .collect();
            let body = output.replace("[x12", "[output.x12");
            crate::profile::fixtures::profile_of(&format!(
                "{extra}\n{fields}\n[[output]]\ntype = \"file\"\n{body}"
            ))
        };
        let problems = |p: &Profile| -> Vec<String> {
            let spec = crate::output::open::open(&p.outputs[0]).file().unwrap();
            check(spec, p, &KeyPath::output(0))
                .iter()
                .map(|p| format!("{}: {}", p.at, p.message))
                .collect()
        };
        assert_eq!(problems(&profile("", SPEC)), Vec::<String>::new());
        let undated = profile("", &SPEC.replace("start = \"start\"", "start = \"first\""));
        assert!(problems(&undated)[0]
            .starts_with("output[0].x12.coverage[0].start: \"first\" is not a date field"));
        let lifecycle = profile(
            "[lifecycle]\nmode = \"snapshot\"",
            &SPEC.replace("file = \"full\"\n", ""),
        );
        assert_eq!(
            problems(&lifecycle),
            ["lifecycle.absent: a member gone from the roster would be terminated with what the snapshot keeps, which is no PII: the 834 needs \"last\"; set absent = \"ignore\" and send terminations as rows whose status_field says so"]
        );
        let csv = profile(
            "",
            &SPEC.replace("format = \"x12-834\"", "format = \"csv\""),
        );
        assert_eq!(
            problems(&csv),
            ["output[0].x12: [output.x12] is for X12 834 outputs (format = \"x12-834\")"]
        );
    }
}
