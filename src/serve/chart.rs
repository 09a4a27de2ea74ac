//! Charts as inline SVG: no script, nothing fetched.

use maud::{Markup, html};

/// Calls per hour over the last day, one bar an hour (oldest left), with the hourly pace
/// that would spend `share` in a day as a dashed line.
pub fn hourly_bars(label: &str, hours: &[u64], share: u64) -> Markup {
    let (w, h, pad) = (480.0_f64, 120.0_f64, 18.0_f64);
    let pace = share as f64 / 24.0;
    let top = hours.iter().copied().max().unwrap_or(0) as f64;
    // Scaled to the busiest hour: the share's pace is drawn only when it is near the bars
    // (at a fifth of the allocation an hour's use would be a sliver under it).
    let pace_shown = share > 0 && pace <= top * 1.5;
    let scale = if pace_shown { top.max(pace) } else { top }.max(1.0);
    let bar_w = (w - pad) / hours.len().max(1) as f64;
    let y = |v: f64| h - pad - (v / scale) * (h - 2.0 * pad);
    let total: u64 = hours.iter().sum();
    html! {
        svg class="chart" viewBox={"0 0 " (w) " " (h)} role="img"
            aria-label={(label) ": " (total) " calls in 24 h"} {
            title { (label) ": " (total) " calls in the last 24 h" }
            @for (i, v) in hours.iter().enumerate() {
                rect x=(format!("{:.1}", pad + i as f64 * bar_w + 1.0))
                    y=(format!("{:.1}", y(*v as f64)))
                    width=(format!("{:.1}", (bar_w - 2.0).max(1.0)))
                    height=(format!("{:.1}", (h - pad - y(*v as f64)).max(0.0))) {
                    title { (v) " calls, " (hours.len() - 1 - i) " h ago" }
                }
            }
            @if pace_shown {
                line class="pace" x1=(pad) x2=(w) y1=(format!("{:.1}", y(pace))) y2=(format!("{:.1}", y(pace))) {}
                text x=(w - 4.0) y=(format!("{:.1}", y(pace) - 4.0)) text-anchor="end" {
                    "share's pace: " (grouped(pace as u64)) "/h"
                }
            } @else if share > 0 {
                text x=(w - 4.0) y="12" text-anchor="end" {
                    "busiest hour " (grouped(top as u64)) " · the share's pace " (grouped(pace as u64)) "/h"
                }
            }
            text x=(pad) y=(h - 4.0) { "24 h ago" }
            text x=(w - 4.0) y=(h - 4.0) text-anchor="end" { "now" }
        }
    }
}

/// Used against an allocation, as a bar.
pub fn used_bar(used: u64, allocation: u64) -> Markup {
    let ratio = if allocation == 0 {
        0.0
    } else {
        (used as f64 / allocation as f64).min(1.0)
    };
    let class = match ratio {
        r if r >= 0.9 => "bar bad",
        r if r >= 0.7 => "bar warn",
        _ => "bar",
    };
    html! {
        svg class=(class) viewBox="0 0 300 14" role="img"
            aria-label={(used) " of " (allocation) " used today"} {
            rect class="track" x="0" y="0" width="300" height="14" rx="3" {}
            rect class="fill" x="0" y="0" width=(format!("{:.1}", 300.0 * ratio)) height="14" rx="3" {}
        }
    }
}

/// 625000 → "625,000".
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(super::grouped(625_000), "625,000");
        assert_eq!(super::grouped(999), "999");
        assert_eq!(super::grouped(1_000_000), "1,000,000");
    }
}
