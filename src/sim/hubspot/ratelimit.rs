//! HubSpot rate limits: a rolling ten-second window per app and portal, a daily quota per
//! portal (reset at midnight, UTC here), and the CRM search API's own per-second limit.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};

use crate::sim::config::HubspotSettings;

const WINDOW: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub struct RateState {
    burst: VecDeque<Instant>,
    search: VecDeque<Instant>,
    day: NaiveDate,
    pub daily_used: u64,
}

impl Default for RateState {
    fn default() -> Self {
        RateState {
            burst: VecDeque::new(),
            search: VecDeque::new(),
            day: Utc::now().date_naive(),
            daily_used: 0,
        }
    }
}

fn prune(q: &mut VecDeque<Instant>, now: Instant, window: Duration) {
    while q.front().is_some_and(|t| now.duration_since(*t) >= window) {
        q.pop_front();
    }
}

impl RateState {
    /// Admit one request or name the policy it trips. On admission, returns the rate-limit
    /// headers the response carries (search responses carry none, as HubSpot's do).
    pub fn admit(
        &mut self,
        s: &HubspotSettings,
        search: bool,
    ) -> Result<Vec<(&'static str, String)>, &'static str> {
        let now = Instant::now();
        let today = Utc::now().date_naive();
        if today != self.day {
            self.day = today;
            self.daily_used = 0;
        }
        if self.daily_used >= s.daily_limit {
            return Err("DAILY");
        }
        if search {
            prune(&mut self.search, now, Duration::from_secs(1));
            if self.search.len() >= s.search_per_second as usize {
                return Err("SECONDLY");
            }
            self.search.push_back(now);
            self.daily_used += 1;
            return Ok(Vec::new());
        }
        prune(&mut self.burst, now, WINDOW);
        if self.burst.len() >= s.burst_per_10s as usize {
            return Err("TEN_SECONDLY_ROLLING");
        }
        self.burst.push_back(now);
        self.daily_used += 1;
        let mut h = vec![
            (
                "X-HubSpot-RateLimit-Interval-Milliseconds",
                "10000".to_string(),
            ),
            ("X-HubSpot-RateLimit-Max", s.burst_per_10s.to_string()),
            (
                "X-HubSpot-RateLimit-Remaining",
                (s.burst_per_10s as usize - self.burst.len()).to_string(),
            ),
        ];
        if s.daily_headers {
            h.push(("X-HubSpot-RateLimit-Daily", s.daily_limit.to_string()));
            h.push((
                "X-HubSpot-RateLimit-Daily-Remaining",
                (s.daily_limit - self.daily_used).to_string(),
            ));
        }
        Ok(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::config::SimConfig;

    #[test]
    fn the_burst_window_admits_its_max_then_trips() {
        let mut s = SimConfig::default().hubspot;
        s.burst_per_10s = 3;
        let mut r = RateState::default();
        for left in ["2", "1", "0"] {
            let h = r.admit(&s, false).unwrap();
            assert_eq!(h[2], ("X-HubSpot-RateLimit-Remaining", left.to_string()));
        }
        assert_eq!(r.admit(&s, false), Err("TEN_SECONDLY_ROLLING"));
    }

    #[test]
    fn search_has_its_own_bucket_and_no_headers() {
        let mut s = SimConfig::default().hubspot;
        s.search_per_second = 2;
        let mut r = RateState::default();
        assert!(r.admit(&s, true).unwrap().is_empty());
        assert!(r.admit(&s, true).is_ok());
        assert_eq!(r.admit(&s, true), Err("SECONDLY"));
        assert!(r.admit(&s, false).is_ok());
    }

    #[test]
    fn the_daily_quota_trips_with_its_own_policy() {
        let mut s = SimConfig::default().hubspot;
        s.daily_limit = 2;
        s.daily_headers = true;
        let mut r = RateState::default();
        let h = r.admit(&s, false).unwrap();
        assert!(h.contains(&("X-HubSpot-RateLimit-Daily-Remaining", "1".to_string())));
        r.admit(&s, true).unwrap();
        assert_eq!(r.admit(&s, false), Err("DAILY"));
    }
}
