//! The Dashboard's live charts: requests/s, p95 latency, error rate and CPU over the last
//! 15 minutes, one point per 10 s window.
//!
//! The server draws them from history; every snapshot then brings the newest finished
//! windows (the same figures history keeps for them), and when a snapshot's windows do
//! not follow on from the last point (the stream dropped, every tab was hidden, the
//! server restarted), history is asked again for the windows in between. A hole stays
//! only where history has nothing either: the server was down.

use leptos::prelude::*;

use crate::components::chart::{Unit, nice_ceiling, path, y_at};
use crate::history::{RECENT_SPAN_MS, RecentHistory, WINDOW_MS};
use crate::snapshot::WindowPoint;

/// The windows shown, oldest first, each once.
type Windows = Vec<WindowPoint>;

/// Adds `points`; `replace` says whether they override the windows already there (live
/// points do; history only fills in). Keeps 15 minutes.
fn merge(windows: &mut Windows, points: Vec<WindowPoint>, replace: bool) {
    for p in points {
        match windows.binary_search_by_key(&p.start_ms, |w| w.start_ms) {
            Ok(i) if replace => windows[i] = p,
            Ok(_) => {}
            Err(i) => windows.insert(i, p),
        }
    }
    if let Some(newest) = windows.last() {
        let oldest = (newest.start_ms + WINDOW_MS).saturating_sub(RECENT_SPAN_MS);
        windows.retain(|w| w.start_ms >= oldest);
    }
}

/// Whether windows are missing between those held and `next` (the oldest just received).
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
fn gap_before(windows: &Windows, next: u64) -> bool {
    windows
        .last()
        .is_none_or(|newest| next > newest.start_ms + WINDOW_MS)
}

fn share(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 * 100.0 / whole as f64)
}

/// A line of a chart: label, colour class, and its value in a window (if it has one).
type LineSpec = (&'static str, &'static str, fn(&WindowPoint) -> Option<f64>);

/// One chart: title, unit, `data-testid`, and its lines.
struct Spec {
    title: &'static str,
    unit: Unit,
    testid: &'static str,
    lines: &'static [LineSpec],
}

const CHARTS: [Spec; 4] = [
    Spec {
        title: "Requests / s",
        unit: Unit::PerSec,
        testid: "live-rps",
        lines: &[("Requests / s", "s1", |p| Some(p.requests as f64 / 10.0))],
    },
    Spec {
        title: "p95 latency",
        unit: Unit::Millis,
        testid: "live-p95",
        lines: &[("p95", "s2", |p| p.p95_ms)],
    },
    Spec {
        title: "Error rate",
        unit: Unit::Percent,
        testid: "live-errors",
        lines: &[
            ("5xx", "s4", |p| share(p.server_errors, p.requests)),
            ("4xx", "s3", |p| share(p.client_errors, p.requests)),
        ],
    },
    Spec {
        title: "CPU",
        unit: Unit::Percent,
        testid: "live-cpu",
        lines: &[("CPU, all cores", "s1", |p| p.cpu_percent)],
    },
];

/// One chart over the 15 minutes before `end`, as HTML (the same on the server and in
/// the browser, redrawn whole as windows arrive).
fn chart_html(spec: &Spec, windows: &Windows, end: u64) -> String {
    let series: Vec<Vec<(u64, f64)>> = spec
        .lines
        .iter()
        .map(|(_, _, value)| {
            windows
                .iter()
                .filter_map(|w| value(w).map(|v| (w.start_ms, v)))
                .collect()
        })
        .collect();
    let top = series.iter().flatten().map(|(_, v)| *v).fold(0.0, f64::max);
    let max = match spec.unit {
        Unit::Percent => nice_ceiling(top).clamp(1.0, 100.0),
        _ => nice_ceiling(top),
    };
    let mut svg = String::new();
    for share in [0.0, 0.5, 1.0] {
        let y = y_at(share * max, max);
        svg += &format!(
            "<line class=\"grid\" x1=\"64\" x2=\"628\" y1=\"{y:.1}\" y2=\"{y:.1}\"/><text x=\"58\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            y + 4.0,
            spec.unit.format(share * max)
        );
    }
    let from = end.saturating_sub(RECENT_SPAN_MS);
    let mut legend = String::new();
    for ((label, class, _), points) in spec.lines.iter().zip(&series) {
        svg += &format!(
            "<path class=\"line {class}\" d=\"{}\"/>",
            path(points, from, end, max, WINDOW_MS)
        );
        legend += &format!("<li class=\"{class}\"><span class=\"swatch\"></span>{label}</li>");
    }
    format!(
        "<figure class=\"chart panel\" data-testid=\"{}\" data-points=\"{}\"><figcaption>{title}</figcaption>\
         <svg viewBox=\"0 0 640 200\" role=\"img\" aria-label=\"{title}\" preserveAspectRatio=\"none\">\
         <g class=\"axis y\">{svg}</g><g class=\"axis x\"><text x=\"64\" y=\"194\">15 min ago</text>\
         <text x=\"252\" y=\"194\" text-anchor=\"middle\">10 min</text><text x=\"440\" y=\"194\" text-anchor=\"middle\">5 min</text>\
         <text x=\"628\" y=\"194\" text-anchor=\"end\">now</text></g></svg><ul class=\"legend\">{legend}</ul></figure>",
        spec.testid,
        series[0].len(),
        title = spec.title,
    )
}

/// Every chart over the 15 minutes up to the newest window (`fallback_end` without any).
fn charts_html(windows: &Windows, fallback_end: u64) -> String {
    let end = windows
        .last()
        .map_or(fallback_end, |p| p.start_ms + WINDOW_MS);
    CHARTS.iter().map(|c| chart_html(c, windows, end)).collect()
}

/// The windows' starts, for tests and tools: `data-windows`.
fn starts_of(windows: &Windows) -> String {
    let mut starts = String::new();
    for w in windows {
        if !starts.is_empty() {
            starts.push(',');
        }
        starts += &w.start_ms.to_string();
    }
    starts
}

/// The windows in a [`RecentHistory`] (JSON), oldest first. Read field by field: the
/// browser build parses JSON values anyway, and a typed reader would add to it.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
fn parse_recent(json: &str) -> Windows {
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
    let points = v["points"].as_array().map_or_else(Vec::new, |points| {
        points.iter().filter_map(WindowPoint::from_json).collect()
    });
    let mut windows = Windows::new();
    merge(&mut windows, points, true);
    windows
}

/// Id of the charts' `<section>`, which the browser redraws.
const SECTION_ID: &str = "sightline-live-charts";

/// The four charts as the server draws them from the page's windows (a [`RecentHistory`]
/// in context). Rendered on the server only; [`follow`] redraws them in the browser.
#[component]
pub fn LiveCharts() -> impl IntoView {
    let recent = use_context::<RecentHistory>().unwrap_or_default();
    let mut windows = Windows::new();
    merge(&mut windows, recent.points, true);
    view! {
        <section
            id=SECTION_ID
            class="grid charts live-charts"
            aria-label="Last 15 minutes"
            data-testid="live-charts"
            data-windows=starts_of(&windows)
            inner_html=charts_html(&windows, recent.to_ms)
        ></section>
    }
}

/// In the browser, from the first live snapshot on: reads the last 15 minutes from
/// history, adds every snapshot's windows, and redraws. When windows are missing before
/// a snapshot's (a reconnect, a paused tab, a restart) it reads history again and fills
/// in what history has: one request at a time, and after a failed one, again with a
/// later snapshot, at most every [`RETRY_MS`].
///
/// Its code is a chunk of its own, fetched once the page is live: the charts the server
/// drew stand until then, and until history answered once (unless they were empty).
#[cfg(feature = "hydrate")]
#[leptos::lazy]
pub fn follow(owner: Owner) {
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;

    let Some(section) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(SECTION_ID))
    else {
        return;
    };
    let drawn = section
        .get_attribute("data-windows")
        .is_some_and(|w| !w.is_empty());
    let windows = Rc::new(RefCell::new(Windows::new()));
    let read = Rc::new(Cell::new(false));
    let show = {
        let (windows, read) = (windows.clone(), read.clone());
        Rc::new(move || {
            if read.get() {
                let w = windows.borrow();
                section.set_inner_html(&charts_html(&w, 0));
                let _ = section.set_attribute("data-windows", &starts_of(&w));
                let _ = section.set_attribute("data-redrawn", "true");
            }
        })
    };
    // Gaps seen, and the last one history has filled (or 0): a gap seen while a read is
    // under way is filled by the next one.
    let (gaps, filled) = (Rc::new(Cell::new(1u32)), Rc::new(Cell::new(0u32)));
    let (busy, tried_at) = (Rc::new(Cell::new(false)), Rc::new(Cell::new(f64::MIN)));
    let live = crate::live::use_live();
    owner.with(|| {
        Effect::new(move |_| {
            let Some((points, url)) = live.snapshot.with(|s| {
                let s = s.as_ref()?;
                (!s.recent.is_empty()).then(|| (s.recent.clone(), recent_url(s)))
            }) else {
                return;
            };
            if gap_before(&windows.borrow(), points[0].start_ms) {
                gaps.set(gaps.get() + 1);
            }
            merge(&mut windows.borrow_mut(), points, true);
            show();
            let now = js_sys::Date::now();
            if filled.get() == gaps.get() || busy.get() || now < tried_at.get() + RETRY_MS {
                return;
            }
            busy.set(true);
            tried_at.set(now);
            let wanted = gaps.get();
            let (windows, show, busy, read, filled) = (
                windows.clone(),
                show.clone(),
                busy.clone(),
                read.clone(),
                filled.clone(),
            );
            leptos::task::spawn_local(async move {
                let answer = match gloo_net::http::Request::get(&url).send().await {
                    Ok(r) if r.ok() => r.text().await.ok(),
                    _ => None,
                };
                if let Some(json) = answer {
                    merge(&mut windows.borrow_mut(), parse_recent(&json), false);
                    filled.set(wanted);
                    read.set(true);
                } else if !drawn {
                    // Nothing drawn to keep: show the live windows meanwhile.
                    read.set(true);
                }
                show();
                busy.set(false);
            });
        });
    });
}

/// The least time between two reads of history after a failed one.
#[cfg(feature = "hydrate")]
const RETRY_MS: f64 = 10_000.0;

/// `{base}/api/recent` for what the live view shows: the instance the page is narrowed
/// to; a cluster's instances all together; or, alone, this instance (history may hold
/// others that share its database).
#[cfg(feature = "hydrate")]
fn recent_url(snapshot: &crate::snapshot::DashboardSnapshot) -> String {
    let base = crate::BasePath::current().join("/api/recent");
    match recent_scope(snapshot, page_instance()) {
        Some(id) => format!("{base}?instance={}", crate::history::encode_component(&id)),
        None => base,
    }
}

/// The page's `?instance=`, if any.
#[cfg(feature = "hydrate")]
fn page_instance() -> Option<String> {
    web_sys::window()
        .and_then(|w| web_sys::UrlSearchParams::new_with_str(&w.location().search().ok()?).ok())
        .and_then(|q| q.get(super::instances::INSTANCE_PARAM))
        .filter(|i| !i.is_empty())
}

/// The instance whose history the charts show (`None`: all of them), given the page's
/// `?instance=`: that one in a cluster; all in a cluster otherwise; alone, this one.
pub fn recent_scope(
    snapshot: &crate::snapshot::DashboardSnapshot,
    page_instance: Option<String>,
) -> Option<String> {
    match &snapshot.cluster {
        Some(_) => page_instance,
        None => Some(snapshot.server.instance_id.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(start_ms: u64, requests: u64) -> WindowPoint {
        WindowPoint {
            start_ms,
            requests,
            ..WindowPoint::default()
        }
    }

    #[test]
    fn live_points_replace_history_fills_in_and_fifteen_minutes_stay() {
        let mut w = Windows::new();
        merge(&mut w, vec![at(0, 1), at(10_000, 2)], true);
        merge(&mut w, vec![at(10_000, 5), at(20_000, 3)], true);
        merge(&mut w, vec![at(10_000, 9), at(30_000, 4)], false);
        let got: Vec<(u64, u64)> = w.iter().map(|p| (p.start_ms, p.requests)).collect();
        assert_eq!(got, [(0, 1), (10_000, 5), (20_000, 3), (30_000, 4)]);
        merge(&mut w, vec![at(RECENT_SPAN_MS + 10_000, 1)], true);
        // The window 15 minutes before the newest one's end is the oldest kept.
        assert_eq!(w[0].start_ms, 20_000);
    }

    #[test]
    fn charts_draw_the_windows_with_a_value() {
        let w = vec![at(0, 10), at(10_000, 0), at(20_000, 30)];
        let rps = chart_html(&CHARTS[0], &w, 30_000);
        assert!(rps.contains("data-points=\"3\""), "{rps}");
        let d = rps.split(" d=\"").nth(1).unwrap();
        assert_eq!(d.matches(" L").count(), 2, "{d}");
        // No requests, no error rate: the chart is empty, not a line at zero.
        let errors = chart_html(&CHARTS[2], &vec![at(0, 0)], 10_000);
        assert!(errors.contains("data-points=\"0\""));
        assert!(errors.contains("class=\"line s4\" d=\"\""), "{errors}");
    }

    #[test]
    fn history_reads_back_as_sent() {
        let recent = RecentHistory {
            from_ms: 0,
            to_ms: 30_000,
            points: vec![
                WindowPoint {
                    p95_ms: Some(12.5),
                    cpu_percent: Some(3.25),
                    client_errors: 1,
                    server_errors: 2,
                    ..at(10_000, 7)
                },
                at(0, 0),
            ],
        };
        let windows = parse_recent(&serde_json::to_string(&recent).unwrap());
        assert_eq!(
            windows,
            [recent.points[1].clone(), recent.points[0].clone()]
        );
        assert!(parse_recent("not json").is_empty());
    }

    #[test]
    fn the_charts_read_the_history_of_what_the_live_view_shows() {
        let mut s = crate::snapshot::DashboardSnapshot::default();
        s.server.instance_id = "web-1".into();
        // Alone: this instance, even where its database holds others too.
        assert_eq!(recent_scope(&s, None), Some("web-1".into()));
        s.cluster = Some(Default::default());
        assert_eq!(recent_scope(&s, None), None);
        assert_eq!(recent_scope(&s, Some("web-2".into())), Some("web-2".into()));
    }

    #[test]
    fn a_gap_is_a_window_missing_before_the_new_ones() {
        let mut w = Windows::new();
        assert!(gap_before(&w, 0));
        merge(&mut w, vec![at(0, 1), at(10_000, 1)], true);
        assert!(!gap_before(&w, 10_000));
        assert!(!gap_before(&w, 20_000));
        assert!(gap_before(&w, 30_000));
    }
}
