//! A pass's calls: what both providers' counters said at the end of the last pass, and what
//! a pass made since, by pair, stage and caller. The counters never reset (a pass across
//! midnight still counts right), and a pass counts from where the last one stopped, so the
//! calls plugins make between passes (`on_sync_end`, `on_sync_start`) are in the next one.

use std::collections::BTreeMap;

use crate::api::hubspot::HubspotApi;
use crate::api::salesforce::SalesforceApi;
use crate::budget::CallPlace;
use crate::store::PlacedCalls;

/// Both providers' calls by place at one moment.
#[derive(Debug, Clone, Default)]
pub(super) struct CallMark {
    hubspot: BTreeMap<CallPlace, u64>,
    salesforce: BTreeMap<CallPlace, u64>,
}

impl CallMark {
    pub(super) fn now(hs: &HubspotApi, sf: &SalesforceApi) -> CallMark {
        CallMark {
            hubspot: hs.transport.budget.by_place(),
            salesforce: sf.transport.budget.by_place(),
        }
    }

    /// The calls made between `earlier` and this mark, by provider and place.
    pub(super) fn since(&self, earlier: &CallMark) -> Vec<PlacedCalls> {
        let mut out = Vec::new();
        for (provider, now, then) in [
            ("hubspot", &self.hubspot, &earlier.hubspot),
            ("salesforce", &self.salesforce, &earlier.salesforce),
        ] {
            for (place, n) in now {
                let made = n.saturating_sub(then.get(place).copied().unwrap_or(0));
                if made > 0 {
                    out.push(PlacedCalls {
                        provider: provider.to_string(),
                        pair: place.pair.clone(),
                        stage: place.stage.as_str().to_string(),
                        caller: place.caller.clone(),
                        calls: made,
                    });
                }
            }
        }
        out
    }
}

/// Calls per provider, both named even when none were made.
pub(super) fn per_provider(placed: &[PlacedCalls]) -> BTreeMap<String, u64> {
    let mut totals = BTreeMap::from([("hubspot".to_string(), 0), ("salesforce".to_string(), 0)]);
    for p in placed {
        *totals.entry(p.provider.clone()).or_default() += p.calls;
    }
    totals
}

/// The calls of a pass as the summary shows them: per provider, the pairs and stages
/// that made them (`contact pull 2 · write 3`), setup and plugins named.
pub fn render(placed: &[PlacedCalls]) -> Vec<String> {
    let mut lines = Vec::new();
    for provider in ["hubspot", "salesforce"] {
        let mut by_pair: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for p in placed.iter().filter(|p| p.provider == provider) {
            let pair = p.pair.clone().unwrap_or_else(|| "all pairs".into());
            let who = match p.caller.strip_prefix("plugin:") {
                Some(plugin) => format!(" ({plugin})"),
                None => String::new(),
            };
            by_pair
                .entry(pair)
                .or_default()
                .push(format!("{} {}{who}", p.stage, p.calls));
        }
        if by_pair.is_empty() {
            continue;
        }
        let parts: Vec<String> = by_pair
            .into_iter()
            .map(|(pair, stages)| format!("{pair}: {}", stages.join(" · ")))
            .collect();
        lines.push(format!("{provider} — {}", parts.join("; ")));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::Stage;

    fn place(pair: Option<&str>, stage: Stage, caller: &str) -> CallPlace {
        CallPlace {
            pair: pair.map(str::to_string),
            stage,
            caller: caller.to_string(),
        }
    }

    #[test]
    fn a_pass_counts_what_was_made_since_the_mark_by_place() {
        let earlier = CallMark {
            hubspot: BTreeMap::from([(place(Some("contact"), Stage::Pull, "sync"), 3)]),
            salesforce: BTreeMap::new(),
        };
        let now = CallMark {
            hubspot: BTreeMap::from([
                (place(Some("contact"), Stage::Pull, "sync"), 4),
                (place(Some("contact"), Stage::Write, "plugin:acme"), 2),
            ]),
            salesforce: BTreeMap::from([(place(None, Stage::Setup, "sync"), 6)]),
        };
        let placed = now.since(&earlier);
        assert_eq!(placed.len(), 3);
        let totals = per_provider(&placed);
        assert_eq!((totals["hubspot"], totals["salesforce"]), (3, 6));
        assert_eq!(
            render(&placed),
            [
                "hubspot — contact: pull 1 · write 2 (acme)",
                "salesforce — all pairs: setup 6"
            ]
        );
        assert!(now.since(&now).is_empty());
        assert_eq!(per_provider(&[])["salesforce"], 0);
    }
}
