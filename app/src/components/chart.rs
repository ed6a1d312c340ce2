//! SVG charts, drawn on the server: a line chart over time, an island fetched with its page
//! (hover shows the time and every series' value there), and a horizontal bar chart with
//! no script at all.
//!
//! Geometry is plain functions of the data, tested below; colours come from CSS classes,
//! so both themes apply.

use leptos::prelude::*;

use crate::clock::use_local_offset;
use crate::format;
use crate::history::Points;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 200.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 24.0;

/// What a chart's values measure; sets the axis labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Unit {
    Percent,
    Bytes,
    BytesPerSec,
    Millis,
    PerSec,
    Count,
}

impl Unit {
    pub fn format(self, v: f64) -> String {
        match self {
            Self::Percent => format::percent(v),
            Self::Bytes => format::bytes(v),
            Self::BytesPerSec => format!("{}/s", format::bytes(v)),
            Self::Millis => format::millis(v),
            Self::PerSec => format!("{}/s", format::rate(v)),
            Self::Count if v.fract() == 0.0 && v >= 0.0 => format::count(v as u64),
            Self::Count => format::rate(v),
        }
    }
}

/// One series of a line chart; `class` picks its colour (`s1`..`s4`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Line {
    pub label: String,
    pub points: Points,
    pub class: String,
}

impl Line {
    pub fn new(label: &str, points: Points, class: &str) -> Self {
        Self {
            label: label.to_owned(),
            points,
            class: class.to_owned(),
        }
    }
}

/// The smallest 1, 2, 2.5 or 5 times a power of ten at or above `max` (1 for nothing).
pub fn nice_ceiling(max: f64) -> f64 {
    if !(max > 0.0 && max.is_finite()) {
        return 1.0;
    }
    // The power of ten at or below `max`, found by steps (a logarithm costs the browser
    // build a few kilobytes).
    let mut magnitude = 1.0;
    while magnitude > max {
        magnitude /= 10.0;
    }
    while magnitude * 10.0 <= max {
        magnitude *= 10.0;
    }
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|v| *v >= max * (1.0 - 1e-12))
        .unwrap_or(10.0 * magnitude)
}

fn x_at(t: u64, from: u64, to: u64) -> f64 {
    let span = (to.saturating_sub(from)).max(1) as f64;
    LEFT + (t.saturating_sub(from) as f64 / span).min(1.0) * (WIDTH - LEFT - RIGHT)
}

pub(crate) fn y_at(v: f64, max: f64) -> f64 {
    HEIGHT - BOTTOM - (v / max).clamp(0.0, 1.0) * (HEIGHT - TOP - BOTTOM)
}

/// An SVG path through the points; a gap longer than two steps starts a new segment. A
/// segment of one point gets a tiny stroke so that its round cap shows it as a dot.
pub fn path(points: &Points, from: u64, to: u64, max: f64, step_ms: u64) -> String {
    let mut d = String::new();
    let mut last: Option<u64> = None;
    let mut segment = 0usize;
    for &(t, v) in points {
        let jump = last.is_none_or(|l| t.saturating_sub(l) > 2 * step_ms.max(1));
        if jump {
            if segment == 1 {
                d.push_str(" h0.01");
            }
            segment = 0;
        }
        d.push_str(&format!(
            "{}{:.1},{:.1}",
            if jump {
                if d.is_empty() { "M" } else { " M" }
            } else {
                " L"
            },
            x_at(t, from, to),
            y_at(v, max)
        ));
        segment += 1;
        last = Some(t);
    }
    if segment == 1 {
        d.push_str(" h0.01");
    }
    d
}

/// Index of the point nearest to time `t`.
pub fn nearest(points: &Points, t: u64) -> Option<usize> {
    if points.is_empty() {
        return None;
    }
    let i = points.partition_point(|(pt, _)| *pt < t);
    let candidates = [i.checked_sub(1), (i < points.len()).then_some(i)];
    candidates
        .into_iter()
        .flatten()
        .min_by_key(|&j| points[j].0.abs_diff(t))
}

/// A line chart of `lines` over `[from_ms, to_ms)`.
#[island(lazy)]
pub fn LineChart(
    #[prop(into)] title: String,
    unit: Unit,
    from_ms: u64,
    to_ms: u64,
    step_ms: u64,
    lines: Vec<Line>,
    /// `data-testid` of the figure.
    #[prop(into)]
    testid: String,
) -> impl IntoView {
    let offset = use_local_offset();
    let max = nice_ceiling(
        lines
            .iter()
            .flat_map(|l| l.points.iter().map(|(_, v)| *v))
            .fold(0.0, f64::max),
    );
    let max = if unit == Unit::Percent {
        max.clamp(1.0, 100.0)
    } else {
        max
    };
    let points: usize = lines.iter().map(|l| l.points.len()).sum();
    let empty = points == 0;
    let long = to_ms.saturating_sub(from_ms) > 26 * 3_600_000;
    let label_time = move |t: u64| {
        if long {
            format::day_clock(t, offset.get())
        } else {
            format::clock(t, offset.get())
        }
    };
    let x_ticks: Vec<u64> = (0..5)
        .map(|i| from_ms + (to_ms - from_ms) * i / 4)
        .collect();
    let y_ticks = [0.0, max / 2.0, max];
    let paths: Vec<_> = lines
        .iter()
        .map(|l| {
            view! {
                <path class=format!("line {}", l.class) d=path(&l.points, from_ms, to_ms, max, step_ms)/>
            }
        })
        .collect();
    let legend: Vec<_> = lines
        .iter()
        .map(|l| view! { <li class=l.class.clone()><span class="swatch"></span>{l.label.clone()}</li> })
        .collect();

    // The hovered time, snapped to the nearest point of the first series with data.
    let hover = RwSignal::new(None::<u64>);
    let reference: Points = lines
        .iter()
        .find(|l| !l.points.is_empty())
        .map(|l| l.points.clone())
        .unwrap_or_default();
    let on_move = move |ev: leptos::ev::MouseEvent| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let Some(target) = ev
                .current_target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            else {
                return;
            };
            let rect = target.get_bounding_client_rect();
            if rect.width() <= 0.0 {
                return;
            }
            let x = (f64::from(ev.client_x()) - rect.left()) / rect.width() * WIDTH;
            let share = ((x - LEFT) / (WIDTH - LEFT - RIGHT)).clamp(0.0, 1.0);
            let t = from_ms + (share * (to_ms - from_ms) as f64) as u64;
            hover.set(nearest(&reference, t).map(|i| reference[i].0));
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, &reference);
    };
    let tooltip_lines = lines.clone();
    let tooltip = move || {
        let t = hover.get()?;
        let x = x_at(t, from_ms, to_ms);
        let mut rows = vec![format::date_time(t, offset.get())];
        for l in &tooltip_lines {
            if let Some(i) = nearest(&l.points, t).filter(|&i| l.points[i].0 == t) {
                rows.push(format!("{}: {}", l.label, unit.format(l.points[i].1)));
            }
        }
        let anchor_right = x > WIDTH / 2.0;
        let text_x = if anchor_right { x - 8.0 } else { x + 8.0 };
        Some(view! {
            <g class="hover" data-testid="chart-tooltip">
                <line x1=x x2=x y1=TOP y2=HEIGHT - BOTTOM/>
                <text
                    x=text_x
                    y=TOP + 12.0
                    text-anchor=if anchor_right { "end" } else { "start" }
                >
                    {rows
                        .into_iter()
                        .enumerate()
                        .map(|(i, row)| {
                            view! { <tspan x=text_x dy=if i == 0 { 0.0 } else { 14.0 }>{row}</tspan> }
                        })
                        .collect::<Vec<_>>()}
                </text>
            </g>
        })
    };

    view! {
        <figure class="chart panel" data-testid=testid data-points=points data-from=from_ms data-to=to_ms>
            <figcaption>{title.clone()}</figcaption>
            <svg
                viewBox=format!("0 0 {WIDTH} {HEIGHT}")
                role="img"
                aria-label=title
                preserveAspectRatio="none"
            >
                <g class="axis y">
                    {y_ticks
                        .iter()
                        .map(|&v| {
                            let y = y_at(v, max);
                            view! {
                                <line class="grid" x1=LEFT x2=WIDTH - RIGHT y1=y y2=y/>
                                <text x=LEFT - 6.0 y=y + 4.0 text-anchor="end">{unit.format(v)}</text>
                            }
                        })
                        .collect::<Vec<_>>()}
                </g>
                <g class="axis x">
                    {x_ticks
                        .iter()
                        .enumerate()
                        .map(|(i, &t)| {
                            let anchor = match i {
                                0 => "start",
                                4 => "end",
                                _ => "middle",
                            };
                            view! {
                                <text x=x_at(t, from_ms, to_ms) y=HEIGHT - 6.0 text-anchor=anchor>
                                    {move || label_time(t)}
                                </text>
                            }
                        })
                        .collect::<Vec<_>>()}
                </g>
                {paths}
                {tooltip}
                <rect
                    class="overlay"
                    x=LEFT
                    y=TOP
                    width=WIDTH - LEFT - RIGHT
                    height=HEIGHT - TOP - BOTTOM
                    on:mousemove=on_move
                    on:mouseleave=move |_| hover.set(None)
                />
            </svg>
            {empty.then(|| view! { <p class="empty">"No data in this range."</p> })}
            <ul class="legend">{legend}</ul>
        </figure>
    }
}

/// One bar of a [`BarChart`].
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub class: &'static str,
}

/// Horizontal bars, longest first as given; each bar's `<title>` shows its value on hover.
#[component]
pub fn BarChart(
    title: &'static str,
    unit: Unit,
    bars: Vec<Bar>,
    #[prop(optional)] testid: &'static str,
) -> impl IntoView {
    const ROW: f64 = 26.0;
    const LABEL: f64 = 230.0;
    const VALUE: f64 = 90.0;
    let max = bars
        .iter()
        .map(|b| b.value)
        .fold(0.0, f64::max)
        .max(f64::MIN_POSITIVE);
    let height = (bars.len() as f64 * ROW).max(ROW);
    let empty = bars.is_empty();
    let count = bars.len();
    let rows: Vec<_> = bars
        .into_iter()
        .enumerate()
        .map(|(i, bar)| {
            let y = i as f64 * ROW;
            let width = bar.value / max * (WIDTH - LABEL - VALUE);
            let value = unit.format(bar.value);
            let label = if bar.label.chars().count() > 34 {
                format!("{}…", bar.label.chars().take(33).collect::<String>())
            } else {
                bar.label.clone()
            };
            view! {
                <g class="bar-row">
                    <title>{format!("{}: {value}", bar.label)}</title>
                    <text x=0 y=y + 17.0 class="bar-label">{label}</text>
                    <rect class=format!("bar {}", bar.class) x=LABEL y=y + 5.0 width=width.max(1.0) height=ROW - 10.0 rx=3/>
                    <text x=LABEL + width + 6.0 y=y + 17.0 class="bar-value">{value}</text>
                </g>
            }
        })
        .collect();
    view! {
        <figure class="chart panel" data-testid=testid data-points=count>
            <figcaption>{title}</figcaption>
            <svg viewBox=format!("0 0 {WIDTH} {height}") role="img" aria-label=title>
                {rows}
            </svg>
            {empty.then(|| view! { <p class="empty">"No requests in this range."</p> })}
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_are_round() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(7.3), 10.0);
        assert_eq!(nice_ceiling(2.1), 2.5);
        assert_eq!(nice_ceiling(250.0), 250.0);
        assert_eq!(nice_ceiling(0.031), 0.05);
        assert_eq!(nice_ceiling(f64::NAN), 1.0);
        assert_eq!(nice_ceiling(f64::INFINITY), 1.0);
        assert_eq!(nice_ceiling(100.0), 100.0);
        assert!((nice_ceiling(1.2e-9) - 2e-9).abs() < 1e-20);
    }

    #[test]
    fn paths_span_the_plot_and_break_at_gaps() {
        let points = vec![(0, 0.0), (10, 5.0), (20, 10.0), (100, 10.0)];
        let d = path(&points, 0, 100, 10.0, 10);
        assert_eq!(
            d,
            format!(
                "M{LEFT:.1},{:.1} L{:.1},{:.1} L{:.1},{:.1} M{:.1},{TOP:.1} h0.01",
                HEIGHT - BOTTOM,
                x_at(10, 0, 100),
                y_at(5.0, 10.0),
                x_at(20, 0, 100),
                TOP,
                WIDTH - RIGHT
            )
        );
        assert_eq!(path(&vec![], 0, 1, 1.0, 1), "");
        assert!(path(&vec![(5, 1.0)], 0, 10, 1.0, 1).ends_with(" h0.01"));
    }

    #[test]
    fn hover_snaps_to_the_nearest_point() {
        let points = vec![(0, 1.0), (10, 2.0), (30, 3.0)];
        assert_eq!(nearest(&points, 4), Some(0));
        assert_eq!(nearest(&points, 6), Some(1));
        assert_eq!(nearest(&points, 100), Some(2));
        assert_eq!(nearest(&vec![], 5), None);
    }
}
