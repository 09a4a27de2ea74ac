//! The seeded population both simulated CRMs draw from: people, organisations and sales reps.
//!
//! Both sides seed from one universe so that their data overlaps the way two CRMs of one
//! company do (some HubSpot contacts are Salesforce Leads or Contacts with the same email,
//! some companies are Accounts with the same name). Same seed, same universe.

use chrono::{DateTime, TimeZone, Utc};

const FIRST: &[&str] = &[
    "Aiko", "Ben", "Carla", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi",
    "Liam", "Mei", "Noah", "Olga", "Pablo", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera", "Wen",
    "Ximena", "Yusuf", "Zoe",
];
const LAST: &[&str] = &[
    "Abe", "Brown", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito", "Jensen",
    "Kowalski", "Lopez", "Murphy", "Nakamura", "Okafor", "Petrov", "Quist", "Rossi", "Sato",
    "Tanaka", "Usman", "Varga", "Weber", "Xu", "Yamada", "Zhang",
];
const ORG_A: &[&str] = &[
    "North", "Blue", "Silver", "Bright", "Iron", "Green", "Swift", "Clear", "Red", "Summit",
    "Harbor", "Maple",
];
const ORG_B: &[&str] = &[
    "wind", "field", "stone", "path", "works", "labs", "bridge", "point", "line", "forge", "peak",
    "wave",
];
const ORG_SUFFIX: &[&str] = &["Inc", "GmbH", "KK", "Ltd", "LLC", "SA"];
const TITLES: &[&str] = &[
    "CEO",
    "CTO",
    "VP Sales",
    "Marketing Manager",
    "Head of RevOps",
    "Sales Director",
    "Engineer",
    "Analyst",
];
const COUNTRIES: &[&str] = &[
    "Japan",
    "Germany",
    "United States",
    "France",
    "Brazil",
    "India",
    "Kenya",
];
const CITIES: &[&str] = &[
    "Tokyo", "Berlin", "Austin", "Lyon", "Recife", "Pune", "Nairobi",
];

#[derive(Debug, Clone)]
pub struct Person {
    pub first: String,
    pub last: String,
    pub email: String,
    pub phone: String,
    pub title: String,
    pub country: String,
    pub city: String,
    /// Index into `Universe::orgs`.
    pub org: usize,
    /// Index into `Universe::reps`.
    pub owner: usize,
    pub created: DateTime<Utc>,
    /// 0..8 along the funnel (subscriber .. other), skewed to the early stages.
    pub stage: usize,
}

#[derive(Debug, Clone)]
pub struct Org {
    pub name: String,
    pub domain: String,
    pub industry: usize,
    pub employees: u32,
    pub revenue: u64,
    pub city: String,
    pub country: String,
    pub owner: usize,
    pub created: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Rep {
    pub first: String,
    pub last: String,
    pub email: String,
}

#[derive(Debug, Clone)]
pub struct Universe {
    pub people: Vec<Person>,
    pub orgs: Vec<Org>,
    pub reps: Vec<Rep>,
}

fn pick<'a>(rng: &mut fastrand::Rng, from: &[&'a str]) -> &'a str {
    from[rng.usize(..from.len())]
}

/// A creation time between 2025-01-01 and 2026-06-30, from the seed (never the wall clock).
pub fn seeded_time(rng: &mut fastrand::Rng) -> DateTime<Utc> {
    let start = Utc
        .with_ymd_and_hms(2025, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default();
    start + chrono::Duration::milliseconds(rng.i64(0..546 * 86_400_000))
}

impl Universe {
    pub fn new(seed: u64, people: usize, orgs: usize) -> Universe {
        let mut rng = fastrand::Rng::with_seed(seed);
        let orgs = orgs.max(1);
        let reps: Vec<Rep> = (0..6)
            .map(|i| {
                let (first, last) = (
                    FIRST[(i * 5 + 3) % FIRST.len()],
                    LAST[(i * 7 + 2) % LAST.len()],
                );
                Rep {
                    first: first.into(),
                    last: last.into(),
                    email: format!(
                        "{}.{}@acme-sim.example.com",
                        first.to_lowercase(),
                        last.to_lowercase()
                    ),
                }
            })
            .collect();
        let org_list: Vec<Org> = (0..orgs)
            .map(|i| {
                let base = format!("{}{}", pick(&mut rng, ORG_A), pick(&mut rng, ORG_B));
                let slug = format!("{}{}", base.to_lowercase(), i);
                let c = rng.usize(..COUNTRIES.len());
                Org {
                    name: format!("{base} {} {}", pick(&mut rng, ORG_SUFFIX), i),
                    domain: format!("{slug}.example"),
                    industry: rng.usize(..8),
                    employees: rng.u32(5..5000),
                    revenue: rng.u64(100..50_000) * 1000,
                    city: CITIES[c].into(),
                    country: COUNTRIES[c].into(),
                    owner: rng.usize(..reps.len()),
                    created: seeded_time(&mut rng),
                }
            })
            .collect();
        let people = (0..people)
            .map(|i| {
                let (first, last) = (pick(&mut rng, FIRST), pick(&mut rng, LAST));
                let org = rng.usize(..orgs);
                let c = rng.usize(..COUNTRIES.len());
                // Funnel: most people are early in it.
                let stage = [0, 0, 0, 1, 1, 1, 2, 2, 3, 4, 5, 6][rng.usize(..12)];
                Person {
                    first: first.into(),
                    last: last.into(),
                    email: format!(
                        "{}.{}.{i}@{}",
                        first.to_lowercase(),
                        last.to_lowercase(),
                        org_list[org].domain
                    ),
                    phone: format!("+1-555-{:03}-{:04}", rng.u32(100..999), rng.u32(0..9999)),
                    title: pick(&mut rng, TITLES).into(),
                    country: COUNTRIES[c].into(),
                    city: CITIES[c].into(),
                    org,
                    owner: rng.usize(..reps.len()),
                    created: seeded_time(&mut rng),
                    stage,
                }
            })
            .collect();
        Universe {
            people,
            orgs: org_list,
            reps,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_universe() {
        let (a, b) = (Universe::new(9, 50, 10), Universe::new(9, 50, 10));
        let emails = |u: &Universe| u.people.iter().map(|p| p.email.clone()).collect::<Vec<_>>();
        assert_eq!(emails(&a), emails(&b));
        assert_ne!(emails(&a), emails(&Universe::new(10, 50, 10)));
    }

    #[test]
    fn emails_are_unique() {
        let u = Universe::new(1, 2000, 50);
        let mut e: Vec<&str> = u.people.iter().map(|p| p.email.as_str()).collect();
        e.sort();
        e.dedup();
        assert_eq!(e.len(), 2000);
    }
}
