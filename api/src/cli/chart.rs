//! The charts of `--chart FILE.svg|FILE.png`, drawn with plotters: `cairn simulate`'s fan
//! chart (wealth percentiles per year: 5-95% and 25-75% bands, the median line) and `cairn tax
//! roth`'s yearly conversions and taxes.

use std::iter::once;
use std::path::Path;
use std::sync::Once;

use anyhow::{anyhow, bail};
use plotters::coord::Shift;
use plotters::prelude::*;
use simulations::monte_carlo::Band;

/// Embedded so PNG text renders on machines without fonts (see api/data/fonts/README.md).
static FONT: &[u8] = include_bytes!("../../data/fonts/DejaVuSans.ttf");

const SIZE: (u32, u32) = (1000, 560);

/// Draws a chart into `path`, whose extension picks SVG or PNG: `svg` or `png` draws on it.
fn render(
    path: &Path,
    svg: impl FnOnce(DrawingArea<SVGBackend<'_>, Shift>) -> anyhow::Result<()>,
    png: impl FnOnce(DrawingArea<BitMapBackend<'_>, Shift>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    // Both backends measure text with the font; the bitmap one also draws it.
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        // The font is compiled in and known to parse (tests draw both formats).
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
    let extension = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("svg") => svg(SVGBackend::new(path, SIZE).into_drawing_area()),
        Some("png") => png(BitMapBackend::new(path, SIZE).into_drawing_area()),
        _ => bail!("--chart: {} must end in .svg or .png", path.display()),
    }
}

/// What a fan chart shows: wealth percentiles (nominal) per year from today's wealth.
pub(crate) struct Fan<'a> {
    pub paths: usize,
    pub years: u32,
    pub success_probability: f64,
    pub bands: &'a [Band],
    pub initial: f64,
}

/// The fan chart of a simulation.
pub(crate) fn fan_chart(fan: &Fan<'_>, path: &Path) -> anyhow::Result<()> {
    render(path, |a| draw(a, fan), |a| draw(a, fan))
}

/// A Roth plan's yearly conversions and taxes (bars), and the tax of converting nothing (a
/// line).
pub(crate) fn roth(plan: &queries::roth::Roth, path: &Path) -> anyhow::Result<()> {
    let amount = |s: &str| s.parse::<f64>().unwrap_or(0.0);
    let years: Vec<(i32, f64, f64, f64)> = plan
        .plan
        .years
        .iter()
        .zip(&plan.baseline.years)
        .map(|(y, b)| (y.year, amount(&y.conversion), amount(&y.tax), amount(&b.tax)))
        .collect();
    let caption = format!(
        "Roth conversions: {} converted, after-tax wealth {} more than converting nothing",
        short_money(amount(&plan.plan.converted)),
        short_money(amount(&plan.advantage))
    );
    render(path, |a| draw_roth(a, &years, &caption), |a| draw_roth(a, &years, &caption))
}

fn draw_roth<DB: DrawingBackend>(
    area: DrawingArea<DB, Shift>,
    years: &[(i32, f64, f64, f64)],
    caption: &str,
) -> anyhow::Result<()> {
    area.fill(&WHITE).map_err(failed)?;
    let (first, last) = (years.first().map_or(0, |y| y.0), years.last().map_or(1, |y| y.0));
    let top = years.iter().map(|y| y.1.max(y.2).max(y.3)).fold(1.0, f64::max) * 1.1;
    let mut chart = ChartBuilder::on(&area)
        .caption(caption, ("sans-serif", 20))
        .margin(18)
        .x_label_area_size(42)
        .y_label_area_size(70)
        .build_cartesian_2d(f64::from(first) - 0.5..f64::from(last) + 0.5, 0f64..top)
        .map_err(failed)?;
    chart
        .configure_mesh()
        .x_desc("year")
        .y_desc("dollars (nominal)")
        .y_label_formatter(&|v| short_money(*v))
        .x_label_formatter(&|v| format!("{v:.0}"))
        .draw()
        .map_err(failed)?;
    let (blue, orange) = (RGBColor(31, 99, 179), RGBColor(230, 120, 20));
    let bar = |x: f64, from: f64, value: f64, color: RGBColor| {
        Rectangle::new([(x + from, 0.0), (x + from + 0.4, value)], color.filled())
    };
    chart
        .draw_series(years.iter().map(|y| bar(f64::from(y.0), -0.4, y.1, blue)))
        .map_err(failed)?
        .label("conversion")
        .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 18, y + 6)], blue.filled()));
    chart
        .draw_series(years.iter().map(|y| bar(f64::from(y.0), 0.0, y.2, orange)))
        .map_err(failed)?
        .label("tax")
        .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 18, y + 6)], orange.filled()));
    chart
        .draw_series(LineSeries::new(years.iter().map(|y| (f64::from(y.0), y.3)), BLACK.stroke_width(2)))
        .map_err(failed)?
        .label("tax converting nothing")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK.stroke_width(2)));
    legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    area.present().map_err(failed)
}

fn failed(e: impl std::fmt::Debug) -> anyhow::Error {
    anyhow!("cannot draw the chart: {e:?}")
}

/// 1,250,000 as "1.25M", 40,000 as "40k".
fn short_money(v: f64) -> String {
    let a = v.abs();
    if a >= 1e9 {
        format!("{:.2}B", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if a >= 1e3 {
        format!("{:.0}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

fn draw<DB: DrawingBackend>(area: DrawingArea<DB, Shift>, o: &Fan<'_>) -> anyhow::Result<()> {
    area.fill(&WHITE).map_err(failed)?;
    let initial = o.initial;
    let top = o.bands.iter().map(|b| b.wealth[4]).fold(initial, f64::max).max(1.0) * 1.05;
    let caption = format!(
        "Wealth percentiles, {} paths: success {:.1}%, median at year {} {}",
        o.paths,
        o.success_probability * 100.0,
        o.years,
        short_money(o.bands.last().map_or(initial, |b| b.wealth[2]))
    );
    let mut chart = ChartBuilder::on(&area)
        .caption(caption, ("sans-serif", 22))
        .margin(18)
        .x_label_area_size(42)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..f64::from(o.years), 0f64..top)
        .map_err(failed)?;
    chart
        .configure_mesh()
        .x_desc("year")
        .y_desc("wealth (nominal)")
        .y_label_formatter(&|v| short_money(*v))
        .x_label_formatter(&|v| format!("{v:.0}"))
        .draw()
        .map_err(failed)?;
    // Percentile i per year, starting from today's wealth at year 0.
    let series = |i: usize| -> Vec<(f64, f64)> {
        once((0.0, initial)).chain(o.bands.iter().map(|b| (f64::from(b.year), b.wealth[i]))).collect()
    };
    let band = |lo: usize, hi: usize| {
        let mut points = series(hi);
        points.extend(series(lo).into_iter().rev());
        points
    };
    let blue = RGBColor(31, 99, 179);
    for ((lo, hi), alpha, label) in [((0, 4), 0.18, "5-95%"), ((1, 3), 0.38, "25-75%")] {
        chart
            .draw_series(once(Polygon::new(band(lo, hi), blue.mix(alpha).filled())))
            .map_err(failed)?
            .label(label)
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 18, y + 6)], blue.mix(alpha).filled()));
    }
    chart
        .draw_series(LineSeries::new(series(2), blue.stroke_width(3)))
        .map_err(failed)?
        .label("median")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], blue.stroke_width(3)));
    legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    area.present().map_err(failed)
}

/// The series' legend in a white box.
fn legend<'a, DB: DrawingBackend + 'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> anyhow::Result<()> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font(("sans-serif", 16))
        .draw()
        .map_err(failed)
}
