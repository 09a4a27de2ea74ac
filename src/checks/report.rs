//! The check report: findings grouped by provider or plugin, rendered with colour on a
//! terminal, plain otherwise, or as JSON.

use std::fmt::Write as _;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Info,
    Skipped,
    Warn,
    Error,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Info => "INFO",
            Status::Skipped => "SKIPPED",
            Status::Warn => "WARNING",
            Status::Error => "ERROR",
        }
    }

    fn colour(self) -> &'static str {
        match self {
            Status::Ok => "\x1b[32m",
            Status::Info | Status::Skipped => "\x1b[36m",
            Status::Warn => "\x1b[33m",
            Status::Error => "\x1b[31m",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub group: String,
    pub check: String,
    pub status: Status,
    pub message: String,
    /// What to do, for warnings and errors.
    pub fix: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckReport {
    pub findings: Vec<Finding>,
    /// The round trip's states with their times, when it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub round_trip: Option<crate::sync::roundtrip::RoundTrip>,
    pub seconds: f64,
}

impl CheckReport {
    /// Add the findings of checks that ran on their own (concurrently), in their order.
    pub fn append(&mut self, other: CheckReport) {
        self.findings.extend(other.findings);
    }

    pub fn push(
        &mut self,
        group: &str,
        check: &str,
        status: Status,
        message: impl Into<String>,
        fix: Option<String>,
    ) {
        self.findings.push(Finding {
            group: group.into(),
            check: check.into(),
            status,
            message: message.into(),
            fix,
        });
    }

    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.status == Status::Error)
    }

    /// The findings of one `group.check`.
    pub fn find(&self, group: &str, check: &str) -> Vec<&Finding> {
        self.findings
            .iter()
            .filter(|f| f.group == group && f.check == check)
            .collect()
    }

    pub fn render(&self, colour: bool) -> String {
        let mut out = String::new();
        let mut group = "";
        let paint = |s: Status| {
            if colour {
                format!("{}{}\x1b[0m", s.colour(), s.label())
            } else {
                s.label().to_string()
            }
        };
        for f in &self.findings {
            if f.group != group {
                group = &f.group;
                let _ = writeln!(out, "\n{group}");
                let _ = writeln!(out, "{}", "=".repeat(group.chars().count()));
            }
            let _ = writeln!(out, "- {} {}: {}", paint(f.status), f.check, f.message);
            if let Some(fix) = &f.fix
                && matches!(f.status, Status::Warn | Status::Error)
            {
                let _ = writeln!(out, "    fix: {fix}");
            }
        }
        let count = |s: Status| self.findings.iter().filter(|f| f.status == s).count();
        let _ = writeln!(
            out,
            "\n{} ok, {} warnings, {} errors, {} skipped in {:.2} s",
            count(Status::Ok),
            count(Status::Warn),
            count(Status::Error),
            count(Status::Skipped),
            self.seconds
        );
        out
    }
}
