//! The field sync rules, as the incumbent names them, plus `always_hubspot`: given a field's
//! value on each side and when each record last changed, which side wins and which writes
//! follow. Pure: no I/O, no Lua.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// HubSpot writes only into an empty Salesforce field; a Salesforce value always
    /// overwrites HubSpot (a value cleared in Salesforce is cleared in HubSpot).
    PreferSalesforceUnlessBlank,
    /// Salesforce → HubSpot only; HubSpot never writes.
    AlwaysSalesforce,
    /// The newer record's value wins, in either direction (clearing included).
    TwoWay,
    /// Nothing syncs.
    DontSync,
    /// HubSpot → Salesforce only.
    AlwaysHubspot,
}

impl Rule {
    /// The incumbent's wording, for plans and `explain`.
    pub fn label(self) -> &'static str {
        match self {
            Rule::PreferSalesforceUnlessBlank => "Prefer Salesforce unless blank",
            Rule::AlwaysSalesforce => "Always use Salesforce",
            Rule::TwoWay => "Two-way",
            Rule::DontSync => "Don't sync",
            Rule::AlwaysHubspot => "Always use HubSpot",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Hubspot,
    Salesforce,
}

/// One field's decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    /// Which side's value stands (None: nothing to decide, e.g. both equal or dont_sync).
    pub winner: Option<Side>,
    /// The value to write to HubSpot, if any (Null clears).
    pub write_hubspot: Option<Value>,
    /// The value to write to Salesforce, if any (Null clears).
    pub write_salesforce: Option<Value>,
    /// Why, in one phrase (for dry-run plans and `explain`).
    pub reason: &'static str,
}

impl Decision {
    fn none(reason: &'static str) -> Decision {
        Decision {
            winner: None,
            write_hubspot: None,
            write_salesforce: None,
            reason,
        }
    }
    fn to_hubspot(v: &Value, reason: &'static str) -> Decision {
        Decision {
            winner: Some(Side::Salesforce),
            write_hubspot: Some(v.clone()),
            write_salesforce: None,
            reason,
        }
    }
    fn to_salesforce(v: &Value, reason: &'static str) -> Decision {
        Decision {
            winner: Some(Side::Hubspot),
            write_hubspot: None,
            write_salesforce: Some(v.clone()),
            reason,
        }
    }
}

/// Blank as both CRMs mean it: absent, null, or an empty (or all-space) string.
pub fn blank(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

/// Equal as a sync means it: blanks are equal, numbers by value, strings exactly, and a
/// number equals its decimal string (HubSpot stores every value as a string).
pub fn same(a: &Value, b: &Value) -> bool {
    if blank(a) && blank(b) {
        return true;
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Number(n), Value::String(s)) | (Value::String(s), Value::Number(n)) => {
            s.trim().parse::<f64>().ok() == n.as_f64()
        }
        (Value::Bool(x), Value::String(s)) | (Value::String(s), Value::Bool(x)) => {
            s.eq_ignore_ascii_case(if *x { "true" } else { "false" })
        }
        _ => a == b,
    }
}

/// Decide one field. `hs`/`sf` are the values already converted to a comparable form (the
/// Salesforce value in HubSpot's terms or vice versa is the caller's job); `hs_modified`/
/// `sf_modified` are the records' last modification times.
pub fn decide(
    rule: Rule,
    hs: &Value,
    sf: &Value,
    hs_modified: DateTime<Utc>,
    sf_modified: DateTime<Utc>,
) -> Decision {
    if rule == Rule::DontSync {
        return Decision::none("don't sync");
    }
    if same(hs, sf) {
        return Decision::none("already equal");
    }
    match rule {
        Rule::DontSync => Decision::none("don't sync"),
        Rule::AlwaysSalesforce => Decision::to_hubspot(sf, "Salesforce always wins"),
        Rule::AlwaysHubspot => Decision::to_salesforce(hs, "HubSpot always wins"),
        Rule::PreferSalesforceUnlessBlank => {
            if blank(sf) {
                Decision::to_salesforce(hs, "Salesforce is blank, so HubSpot's value fills it")
            } else {
                Decision::to_hubspot(sf, "Salesforce has a value, so it wins")
            }
        }
        Rule::TwoWay => {
            if sf_modified > hs_modified {
                Decision::to_hubspot(sf, "the Salesforce record changed last")
            } else {
                Decision::to_salesforce(hs, "the HubSpot record changed last")
            }
        }
    }
}

/// [`decide`] for a pair of records linked just now (matched, never synced): a blank never
/// overwrites a value, whatever the rule — which record happened to be edited last says
/// nothing about a field one side simply never had. Where both are filled, the rule
/// decides as it says; a blank is filled only where the rule writes that way.
pub fn decide_first_link(
    rule: Rule,
    hs: &Value,
    sf: &Value,
    hs_modified: DateTime<Utc>,
    sf_modified: DateTime<Utc>,
) -> Decision {
    let d = decide(rule, hs, sf, hs_modified, sf_modified);
    let (hs_blank, sf_blank) = (blank(hs), blank(sf));
    let blanks_one = (d.write_salesforce.is_some() && hs_blank && !sf_blank)
        || (d.write_hubspot.is_some() && sf_blank && !hs_blank);
    if !blanks_one {
        return d;
    }
    const REASON: &str = "linked just now: a blank never overwrites a value";
    match rule {
        Rule::TwoWay if hs_blank => Decision::to_hubspot(sf, REASON),
        Rule::TwoWay => Decision::to_salesforce(hs, REASON),
        _ => Decision::none(REASON),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn at_first_link_a_blank_never_overwrites_a_value() {
        // A CFO in HubSpot meets a newer Salesforce Lead without a title.
        let d = decide_first_link(Rule::TwoWay, &json!("CFO"), &json!(null), t(EARLY), t(LATE));
        assert_eq!(
            (d.write_salesforce, d.write_hubspot),
            (Some(json!("CFO")), None)
        );
        let d = decide_first_link(Rule::TwoWay, &json!(""), &json!("CFO"), t(LATE), t(EARLY));
        assert_eq!(
            (d.write_hubspot, d.write_salesforce),
            (Some(json!("CFO")), None)
        );
        let d = decide_first_link(
            Rule::AlwaysSalesforce,
            &json!("CFO"),
            &json!(null),
            t(EARLY),
            t(LATE),
        );
        assert_eq!(
            (d.write_hubspot, d.write_salesforce),
            (None, None),
            "no clear"
        );
        let d = decide_first_link(
            Rule::TwoWay,
            &json!("CFO"),
            &json!("CEO"),
            t(EARLY),
            t(LATE),
        );
        assert_eq!(
            d.write_hubspot,
            Some(json!("CEO")),
            "both filled: the rule decides"
        );
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    const EARLY: &str = "2026-01-01T00:00:00Z";
    const LATE: &str = "2026-02-01T00:00:00Z";

    #[test]
    fn prefer_salesforce_unless_blank_fills_blanks_and_otherwise_takes_salesforce() {
        let r = Rule::PreferSalesforceUnlessBlank;
        let d = decide(r, &json!("CTO"), &json!(null), t(LATE), t(EARLY));
        assert_eq!(
            (d.write_salesforce, d.write_hubspot),
            (Some(json!("CTO")), None)
        );
        let d = decide(r, &json!("CTO"), &json!("CEO"), t(LATE), t(EARLY));
        assert_eq!(
            (d.write_hubspot, d.write_salesforce),
            (Some(json!("CEO")), None),
            "even when HubSpot is newer"
        );
        let d = decide(r, &json!(""), &json!("  "), t(LATE), t(EARLY));
        assert_eq!(d.winner, None, "two blanks are equal");
    }

    #[test]
    fn always_rules_write_one_way_including_clears() {
        let d = decide(
            Rule::AlwaysSalesforce,
            &json!("x"),
            &json!(null),
            t(LATE),
            t(EARLY),
        );
        assert_eq!(
            (d.write_hubspot, d.write_salesforce),
            (Some(json!(null)), None)
        );
        let d = decide(
            Rule::AlwaysHubspot,
            &json!("x"),
            &json!("y"),
            t(EARLY),
            t(LATE),
        );
        assert_eq!(
            (d.write_salesforce, d.write_hubspot),
            (Some(json!("x")), None)
        );
        assert_eq!(
            decide(Rule::DontSync, &json!("x"), &json!("y"), t(EARLY), t(LATE)).winner,
            None
        );
    }

    #[test]
    fn two_way_takes_the_newer_record_in_either_direction() {
        let d = decide(Rule::TwoWay, &json!("a"), &json!("b"), t(EARLY), t(LATE));
        assert_eq!(d.write_hubspot, Some(json!("b")));
        let d = decide(Rule::TwoWay, &json!("a"), &json!("b"), t(LATE), t(EARLY));
        assert_eq!(d.write_salesforce, Some(json!("a")));
        let d = decide(Rule::TwoWay, &json!(null), &json!("b"), t(LATE), t(EARLY));
        assert_eq!(
            d.write_salesforce,
            Some(json!(null)),
            "a clear on the newer side propagates"
        );
    }

    #[test]
    fn equality_understands_hubspots_strings() {
        assert!(same(&json!("42"), &json!(42)));
        assert!(same(&json!("42.0"), &json!(42)));
        assert!(same(&json!("true"), &json!(true)));
        assert!(same(&json!(null), &json!("")));
        assert!(!same(&json!("a"), &json!("A")));
    }
}
