//! Hand-written SVG charts (no dependency): cost per million operations against fetch duration
//! with the break-even points marked, and the latency overhead of each proxy design.

use std::fmt::Write;

use crate::analysis::ProfileAnalysis;
use crate::model::Variant;
use crate::profile::LatencyProfile;

const W: f64 = 820.0;
const H: f64 = 460.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 250.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 60.0;

/// The cost chart's file name for a profile.
pub fn cost_file(p: LatencyProfile) -> String {
    format!("cost-{}.svg", p.name())
}

/// The latency chart's file name for a profile.
pub fn latency_file(p: LatencyProfile) -> String {
    format!("latency-overhead-{}.svg", p.name())
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A "nice" upper bound ≥ `x` (1, 2, 2.5 or 5 times a power of ten).
fn nice(x: f64) -> f64 {
    if x <= 0.0 || !x.is_finite() {
        return 1.0;
    }
    let p = 10f64.powf(x.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|v| *v >= x * 0.999_999)
        .unwrap_or(10.0 * p)
}

struct Frame {
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
}

impl Frame {
    fn px(&self, x: f64) -> f64 {
        LEFT + (x - self.x0) / (self.x1 - self.x0) * (W - LEFT - RIGHT)
    }
    fn py(&self, y: f64) -> f64 {
        H - BOTTOM - (y - self.y0) / (self.y1 - self.y0) * (H - TOP - BOTTOM)
    }
}

fn open(s: &mut String, title: &str) {
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="24" font-size="15" font-weight="bold">{}</text>"#,
        LEFT,
        esc(title)
    );
}

fn axes(s: &mut String, f: &Frame, x_label: &str, y_label: &str, x_ticks: &[(f64, String)]) {
    let (l, r, t, b) = (LEFT, W - RIGHT, TOP, H - BOTTOM);
    let _ = writeln!(
        s,
        r##"<g stroke="#999" stroke-width="1"><line x1="{l}" y1="{b}" x2="{r}" y2="{b}"/><line x1="{l}" y1="{t}" x2="{l}" y2="{b}"/></g>"##
    );
    for i in 0..=5 {
        let y = f.y0 + (f.y1 - f.y0) * f64::from(i) / 5.0;
        let py = f.py(y);
        let _ = writeln!(
            s,
            r##"<line x1="{l}" y1="{py:.1}" x2="{r}" y2="{py:.1}" stroke="#eee"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
            l - 6.0,
            py + 4.0,
            fmt_num(y)
        );
    }
    for (x, label) in x_ticks {
        let px = f.px(*x);
        let _ = writeln!(
            s,
            r##"<line x1="{px:.1}" y1="{b}" x2="{px:.1}" y2="{}" stroke="#999"/><text x="{px:.1}" y="{}" text-anchor="middle">{}</text>"##,
            b + 5.0,
            b + 18.0,
            esc(label)
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
        (l + r) / 2.0,
        H - 15.0,
        esc(x_label)
    );
    let _ = writeln!(
        s,
        r#"<text transform="translate(18 {:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
        (t + b) / 2.0,
        esc(y_label)
    );
}

fn fmt_num(y: f64) -> String {
    if y.abs() >= 100.0 || y == 0.0 {
        format!("{y:.0}")
    } else if y.abs() >= 1.0 {
        format!("{y:.1}")
    } else {
        format!("{y:.3}")
    }
}

fn legend(s: &mut String, items: &[(String, &str)]) {
    let x = W - RIGHT + 15.0;
    for (i, (label, colour)) in items.iter().enumerate() {
        let y = TOP + 10.0 + i as f64 * 20.0;
        let _ = writeln!(
            s,
            r#"<rect x="{x}" y="{}" width="14" height="4" fill="{colour}"/><text x="{}" y="{}">{}</text>"#,
            y - 4.0,
            x + 20.0,
            y + 2.0,
            esc(label)
        );
    }
}

/// Cost per million operations against fetch duration: one line per design (least squares
/// over the measured durations, which are drawn as dots), break-even points marked on direct's
/// line with a dashed vertical in the proxy design's colour. Every break-even inside the
/// chart gets one `<circle class="break-even">`.
pub fn cost_chart(p: &ProfileAnalysis) -> String {
    let max_d = p.durations_ms.iter().copied().max().unwrap_or(0) as f64;
    let max_be = p
        .break_even
        .iter()
        .filter_map(|(_, b)| b.ms())
        .fold(0.0, f64::max);
    let x1 = nice((max_d.max(max_be * 1.25)).clamp(1000.0, 120_000.0));
    let mut y1: f64 = 0.0;
    for (_, l) in &p.lines {
        y1 = y1.max(l.at(0.0)).max(l.at(x1));
    }
    for c in &p.cells {
        y1 = y1.max(c.cost.total());
    }
    let f = Frame {
        x0: 0.0,
        x1,
        y0: 0.0,
        y1: nice(y1 * 1.05),
    };
    let mut s = String::new();
    open(
        &mut s,
        &format!(
            "Cost per million operations vs fetch duration (profile {})",
            p.profile.name()
        ),
    );
    let ticks: Vec<(f64, String)> = (0..=5)
        .map(|i| {
            let x = x1 * f64::from(i) / 5.0;
            (x, format!("{:.2} s", x / 1000.0))
        })
        .collect();
    axes(
        &mut s,
        &f,
        "fetch duration",
        "USD per million operations",
        &ticks,
    );
    let _ = writeln!(s, r#"<g clip-path="none">"#);
    for (v, l) in &p.lines {
        // Clip the line to the frame (a steep line may leave it before x1).
        let mut xe = x1;
        if l.slope > 0.0 && l.at(x1) > f.y1 {
            xe = (f.y1 - l.intercept) / l.slope;
        }
        let _ = writeln!(
            s,
            r#"<line class="cost-line" data-design="{}" x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{}" stroke-width="2"/>"#,
            v.key(),
            f.px(0.0),
            f.py(l.at(0.0)),
            f.px(xe),
            f.py(l.at(xe)),
            v.colour()
        );
    }
    for c in &p.cells {
        let _ = writeln!(
            s,
            r#"<circle class="measured" cx="{:.1}" cy="{:.1}" r="3.5" fill="{}"/>"#,
            f.px(c.fetch_ms as f64),
            f.py(c.cost.total()),
            c.variant.colour()
        );
    }
    let direct = p.line(Variant::Direct);
    for (i, (v, b)) in p.break_even.iter().enumerate() {
        let (Some(ms), Some(d)) = (b.ms(), direct) else {
            continue;
        };
        if ms > x1 {
            continue;
        }
        let (px, py) = (f.px(ms), f.py(d.at(ms)));
        let _ = writeln!(
            s,
            r#"<line x1="{px:.1}" y1="{py:.1}" x2="{px:.1}" y2="{}" stroke="{}" stroke-dasharray="4 3"/><circle class="break-even" data-design="{}" data-ms="{ms:.1}" cx="{px:.1}" cy="{py:.1}" r="5" fill="none" stroke="{}" stroke-width="2"/><text x="{:.1}" y="{:.1}" fill="{}">{}</text>"#,
            H - BOTTOM,
            v.colour(),
            v.key(),
            v.colour(),
            px + 6.0,
            py - 8.0 - 14.0 * i as f64,
            v.colour(),
            esc(&format!("break-even {}", b.describe()))
        );
    }
    let orig = crate::original::ORIGINAL_BREAK_EVEN_MS;
    if orig <= x1 {
        let px = f.px(orig);
        let _ = writeln!(
            s,
            r##"<line class="original-break-even" x1="{px:.1}" y1="{}" x2="{px:.1}" y2="{}" stroke="#aaa" stroke-dasharray="2 4"/><text x="{:.1}" y="{}" fill="#888" font-size="11">original's estimate {:.1} s</text>"##,
            TOP,
            H - BOTTOM,
            px + 4.0,
            TOP + 12.0,
            orig / 1000.0
        );
    }
    let _ = writeln!(s, "</g>");
    let items: Vec<(String, &str)> = Variant::ALL
        .iter()
        .map(|v| (v.label().to_string(), v.colour()))
        .collect();
    legend(&mut s, &items);
    s.push_str("</svg>\n");
    s
}

/// Mean latency overhead over direct of each proxy design, grouped by fetch duration.
pub fn latency_chart(p: &ProfileAnalysis) -> String {
    let proxies = &Variant::ALL[1..];
    let vals: Vec<f64> = p
        .cells
        .iter()
        .filter(|c| c.variant != Variant::Direct)
        .map(|c| c.overhead_mean_ms)
        .collect();
    let hi = vals.iter().copied().fold(0.0, f64::max);
    let lo = vals.iter().copied().fold(0.0, f64::min);
    let f = Frame {
        x0: 0.0,
        x1: p.durations_ms.len().max(1) as f64,
        y0: if lo < 0.0 { -nice(-lo * 1.1) } else { 0.0 },
        y1: nice(hi.max(1e-3) * 1.1),
    };
    let mut s = String::new();
    open(
        &mut s,
        &format!(
            "Latency overhead over direct, mean per operation (profile {})",
            p.profile.name()
        ),
    );
    let ticks: Vec<(f64, String)> = p
        .durations_ms
        .iter()
        .enumerate()
        .map(|(i, d)| (i as f64 + 0.5, format!("{d} ms fetch")))
        .collect();
    axes(
        &mut s,
        &f,
        "fetch duration",
        "overhead over direct, ms",
        &ticks,
    );
    let group_w = f.px(1.0) - f.px(0.0);
    let bar_w = group_w * 0.8 / proxies.len() as f64;
    for (gi, &d) in p.durations_ms.iter().enumerate() {
        for (bi, v) in proxies.iter().enumerate() {
            let Some(c) = p.cell(*v, d) else { continue };
            let x = f.px(gi as f64) + group_w * 0.1 + bar_w * bi as f64;
            let (ya, yb) = (
                f.py(c.overhead_mean_ms.max(0.0)),
                f.py(c.overhead_mean_ms.min(0.0)),
            );
            let _ = writeln!(
                s,
                r#"<rect class="bar" data-design="{}" data-fetch-ms="{d}" x="{x:.1}" y="{ya:.1}" width="{:.1}" height="{:.1}" fill="{}"/><text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="10">{:+.2}</text>"#,
                v.key(),
                bar_w - 2.0,
                (yb - ya).max(0.5),
                v.colour(),
                x + bar_w / 2.0,
                ya - 4.0,
                c.overhead_mean_ms
            );
        }
    }
    let items: Vec<(String, &str)> = proxies
        .iter()
        .map(|v| (v.label().to_string(), v.colour()))
        .collect();
    legend(&mut s, &items);
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::nice;

    #[test]
    fn nice_bounds() {
        assert_eq!(nice(0.0), 1.0);
        assert_eq!(nice(3.2), 5.0);
        assert_eq!(nice(2.0), 2.0);
        assert_eq!(nice(1234.0), 2000.0);
        assert_eq!(nice(0.021), 0.025);
    }
}
