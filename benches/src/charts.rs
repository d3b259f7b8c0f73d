//! PNG charts drawn by the benchmark itself (plotters, bitmap backend).
//!
//! Text goes through ab_glyph with the Ubuntu Light font shipped inside the
//! `epaint_default_fonts` crate, so no system font or fontconfig is needed.

use std::path::Path;
use std::sync::Once;

use hdrhistogram::Histogram;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

static FONT: Once = Once::new();

fn font() {
    FONT.call_once(|| {
        // A font that fails to parse would only lose the labels; say so.
        if register_font("sans-serif", FontStyle::Normal, epaint_default_fonts::UBUNTU_LIGHT).is_err() {
            eprintln!("kv-bench: chart font did not load; charts will have no text");
        }
    });
}

const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// One colour per engine, the same in every chart; other series (raw
/// loops) get the palette's remaining colours by index.
fn color(name: &str, i: usize) -> RGBColor {
    const ENGINES: [&str; 7] = ["libkv", "redis", "rocksdb", "fjall", "sled", "lmdb", "redb"];
    let engine = name.split(' ').next().unwrap_or("");
    match ENGINES.iter().position(|e| *e == engine) {
        Some(k) => PALETTE[k],
        None => PALETTE[(ENGINES.len() + i) % PALETTE.len()],
    }
}

fn err(e: impl std::fmt::Display) -> String {
    format!("chart: {e}")
}

/// Throughput (log) against thread count (log), one line per series, and
/// horizontal dashed reference lines (`limits`: label, ops/s).
pub fn throughput_vs_threads(
    path: &Path,
    title: &str,
    series: &[(String, Vec<(usize, f64)>)],
    limits: &[(String, f64)],
) -> Result<(), String> {
    font();
    let max_t = series.iter().flat_map(|s| s.1.iter().map(|p| p.0)).max().unwrap_or(1).max(2) as f64;
    let ys = series.iter().flat_map(|s| s.1.iter().map(|p| p.1)).chain(limits.iter().map(|l| l.1)).filter(|v| *v > 0.0);
    let (lo, hi) = ys.fold((f64::MAX, 1.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let lo = if lo == f64::MAX { 1.0 } else { lo / 2.0 };
    let root = BitMapBackend::new(path, (1100, 700)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 24))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(80)
        .build_cartesian_2d((0.8f64..max_t * 1.25).log_scale(), (lo..hi * 2.0).log_scale())
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("writer threads (client connections for redis)")
        .y_desc("acknowledged writes / s")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{v:.0}"))
        .label_style(("sans-serif", 15))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(err)?;
    for (i, (name, y)) in limits.iter().enumerate() {
        let style = ShapeStyle::from(&color(name, i)).stroke_width(1);
        // Dashes drawn as short segments spaced evenly on the log axis.
        let x0 = 0.8f64;
        let dashes: Vec<Vec<(f64, f64)>> = (0..40)
            .map(|k| {
                let a = x0 * (max_t * 1.25 / x0).powf(k as f64 / 40.0);
                let b = x0 * (max_t * 1.25 / x0).powf((k as f64 + 0.5) / 40.0);
                vec![(a, *y), (b, *y)]
            })
            .collect();
        chart
            .draw_series(dashes.into_iter().map(|d| PathElement::new(d, style)))
            .map_err(err)?
            .label(name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 8, y)], style));
    }
    for (i, (name, pts)) in series.iter().enumerate() {
        let c = color(name, i);
        let style = ShapeStyle::from(&c).stroke_width(if name.starts_with("libkv") { 3 } else { 2 });
        let pts: Vec<(f64, f64)> = pts.iter().filter(|p| p.1 > 0.0).map(|&(t, v)| (t as f64, v)).collect();
        chart
            .draw_series(LineSeries::new(pts.clone(), style))
            .map_err(err)?
            .label(name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
        chart.draw_series(pts.iter().map(|&p| Circle::new(p, 4, c.filled()))).map_err(err)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}

/// Latency CDF: fraction of writes (y) completing within x µs (log).
pub fn latency_cdf(path: &Path, title: &str, series: &[(String, Histogram<u64>)]) -> Result<(), String> {
    font();
    let max_us = series.iter().map(|s| s.1.max() as f64 / 1000.0).fold(10.0f64, f64::max);
    let min_us = series.iter().map(|s| s.1.min().max(1) as f64 / 1000.0).fold(f64::MAX, f64::min).min(1.0);
    let root = BitMapBackend::new(path, (1100, 700)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 24))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d((min_us * 0.8..max_us * 1.5).log_scale(), 0f64..1.0)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("put latency, µs (log)")
        .y_desc("fraction of puts")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{v:.2}"))
        .label_style(("sans-serif", 15))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(err)?;
    for (i, (name, h)) in series.iter().enumerate() {
        let c = color(name, i);
        let style = ShapeStyle::from(&c).stroke_width(if name.starts_with("libkv") { 3 } else { 2 });
        let mut pts = Vec::new();
        for q in (0..=1000).map(|i| i as f64 / 1000.0) {
            pts.push(((h.value_at_quantile(q).max(1) as f64) / 1000.0, q));
        }
        chart
            .draw_series(LineSeries::new(pts, style))
            .map_err(err)?
            .label(name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}
