//! The soak (tests/common/soak.rs) for as long as asked: `cargo bench --bench soak`
//! (`-- --seconds N`, default 300; `-- --bulk`: from an import large enough to go through
//! Bulk API jobs and HubSpot imports). Prints what it did and what it found; exits non-zero
//! if anything was mismatched, duplicated or lost.

#[path = "../tests/common/soak.rs"]
mod soak;

fn main() {
    let seconds = std::env::args()
        .skip_while(|a| a != "--seconds")
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let start = if std::env::args().any(|a| a == "--bulk") {
        soak::Start::Bulk
    } else {
        soak::Start::Rest
    };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let r = rt.block_on(soak::soak_from(seconds, start));
    println!("{}", r.render());
    if !(r.mismatches.is_empty() && r.duplicates.is_empty() && r.lost.is_empty()) {
        std::process::exit(1);
    }
}
