//! SOQL for the simulator: parse (see `parse.rs`) and evaluate over the org's records.

mod aggregate;
mod dates;
mod eval;
mod parse;
mod related;

pub use eval::run;
pub use parse::{SelectItem, parse, parse_sent};

/// A query the org refuses, with Salesforce's error code and its positioned message.
#[derive(Debug, Clone)]
pub struct SoqlError {
    pub code: &'static str,
    pub message: String,
}

impl SoqlError {
    pub fn malformed(q: &str, pos: usize, text: &str) -> SoqlError {
        SoqlError {
            code: "MALFORMED_QUERY",
            message: positioned(q, pos, text),
        }
    }

    pub fn at(code: &'static str, q: &str, pos: usize, text: &str) -> SoqlError {
        SoqlError {
            code,
            message: positioned(q, pos, text),
        }
    }
}

/// Salesforce's error text: the query line, a caret under the column, and
/// `ERROR at Row:r:Column:c` before the explanation.
pub fn positioned(q: &str, pos: usize, text: &str) -> String {
    let pos = pos.min(q.len());
    let before = &q[..pos];
    let row = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let line_end = q[pos..].find('\n').map(|i| pos + i).unwrap_or(q.len());
    let col = q[line_start..pos].chars().count() + 1;
    format!(
        "\n{}\n{}^\nERROR at Row:{row}:Column:{col}\n{text}",
        &q[line_start..line_end],
        " ".repeat(col - 1)
    )
}
