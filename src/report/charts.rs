//! Charts as PNG and SVG, drawn with plotters and an embedded font
//! (DejaVu Sans), so nothing depends on the fonts of the machine.

use std::path::Path;
use std::sync::Once;

use anyhow::{Result, anyhow};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::files::{publish, temp_path, write_atomic};
use super::format::short;

static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

pub(crate) fn register_font() {
    REGISTER.call_once(|| {
        // The font is compiled in; failing to parse it is a build defect.
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).unwrap_or_else(|_| {
            panic!("embedded DejaVu Sans font failed to parse");
        });
    });
}

/// One line of a chart.
#[derive(Default)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// A line chart over simulated time.
#[derive(Default)]
pub struct LineChart {
    pub title: String,
    /// A label ending in `(min)` says x is simulated minutes: an axis that
    /// spans more than 3 h is drawn in hours instead (and says `(h)`).
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
    /// Points drawn as markers on the primary axis (e.g. scaling actions).
    pub markers: Vec<Series>,
    /// Lines on a second y axis at the right (e.g. traffic behind instances).
    pub secondary: Option<(String, Vec<Series>)>,
    /// Series are parts of a whole: drawn as filled bands, each on top of
    /// the ones before (all series share their x values).
    pub stacked: bool,
    /// Instants drawn as vertical lines across the plot, one colour per
    /// name (e.g. the faults of a run).
    pub instants: Vec<(String, Vec<f64>)>,
    /// Periods shaded across the plot, one colour per name (e.g. deploys).
    pub periods: Vec<(String, Vec<(f64, f64)>)>,
    /// Horizontal dashed lines on the primary axis, named in the legend (an
    /// SLO's threshold, an autoscaler's target); the axis always shows them.
    pub references: Vec<(String, f64)>,
}

const SIZE: (u32, u32) = (1000, 560);

const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// A chart that can draw itself on any plotters backend; `raster` when
/// the backend is a bitmap (the PNG), which draws thick lines differently.
pub trait Chart {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        raster: bool,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>;
}

impl Chart for LineChart {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        raster: bool,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        draw_lines(root, self, raster)
    }
}

/// Writes `<base>.png` and `<base>.svg` into `dir`.
pub fn write_chart<C: Chart>(dir: &Path, base: &str, chart: &C) -> Result<()> {
    register_font();
    let png = dir.join(format!("{base}.png"));
    let tmp = temp_path(&png);
    {
        let root = BitMapBackend::new(&tmp, SIZE).into_drawing_area();
        chart
            .draw(&root, true)
            .map_err(|e| anyhow!("drawing {}: {e}", png.display()))?;
        root.present().map_err(|e| anyhow!("writing {}: {e}", png.display()))?;
    }
    publish(&tmp, &png)?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        chart
            .draw(&root, false)
            .map_err(|e| anyhow!("drawing {base}.svg: {e}"))?;
        root.present().map_err(|e| anyhow!("drawing {base}.svg: {e}"))?;
    }
    write_atomic(&dir.join(format!("{base}.svg")), svg.as_bytes())
}

/// A grid of values over two categorical axes, each cell labelled with
/// its value and shaded on one sequential scale from zero (light) to the
/// largest value (dark), with the scale drawn as a key: 147 and 151 look
/// alike, as they are, rather than as the two ends of a colour range.
pub struct Heatmap {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_values: Vec<String>,
    pub y_values: Vec<String>,
    /// `cells[y][x]`; NaN cells are left blank.
    pub cells: Vec<Vec<f64>>,
}

impl Chart for Heatmap {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        _raster: bool,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        root.fill(&WHITE)?;
        let (nx, ny) = (self.x_values.len().max(1), self.y_values.len().max(1));
        let finite: Vec<f64> = self.cells.iter().flatten().copied().filter(|v| v.is_finite()).collect();
        // The scale runs from zero (or the least value, if negative) to the largest.
        let lo = finite.iter().copied().fold(0.0, f64::min);
        let hi = finite.iter().copied().fold(lo, f64::max);
        let (plot, key) = root.split_horizontally(SIZE.0 - 120);
        draw_key(&key, lo, hi)?;
        let mut ctx = ChartBuilder::on(&plot)
            .caption(&self.title, ("sans-serif", 24))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(90)
            .build_cartesian_2d(0f64..nx as f64, 0f64..ny as f64)?;
        let xs = self.x_values.clone();
        let ys = self.y_values.clone();
        ctx.configure_mesh()
            .disable_mesh()
            .x_desc(self.x_label.as_str())
            .y_desc(self.y_label.as_str())
            .x_labels(nx * 2 + 1)
            .y_labels(ny * 2 + 1)
            .x_label_formatter(&|v| label_at(&xs, *v))
            .y_label_formatter(&|v| label_at(&ys, *v))
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 16))
            .draw()?;
        for (y, row) in self.cells.iter().enumerate() {
            for (x, v) in row.iter().enumerate() {
                if !v.is_finite() {
                    continue;
                }
                let t = share(*v, lo, hi);
                let (x0, y0) = (x as f64, y as f64);
                ctx.draw_series(std::iter::once(Rectangle::new(
                    [(x0, y0), (x0 + 1.0, y0 + 1.0)],
                    shade(t).filled(),
                )))?;
                let ink = if t > 0.55 { WHITE } else { BLACK };
                ctx.draw_series(std::iter::once(Text::new(
                    short(*v),
                    (x0 + 0.35, y0 + 0.55),
                    ("sans-serif", 14).into_font().color(&ink),
                )))?;
            }
        }
        Ok(())
    }
}

/// Where `v` lies between `lo` and `hi`, from 0 to 1.
fn share(v: f64, lo: f64, hi: f64) -> f64 {
    if hi > lo {
        ((v - lo) / (hi - lo)).clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// A sequential blue scale, light at 0 to dark at 1.
fn shade(t: f64) -> RGBColor {
    let mix = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    RGBColor(mix(235.0, 8.0), mix(242.0, 48.0), mix(252.0, 107.0))
}

/// The heatmap's key: the scale as a bar from `lo` (bottom) to `hi`, with
/// its ends and middle labelled.
fn draw_key<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    lo: f64,
    hi: f64,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let (top, bottom, left) = (60i32, 480i32, 20i32);
    let steps = 100;
    for i in 0..steps {
        let t = f64::from(i) / f64::from(steps);
        let y = bottom - (f64::from(bottom - top) * (t + 1.0 / f64::from(steps))).round() as i32;
        let y_low = bottom - (f64::from(bottom - top) * t).round() as i32;
        area.draw(&Rectangle::new([(left, y), (left + 24, y_low)], shade(t).filled()))?;
    }
    area.draw(&Rectangle::new(
        [(left, top), (left + 24, bottom)],
        BLACK.stroke_width(1),
    ))?;
    let style = ("sans-serif", 14).into_font().color(&BLACK);
    for t in [0.0, 0.5, 1.0] {
        let y = bottom - (f64::from(bottom - top) * t).round() as i32;
        area.draw(&Text::new(short(lo + (hi - lo) * t), (left + 30, y - 7), style.clone()))?;
    }
    Ok(())
}

/// The category label at a cell's centre (x.5), blank elsewhere.
fn label_at(values: &[String], v: f64) -> String {
    let i = v.floor();
    if (v - i - 0.5).abs() < 1e-6 && i >= 0.0 {
        values.get(i as usize).cloned().unwrap_or_default()
    } else {
        String::new()
    }
}

/// Each series' points raised by the sum of the series before it (NaN counts as 0).
fn stack(series: &[Series]) -> Vec<Series> {
    let mut base: Vec<f64> = Vec::new();
    series
        .iter()
        .map(|s| {
            base.resize(base.len().max(s.points.len()), 0.0);
            let points = s
                .points
                .iter()
                .zip(base.iter_mut())
                .map(|(&(x, y), b)| {
                    *b += if y.is_finite() { y } else { 0.0 };
                    (x, *b)
                })
                .collect();
            Series {
                name: s.name.clone(),
                points,
            }
        })
        .collect()
}

/// A line through `points` as its segments, each drawn on its own. On a
/// bitmap, plotters joins a thick path's segments with miters of unbounded
/// length, which on a jagged line (a p99 per interval) shoot far past its
/// points, through the title and below the axis; segments have no joins.
/// (SVG viewers bound their miters, so the SVG keeps one path per line.)
fn segments(points: &[(f64, f64)], style: ShapeStyle) -> Vec<PathElement<(f64, f64)>> {
    match points {
        [single] => vec![PathElement::new(vec![*single, *single], style)],
        _ => points
            .windows(2)
            .map(|w| PathElement::new(vec![w[0], w[1]], style))
            .collect(),
    }
}

fn draw_lines<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &LineChart,
    raster: bool,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let finite = |p: &&(f64, f64)| p.0.is_finite() && p.1.is_finite();
    let stacked = if chart.stacked {
        stack(&chart.series)
    } else {
        Vec::new()
    };
    let lines = if chart.stacked { &stacked } else { &chart.series };
    let all = (lines.iter().chain(&chart.markers)).flat_map(|s| s.points.iter().filter(finite));
    let (mut x0, mut x1, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, 0.0f64);
    for (x, y) in all {
        x0 = x0.min(*x);
        x1 = x1.max(*x);
        y1 = y1.max(*y);
    }
    if !x0.is_finite() {
        (x0, x1) = (0.0, 1.0);
    }
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    for (_, y) in chart.markers.iter().flat_map(|s| s.points.iter().filter(finite)) {
        y1 = y1.max(*y);
    }
    for (_, y) in chart.references.iter().filter(|(_, y)| y.is_finite()) {
        y1 = y1.max(*y);
    }
    // Room above the data for the legend (upper left), so it covers none:
    // about 20 px an entry over a plot about 440 px high.
    let entries = lines.len()
        + chart.markers.len()
        + chart.instants.len()
        + chart.periods.len()
        + chart.references.len()
        + chart.secondary.as_ref().map_or(0, |(_, s)| s.len());
    let legend = (20.0 * entries as f64 + 16.0) / 440.0;
    let y1 = if y1 > 0.0 {
        y1 * 1.05 / (1.0 - legend.min(0.6))
    } else {
        1.0
    };
    // Minutes over more than 3 h read better as hours.
    let hours = chart.x_label.ends_with("(min)") && x1 - x0 > 180.0;
    let x_desc = if hours {
        format!("{}(h)", chart.x_label.trim_end_matches("(min)"))
    } else {
        chart.x_label.clone()
    };
    // Drawn in the axis' unit, so its ticks fall on round hours.
    let scale = if hours { 60.0 } else { 1.0 };
    let (x0, x1) = (x0 / scale, x1 / scale);
    let at = move |&(x, y): &(f64, f64)| (x / scale, y);
    let x_tick = |v: &f64| short(*v);
    let y_tick = |v: &f64| short(*v);
    let y2 = chart
        .secondary
        .iter()
        .flat_map(|(_, series)| series.iter().flat_map(|s| s.points.iter().filter(finite)))
        .fold(0.0f64, |m, (_, y)| m.max(*y));
    let y2 = if y2 > 0.0 {
        y2 * 1.05 / (1.0 - legend.min(0.6))
    } else {
        1.0
    };
    let mut ctx = ChartBuilder::on(root)
        .caption(&chart.title, ("sans-serif", 24))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .right_y_label_area_size(if chart.secondary.is_some() { 72 } else { 0 })
        .build_cartesian_2d(x0..x1, 0.0..y1)?
        .set_secondary_coord(x0..x1, 0.0..y2);
    ctx.configure_mesh()
        .x_desc(x_desc.as_str())
        .y_desc(chart.y_label.as_str())
        .x_label_formatter(&x_tick)
        .y_label_formatter(&y_tick)
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()?;
    let mut color_index = 0;
    // Shaded periods under the series, instants as lines over them; their
    // colours come after the series' in the palette.
    let mut overlay_index = lines.len() + chart.markers.len();
    for (name, spans) in &chart.periods {
        let color = PALETTE[overlay_index % PALETTE.len()];
        overlay_index += 1;
        let style = color.mix(0.15).filled();
        ctx.draw_series(
            spans
                .iter()
                .filter(|(a, b)| a.is_finite() && b.is_finite())
                .map(move |&(a, b)| Rectangle::new([(a / scale, 0.0), (b / scale, y1)], style)),
        )?
        .label(name.as_str())
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 18, y + 5)], style));
    }
    if let Some((label, series)) = &chart.secondary {
        ctx.configure_secondary_axes()
            .y_desc(label.as_str())
            .y_label_formatter(&y_tick)
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 16))
            .draw()?;
        for s in series {
            let color = RGBColor(170, 170, 170);
            let pts: Vec<(f64, f64)> = s.points.iter().filter(finite).map(at).collect();
            let style = color.stroke_width(2);
            let drawn = if raster {
                ctx.draw_secondary_series(segments(&pts, style))?
            } else {
                ctx.draw_secondary_series(LineSeries::new(pts, style))?
            };
            drawn
                .label(format!("{} (right axis)", s.name))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(3)));
        }
    }
    if chart.stacked {
        // Top band first, so each lower band paints over the part below it.
        for (i, s) in lines.iter().enumerate().rev() {
            let color = PALETTE[i % PALETTE.len()];
            let pts: Vec<(f64, f64)> = s.points.iter().filter(finite).map(at).collect();
            ctx.draw_series(AreaSeries::new(pts, 0.0, color.mix(0.85).filled()).border_style(color))?
                .label(s.name.as_str())
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 18, y + 5)], color.filled()));
        }
        color_index = lines.len();
    } else {
        for s in lines {
            let color = PALETTE[color_index % PALETTE.len()];
            color_index += 1;
            let pts: Vec<(f64, f64)> = s.points.iter().filter(finite).map(at).collect();
            let style = color.stroke_width(2);
            let drawn = if raster {
                ctx.draw_series(segments(&pts, style))?
            } else {
                ctx.draw_series(LineSeries::new(pts, style))?
            };
            drawn
                .label(s.name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(3)));
        }
    }
    for (name, at) in &chart.instants {
        let color = PALETTE[overlay_index % PALETTE.len()];
        overlay_index += 1;
        let style = color.mix(0.7).stroke_width(1);
        ctx.draw_series(
            at.iter()
                .filter(|x| x.is_finite())
                .map(move |&x| PathElement::new(vec![(x / scale, 0.0), (x / scale, y1)], style)),
        )?
        .label(name.as_str())
        .legend(move |(x, y)| PathElement::new(vec![(x + 9, y - 6), (x + 9, y + 6)], color.stroke_width(2)));
    }
    for (name, y) in chart.references.iter().filter(|(_, y)| y.is_finite()) {
        let style = RGBColor(60, 60, 60).stroke_width(1);
        ctx.draw_series(DashedLineSeries::new([(x0, *y), (x1, *y)], 8, 5, style))?
            .label(name.as_str())
            .legend(move |(x, y)| plotters::element::DashedPathElement::new(vec![(x, y), (x + 18, y)], 5, 3, style));
    }
    for s in &chart.markers {
        let color = PALETTE[color_index % PALETTE.len()];
        color_index += 1;
        let pts: Vec<(f64, f64)> = s.points.iter().filter(finite).map(at).collect();
        ctx.draw_series(pts.into_iter().map(move |p| Circle::new(p, 4, color.filled())))?
            .label(s.name.as_str())
            .legend(move |(x, y)| Circle::new((x + 9, y), 4, color.filled()));
    }
    ctx.configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(200, 200, 200))
        .label_font(("sans-serif", 14))
        .position(SeriesLabelPosition::UpperLeft)
        .draw()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Draws `chart` into an RGB buffer as the PNG is drawn.
    fn pixels(chart: &LineChart) -> Vec<u8> {
        register_font();
        let mut buffer = vec![0u8; (SIZE.0 * SIZE.1 * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut buffer, SIZE).into_drawing_area();
            chart.draw(&root, true).unwrap();
            root.present().unwrap();
        }
        buffer
    }

    /// Rows of the image holding a pixel of `color`.
    fn rows_with(buffer: &[u8], color: RGBColor) -> Vec<u32> {
        (0..SIZE.1)
            .filter(|&y| {
                (0..SIZE.0).any(|x| {
                    let i = ((y * SIZE.0 + x) * 3) as usize;
                    buffer[i..i + 3] == [color.0, color.1, color.2]
                })
            })
            .collect()
    }

    /// The texts of `chart` drawn as SVG (plotters writes each on its own line).
    fn svg_texts(chart: &LineChart) -> Vec<String> {
        register_font();
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
            chart.draw(&root, false).unwrap();
            root.present().unwrap();
        }
        let lines: Vec<&str> = svg.lines().collect();
        lines
            .windows(2)
            .filter(|w| w[0].starts_with("<text"))
            .map(|w| w[1].to_string())
            .collect()
    }

    fn over_minutes(end: u32) -> LineChart {
        LineChart {
            title: "t".into(),
            x_label: "simulated time (min)".into(),
            y_label: "latency (ms)".into(),
            series: vec![Series {
                name: "p99".into(),
                points: (0..=end).map(|m| (f64::from(m), 100.0 + f64::from(m % 5))).collect(),
            }],
            references: vec![("SLO: p99 ≤ 250 ms".into(), 250.0)],
            ..LineChart::default()
        }
    }

    #[test]
    fn a_long_run_is_drawn_in_hours_with_round_ticks() {
        let texts = svg_texts(&over_minutes(1440));
        assert!(texts.iter().any(|t| t == "simulated time (h)"), "{texts:?}");
        for hour in ["5", "10", "15", "20"] {
            assert!(texts.iter().any(|t| t == hour), "no tick at {hour} h: {texts:?}");
        }
        // No tick is written with a needless `.0`.
        assert!(!texts.iter().any(|t| t.ends_with(".0")), "{texts:?}");
        // A short run stays in minutes.
        let texts = svg_texts(&over_minutes(60));
        assert!(texts.iter().any(|t| t == "simulated time (min)"), "{texts:?}");
    }

    #[test]
    fn a_reference_line_is_named_and_in_range() {
        let texts = svg_texts(&over_minutes(60));
        assert!(texts.iter().any(|t| t == "SLO: p99 ≤ 250 ms"), "{texts:?}");
        // The axis reaches the reference, above the data (at most 104).
        let top = texts.iter().filter_map(|t| t.parse::<f64>().ok()).fold(0.0, f64::max);
        assert!(top >= 250.0, "the y axis stops at {top}: {texts:?}");
    }

    #[test]
    fn the_legend_sits_above_the_data() {
        // A flat line at the top of the data, four legend entries: the
        // legend box (upper left) must not cover any of it.
        let chart = LineChart {
            title: "t".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            series: (0..4)
                .map(|k| Series {
                    name: format!("s{k}"),
                    points: (0..100).map(|x| (f64::from(x), 100.0 - f64::from(k))).collect(),
                })
                .collect(),
            ..LineChart::default()
        };
        let buffer = pixels(&chart);
        let has = |x: u32, y: u32, c: RGBColor| {
            let i = ((y * SIZE.0 + x) * 3) as usize;
            buffer[i..i + 3] == [c.0, c.1, c.2]
        };
        let (mut data_top, mut legend_bottom) = (u32::MAX, 0);
        for color in &PALETTE[..4] {
            // The lines cross the whole plot; the legend's samples are at its left.
            let data: Vec<u32> = (0..SIZE.1).filter(|&y| has(900, y, *color)).collect();
            let samples = (0..SIZE.1).filter(|&y| !data.contains(&y) && (0..300).any(|x| has(x, y, *color)));
            data_top = data_top.min(*data.first().unwrap());
            legend_bottom = legend_bottom.max(samples.max().unwrap());
        }
        // The last sample's row and the box's padding below it.
        assert!(
            data_top > legend_bottom + 8,
            "the data at row {data_top} runs under the legend (its last entry at {legend_bottom})"
        );
    }

    #[test]
    fn a_heatmap_shades_from_zero_and_draws_its_key() {
        // 147 and 151 ms are 3% apart, and look it: on a scale from zero
        // their shades differ by a few levels, not blue against red.
        let (a, b) = (shade(share(147.0, 0.0, 151.0)), shade(share(151.0, 0.0, 151.0)));
        for (x, y) in [(a.0, b.0), (a.1, b.1), (a.2, b.2)] {
            assert!(x.abs_diff(y) <= 8, "{a:?} against {b:?}");
        }
        assert_ne!(shade(0.0), shade(1.0));
        let map = Heatmap {
            title: "p99".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            x_values: vec!["a".into(), "b".into()],
            y_values: vec!["c".into()],
            cells: vec![vec![147.0, 151.0]],
        };
        register_font();
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
            map.draw(&root, false).unwrap();
            root.present().unwrap();
        }
        for label in ["0", "75.5", "151"] {
            assert!(svg.lines().any(|l| l == label), "the key lacks {label}");
        }
    }

    #[test]
    fn a_jagged_line_stays_between_its_lowest_and_highest_points() {
        // Per-interval p99 as it looks on a long run: sharp reversals every point.
        let points: Vec<(f64, f64)> = (0..1440)
            .map(|i| (f64::from(i), if i % 2 == 0 { 100.0 } else { 140.0 + f64::from(i % 7) }))
            .collect();
        let chart = LineChart {
            title: "jagged".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            series: vec![Series {
                name: "p99".into(),
                points,
            }],
            ..LineChart::default()
        };
        let rows = rows_with(&pixels(&chart), PALETTE[0]);
        // The y axis runs from 0 to 146 × 1.08 over the plot's height; the
        // line's own pixels lie between 100 and 146, in the upper part.
        let (top, bottom) = (*rows.first().unwrap(), *rows.last().unwrap());
        assert!(top > 60, "the line reaches row {top}, into the title");
        assert!(
            bottom < 300,
            "the line reaches row {bottom}, far below its lowest point"
        );
    }
}
