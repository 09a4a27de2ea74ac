//! Record errors as the incumbent's sync-health cards show them: one group per kind of
//! failure (class, side, object, code and the message with its ids taken out), with a count
//! and the newest record as the example, newest group first.

use chrono::{DateTime, Local, Utc};
use serde::Serialize;

use super::ledger::RecordError;

#[derive(Debug, Clone, Serialize)]
pub struct ErrorGroup {
    pub class: String,
    pub side: String,
    pub object: String,
    pub code: Option<String>,
    /// The message with what differs per record (ids, numbers) as `…`.
    pub kind: String,
    pub count: usize,
    /// The newest record of the group.
    pub example: RecordError,
}

/// A message's kind: every word that holds a digit is a record's own (an id, a count).
pub fn kind_of(message: &str) -> String {
    message
        .split(' ')
        .map(|w| {
            if w.chars().any(|c| c.is_ascii_digit()) {
                let tail: String = w
                    .chars()
                    .rev()
                    .take_while(|c| matches!(c, ',' | '.' | ':' | ';' | ')' | ']'))
                    .collect();
                format!("…{}", tail.chars().rev().collect::<String>())
            } else {
                w.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

impl ErrorGroup {
    /// A short, stable name of the group (for the sync health page's links).
    pub fn id(&self) -> String {
        use sha2::Digest;
        let key = format!(
            "{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}",
            self.class,
            self.side,
            self.object,
            self.code.as_deref().unwrap_or(""),
            self.kind
        );
        super::records::hex_prefix(&sha2::Sha256::digest(key.as_bytes()), 12)
    }

    /// Whether `e` is one of the group's records.
    pub fn holds(&self, e: &RecordError) -> bool {
        self.is_kind_of(e, &kind_of(&e.message))
    }

    /// Whether `e`, whose message's kind is `kind`, is of this group.
    fn is_kind_of(&self, e: &RecordError, kind: &str) -> bool {
        self.class == e.class
            && self.side == e.side
            && self.object == e.object
            && self.code == e.code
            && self.kind == kind
    }
}

/// Group errors by kind; the newest group first, and within one the newest record is the
/// example.
pub fn group(errors: &[RecordError]) -> Vec<ErrorGroup> {
    let mut groups: Vec<ErrorGroup> = Vec::new();
    for e in errors {
        let kind = kind_of(&e.message);
        match groups.iter_mut().find(|g| g.is_kind_of(e, &kind)) {
            Some(g) => {
                g.count += 1;
                if e.last_at > g.example.last_at {
                    g.example = e.clone();
                }
            }
            None => groups.push(ErrorGroup {
                class: e.class.clone(),
                side: e.side.clone(),
                object: e.object.clone(),
                code: e.code.clone(),
                kind,
                count: 1,
                example: e.clone(),
            }),
        }
    }
    groups.sort_by(|a, b| b.example.last_at.cmp(&a.example.last_at));
    groups
}

/// A ledger time for a person: to the second, in the terminal's zone (`TZ`), with the zone
/// named (`UTC` or its offset).
pub fn human_time(rfc3339: &str) -> String {
    match DateTime::parse_from_rfc3339(rfc3339) {
        Ok(t) => {
            let local = t.with_timezone(&Local);
            if local.offset().local_minus_utc() == 0 {
                t.with_timezone(&Utc)
                    .format("%Y-%m-%d %H:%M:%S UTC")
                    .to_string()
            } else {
                local.format("%Y-%m-%d %H:%M:%S %:z").to_string()
            }
        }
        Err(_) => rfc3339.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(id: &str, message: &str, at: &str) -> RecordError {
        RecordError {
            side: "hubspot".into(),
            object: "companies".into(),
            id: id.into(),
            class: "duplicate".into(),
            code: Some("DUPLICATE_MATCH".into()),
            message: message.into(),
            hint: "merge them".into(),
            retryable: false,
            attempts: 1,
            first_at: at.into(),
            last_at: at.into(),
        }
    }

    #[test]
    fn errors_of_one_kind_make_one_group_with_the_newest_as_example() {
        let errors = [
            error(
                "1",
                "matches Account 0015g00000000J2AAI, which is already linked to HubSpot record 554",
                "2026-12-01T10:00:00+00:00",
            ),
            error(
                "2",
                "matches Account 0015g00000000J9AAI, which is already linked to HubSpot record 12",
                "2026-12-01T11:00:00+00:00",
            ),
            error(
                "3",
                "Required fields are missing: [Name]",
                "2026-12-01T09:00:00+00:00",
            ),
        ];
        let groups = group(&errors);
        assert_eq!(groups.len(), 2);
        assert_eq!((groups[0].count, groups[0].example.id.as_str()), (2, "2"));
        assert_eq!(
            groups[0].kind,
            "matches Account …, which is already linked to HubSpot record …"
        );
        assert_eq!(groups[1].count, 1);
    }

    #[test]
    fn times_are_to_the_second() {
        let t = human_time("2026-12-01T16:04:06.365+00:00");
        assert!(
            t.starts_with("2026-12-01 ") || t.starts_with("2026-12-02 "),
            "{t}"
        );
        assert_eq!(
            t.matches(':').count(),
            if t.ends_with("UTC") { 2 } else { 3 },
            "{t}"
        );
        assert_eq!(human_time("not a time"), "not a time");
    }
}
