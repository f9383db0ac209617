//! A small, dependency-free SVG chart writer for reports (latency plots, the options GEX plot,
//! equity curves).
//!
//! A [`Chart`] is built with a fluent API and rendered to a self-contained SVG document string:
//!
//! ```
//! use mia_perf::svg::Chart;
//!
//! let svg = Chart::new("Latency percentiles")
//!     .x_label("1/(1-p)")
//!     .y_label("latency (µs)")
//!     .log_x(true)
//!     .line("end_to_end", &[(1.0, 0.8), (10.0, 1.2), (100.0, 3.5)])
//!     .vline(10.0, "p90")
//!     .render();
//! assert!(svg.starts_with("<svg"));
//! ```
//!
//! Supported: line series (several, each with its own colour and a legend entry; a colour and
//! a dash may be chosen), bar series (positive bars in green, negative in red, e.g. GEX by
//! strike), point series (scatter markers of one colour, e.g. trade entries), vertical marker
//! lines with a label, horizontal reference lines, linear or log-10 axes, automatic "nice"
//! ticks or caller supplied x ticks, title, axis labels and a legend. All text is XML-escaped.
//! Several charts can be inlined in one HTML page: give each its own [`Chart::id`] (the clip
//! path's id).
//!
//! Conventions:
//! - points whose coordinates are not finite are skipped, and so are points with a
//!   non-positive coordinate on a log axis (a log axis cannot show them);
//! - the axis ranges cover every drawn point and marker; a linear y axis always includes 0 when
//!   the chart has bars, so bars grow from the zero line;
//! - a log axis is widened to whole decades;
//! - several bar series share the same x positions and are drawn on top of each other in the
//!   order they were added (use one bar series per chart for readable output).

use std::fmt::Write as _;

/// Colour cycle for line series (the "category10" palette).
const PALETTE: [&str; 10] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
    "#17becf",
];

/// Colour of positive bars.
pub const BAR_POSITIVE: &str = "#2ca02c";
/// Colour of negative bars.
pub const BAR_NEGATIVE: &str = "#d62728";

/// Attributes of marker labels: small dark text with a white halo, readable over bars and lines.
const LABEL_STYLE: &str =
    "font-size=\"11\" fill=\"#333333\" stroke=\"white\" stroke-width=\"3\" paint-order=\"stroke\"";

/// Left margin (room for y tick labels and the y label), pixels.
const MARGIN_LEFT: f64 = 80.0;
/// Right margin, pixels.
const MARGIN_RIGHT: f64 = 30.0;
/// Top margin (room for the title), pixels.
const MARGIN_TOP: f64 = 50.0;
/// Bottom margin (room for x tick labels and the x label), pixels.
const MARGIN_BOTTOM: f64 = 60.0;

/// Escapes `s` for use in XML text and attribute values (`& < > " '`).
pub fn escape_xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters other than tab / newline are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' && c != '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// How a series is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Line,
    Bars,
    Points,
}

/// One named data series.
#[derive(Clone, Debug)]
struct Series {
    name: String,
    kind: Kind,
    points: Vec<(f64, f64)>,
    /// Chosen colour (lines and points); `None`: the next palette colour.
    color: Option<String>,
    /// Dashed line.
    dashed: bool,
}

/// A vertical marker line at `x` with a label.
#[derive(Clone, Debug)]
struct Marker {
    at: f64,
    label: String,
}

/// A chart under construction; see the [module docs](self).
#[derive(Clone, Debug)]
pub struct Chart {
    title: String,
    x_label: String,
    y_label: String,
    log_x: bool,
    log_y: bool,
    width: f64,
    height: f64,
    series: Vec<Series>,
    vlines: Vec<Marker>,
    hlines: Vec<Marker>,
    x_ticks: Option<Vec<(f64, String)>>,
    id: String,
}

/// A numeric axis range and scale.
#[derive(Clone, Copy, Debug)]
struct Axis {
    /// Lower bound in axis units (log10 of the value on a log axis).
    lo: f64,
    /// Upper bound in axis units.
    hi: f64,
    log: bool,
}

impl Axis {
    /// Axis units of a data value (`None` if it cannot be shown on this axis).
    fn unit(&self, v: f64) -> Option<f64> {
        if !v.is_finite() {
            return None;
        }
        if self.log {
            if v <= 0.0 {
                None
            } else {
                Some(v.log10())
            }
        } else {
            Some(v)
        }
    }

    /// Fraction of the axis span (0 at `lo`, 1 at `hi`) of a value in axis units.
    fn frac(&self, u: f64) -> f64 {
        (u - self.lo) / (self.hi - self.lo)
    }

    /// Builds an axis covering the given values (already filtered for this scale).
    fn covering(values: impl Iterator<Item = f64>, log: bool, include_zero: bool, pad: bool) -> Self {
        let mut lo = f64::INFINITY;
        let mut hi = f64::NEG_INFINITY;
        for v in values {
            let u = if log { v.log10() } else { v };
            lo = lo.min(u);
            hi = hi.max(u);
        }
        if include_zero && !log {
            lo = lo.min(0.0);
            hi = hi.max(0.0);
        }
        if !lo.is_finite() || !hi.is_finite() {
            // No data: a unit range.
            return Self { lo: 0.0, hi: 1.0, log };
        }
        if log {
            let (mut l, mut h) = (lo.floor(), hi.ceil());
            if h <= l {
                l -= 1.0;
                h += 1.0;
            }
            return Self { lo: l, hi: h, log };
        }
        if hi <= lo {
            let d = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
            lo -= d;
            hi += d;
        } else if pad {
            let d = (hi - lo) * 0.05;
            // Keep an exact zero baseline when the data sits on one side of it.
            if lo != 0.0 {
                lo -= d;
            }
            if hi != 0.0 {
                hi += d;
            }
        }
        Self { lo, hi, log }
    }

    /// Tick positions (data values) and labels.
    fn ticks(&self) -> Vec<(f64, String)> {
        if self.log {
            let mut out = Vec::new();
            let first = self.lo.ceil() as i32;
            let last = self.hi.floor() as i32;
            let decades = last - first;
            for k in first..=last {
                let v = 10f64.powi(k);
                out.push((v, format_num(v, 0.0)));
                // With few decades, intermediate 2 and 5 ticks help the reader.
                if decades <= 2 && k < last {
                    for m in [2.0, 5.0] {
                        let w = m * v;
                        out.push((w, format_num(w, 0.0)));
                    }
                }
            }
            return out;
        }
        let step = nice_step((self.hi - self.lo) / 6.0);
        let mut out = Vec::new();
        let start = (self.lo / step).ceil() as i64;
        let end = (self.hi / step).floor() as i64;
        for i in start..=end {
            let v = i as f64 * step;
            // Avoid "-0".
            let v = if v == 0.0 { 0.0 } else { v };
            out.push((v, format_num(v, step)));
        }
        out
    }
}

/// A "nice" tick step (1, 2 or 5 × 10^k) not smaller than `raw`.
fn nice_step(raw: f64) -> f64 {
    if raw <= 0.0 || !raw.is_finite() {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let m = if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    };
    m * mag
}

/// Formats a tick value compactly; `step` (0 for log ticks) decides the decimals.
fn format_num(v: f64, step: f64) -> String {
    let a = v.abs();
    if a != 0.0 && !(1e-4..1e7).contains(&a) {
        return format!("{v:e}");
    }
    if step > 0.0 {
        let decimals = if step >= 1.0 { 0 } else { (-step.log10().floor()) as usize };
        return format!("{v:.decimals$}");
    }
    if a >= 1.0 || a == 0.0 {
        format!("{v:.0}")
    } else {
        let decimals = (-a.log10().floor()) as usize;
        format!("{v:.decimals$}")
    }
}

impl Chart {
    /// A new chart with a title, 900×500 pixels, linear axes and no series.
    pub fn new(title: &str) -> Self {
        Self {
            title: title.to_owned(),
            x_label: String::new(),
            y_label: String::new(),
            log_x: false,
            log_y: false,
            width: 900.0,
            height: 500.0,
            series: Vec::new(),
            vlines: Vec::new(),
            hlines: Vec::new(),
            x_ticks: None,
            id: "plot-area".to_owned(),
        }
    }

    /// Sets the id of the chart's clip path (default `plot-area`); charts inlined in one
    /// document need distinct ids. Characters other than ASCII letters, digits, `-` and `_`
    /// become `_`.
    pub fn id(mut self, id: &str) -> Self {
        self.id = id
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
            .collect();
        self
    }

    /// Sets the x axis label.
    pub fn x_label(mut self, label: &str) -> Self {
        self.x_label = label.to_owned();
        self
    }

    /// Sets the y axis label.
    pub fn y_label(mut self, label: &str) -> Self {
        self.y_label = label.to_owned();
        self
    }

    /// Log-10 x axis when `on`.
    pub fn log_x(mut self, on: bool) -> Self {
        self.log_x = on;
        self
    }

    /// Log-10 y axis when `on`.
    pub fn log_y(mut self, on: bool) -> Self {
        self.log_y = on;
        self
    }

    /// Sets the picture size in pixels (each clamped to at least 200).
    pub fn size(mut self, width: u32, height: u32) -> Self {
        self.width = f64::from(width.max(200));
        self.height = f64::from(height.max(200));
        self
    }

    /// Adds a line series (points are drawn in the given order).
    pub fn line(mut self, name: &str, points: &[(f64, f64)]) -> Self {
        self.series.push(Series {
            name: name.to_owned(),
            kind: Kind::Line,
            points: points.to_vec(),
            color: None,
            dashed: false,
        });
        self
    }

    /// Adds a line series in a chosen colour (any SVG colour, e.g. `#ff7f0e`), dashed when
    /// `dashed`.
    pub fn styled_line(mut self, name: &str, points: &[(f64, f64)], color: &str, dashed: bool) -> Self {
        self.series.push(Series {
            name: name.to_owned(),
            kind: Kind::Line,
            points: points.to_vec(),
            color: Some(color.to_owned()),
            dashed,
        });
        self
    }

    /// Adds a point series: a marker (circle) at each point, in `color`.
    pub fn points(mut self, name: &str, points: &[(f64, f64)], color: &str) -> Self {
        self.series.push(Series {
            name: name.to_owned(),
            kind: Kind::Points,
            points: points.to_vec(),
            color: Some(color.to_owned()),
            dashed: false,
        });
        self
    }

    /// Adds a bar series: one bar per point, from y = 0 to the point's y, centred on its x;
    /// positive bars in [`BAR_POSITIVE`], negative ones in [`BAR_NEGATIVE`].
    pub fn bars(mut self, name: &str, points: &[(f64, f64)]) -> Self {
        self.series.push(Series {
            name: name.to_owned(),
            kind: Kind::Bars,
            points: points.to_vec(),
            color: None,
            dashed: false,
        });
        self
    }

    /// Adds a dashed vertical marker line at `x` with a label.
    pub fn vline(mut self, x: f64, label: &str) -> Self {
        self.vlines.push(Marker { at: x, label: label.to_owned() });
        self
    }

    /// Adds a dashed horizontal reference line at `y` with a label (e.g. a latency budget).
    pub fn hline(mut self, y: f64, label: &str) -> Self {
        self.hlines.push(Marker { at: y, label: label.to_owned() });
        self
    }

    /// Replaces the automatic x ticks by the given (value, label) pairs, e.g.
    /// `(10.0, "90%")` on a percentile-spectrum plot. Ticks outside the axis range are dropped.
    pub fn x_ticks(mut self, ticks: &[(f64, &str)]) -> Self {
        self.x_ticks = Some(ticks.iter().map(|(v, l)| (*v, (*l).to_owned())).collect());
        self
    }

    /// Renders the chart as a standalone SVG document.
    pub fn render(&self) -> String {
        let xa = self.x_axis();
        let ya = self.y_axis();
        let (w, h) = (self.width, self.height);
        let plot_w = w - MARGIN_LEFT - MARGIN_RIGHT;
        let plot_h = h - MARGIN_TOP - MARGIN_BOTTOM;
        let px = |u: f64| MARGIN_LEFT + xa.frac(u) * plot_w;
        let py = |u: f64| MARGIN_TOP + (1.0 - ya.frac(u)) * plot_h;

        let mut s = String::with_capacity(4096);
        // Writing to a String cannot fail; the results of write! are ignored on purpose.
        let _ = writeln!(
            s,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" \
             viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"12\">"
        );
        let _ = writeln!(s, "<rect x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\" fill=\"white\"/>");
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"28\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">{}</text>",
            w / 2.0,
            escape_xml(&self.title)
        );

        // Grid, ticks and tick labels.
        let _ = writeln!(s, "<g class=\"axes\" stroke=\"#dddddd\" stroke-width=\"1\">");
        let x_ticks = match &self.x_ticks {
            Some(t) => t.clone(),
            None => xa.ticks(),
        };
        let mut labels = String::new();
        for (v, label) in &x_ticks {
            let Some(u) = xa.unit(*v) else { continue };
            if u < xa.lo - 1e-9 || u > xa.hi + 1e-9 {
                continue;
            }
            let x = px(u);
            let _ = writeln!(
                s,
                "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\"/>",
                MARGIN_TOP,
                MARGIN_TOP + plot_h
            );
            let _ = writeln!(
                labels,
                "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                MARGIN_TOP + plot_h + 16.0,
                escape_xml(label)
            );
        }
        for (v, label) in ya.ticks() {
            let Some(u) = ya.unit(v) else { continue };
            if u < ya.lo - 1e-9 || u > ya.hi + 1e-9 {
                continue;
            }
            let y = py(u);
            let _ = writeln!(
                s,
                "<line x1=\"{:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\"/>",
                MARGIN_LEFT,
                MARGIN_LEFT + plot_w
            );
            let _ = writeln!(
                labels,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
                MARGIN_LEFT - 6.0,
                y + 4.0,
                escape_xml(&label)
            );
        }
        s.push_str("</g>\n");
        let _ = writeln!(s, "<g class=\"tick-labels\" fill=\"#333333\">\n{labels}</g>");
        let _ = writeln!(
            s,
            "<rect x=\"{MARGIN_LEFT}\" y=\"{MARGIN_TOP}\" width=\"{plot_w:.1}\" height=\"{plot_h:.1}\" \
             fill=\"none\" stroke=\"#333333\" stroke-width=\"1\"/>"
        );
        // Axis labels.
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            MARGIN_LEFT + plot_w / 2.0,
            h - 14.0,
            escape_xml(&self.x_label)
        );
        let _ = writeln!(
            s,
            "<text x=\"18\" y=\"{0:.1}\" text-anchor=\"middle\" transform=\"rotate(-90 18 {0:.1})\">{1}</text>",
            MARGIN_TOP + plot_h / 2.0,
            escape_xml(&self.y_label)
        );

        // Series, clipped to the plot area.
        let _ = writeln!(
            s,
            "<clipPath id=\"{}\"><rect x=\"{MARGIN_LEFT}\" y=\"{MARGIN_TOP}\" \
             width=\"{plot_w:.1}\" height=\"{plot_h:.1}\"/></clipPath>",
            self.id
        );
        let _ = writeln!(s, "<g clip-path=\"url(#{})\">", self.id);
        let bar_w = self.bar_width(&xa, plot_w);
        let mut line_idx = 0usize;
        for series in &self.series {
            match series.kind {
                Kind::Line => {
                    let color = self.series_color(series, &mut line_idx);
                    let dash = if series.dashed { " stroke-dasharray=\"6,4\"" } else { "" };
                    let mut pts = String::new();
                    for &(x, y) in &series.points {
                        if let (Some(ux), Some(uy)) = (xa.unit(x), ya.unit(y)) {
                            let _ = write!(pts, "{:.2},{:.2} ", px(ux), py(uy));
                        }
                    }
                    let _ = writeln!(
                        s,
                        "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"{dash} points=\"{}\">\
                         <title>{}</title></polyline>",
                        pts.trim_end(),
                        escape_xml(&series.name)
                    );
                }
                Kind::Bars => {
                    let _ = writeln!(s, "<g class=\"bars\"><title>{}</title>", escape_xml(&series.name));
                    // Bars grow from zero (or from the bottom of a log axis).
                    let base = if ya.log { ya.lo } else { 0.0 };
                    for &(x, y) in &series.points {
                        let (Some(ux), Some(uy)) = (xa.unit(x), ya.unit(y)) else { continue };
                        let (top, bottom) = if uy >= base { (py(uy), py(base)) } else { (py(base), py(uy)) };
                        let color = if y >= 0.0 { BAR_POSITIVE } else { BAR_NEGATIVE };
                        let _ = writeln!(
                            s,
                            "<rect x=\"{:.2}\" y=\"{top:.2}\" width=\"{bar_w:.2}\" height=\"{:.2}\" fill=\"{color}\"/>",
                            px(ux) - bar_w / 2.0,
                            (bottom - top).max(0.0)
                        );
                    }
                    s.push_str("</g>\n");
                }
                Kind::Points => {
                    let color = self.series_color(series, &mut line_idx);
                    let _ = writeln!(
                        s,
                        "<g class=\"points\" fill=\"{color}\" stroke=\"#333333\" stroke-width=\"0.5\">\
                         <title>{}</title>",
                        escape_xml(&series.name)
                    );
                    for &(x, y) in &series.points {
                        if let (Some(ux), Some(uy)) = (xa.unit(x), ya.unit(y)) {
                            let _ =
                                writeln!(s, "<circle cx=\"{:.2}\" cy=\"{:.2}\" r=\"3.5\"/>", px(ux), py(uy));
                        }
                    }
                    s.push_str("</g>\n");
                }
            }
        }
        s.push_str("</g>\n");

        // Markers.
        for m in &self.vlines {
            let Some(u) = xa.unit(m.at) else { continue };
            let x = px(u);
            let _ = writeln!(
                s,
                "<line x1=\"{x:.1}\" y1=\"{MARGIN_TOP}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#555555\" \
                 stroke-width=\"1\" stroke-dasharray=\"5,4\"/>",
                MARGIN_TOP + plot_h
            );
            let ly = MARGIN_TOP + 6.0;
            let _ = writeln!(
                s,
                "<text x=\"{0:.1}\" y=\"{ly:.1}\" {LABEL_STYLE} \
                 transform=\"rotate(90 {0:.1} {ly:.1})\">{1}</text>",
                x + 3.0,
                escape_xml(&m.label)
            );
        }
        for m in &self.hlines {
            let Some(u) = ya.unit(m.at) else { continue };
            let y = py(u);
            let _ = writeln!(
                s,
                "<line x1=\"{MARGIN_LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#555555\" \
                 stroke-width=\"1\" stroke-dasharray=\"5,4\"/>",
                MARGIN_LEFT + plot_w
            );
            let _ = writeln!(
                s,
                "<text x=\"{:.1}\" y=\"{:.1}\" {LABEL_STYLE}>{}</text>",
                MARGIN_LEFT + 4.0,
                y - 3.0,
                escape_xml(&m.label)
            );
        }

        // Legend (a series with an empty name has no entry, e.g. the lower line of a band).
        let named = self.series.iter().filter(|x| !x.name.is_empty()).count();
        if named > 0 {
            let lx = MARGIN_LEFT + plot_w - 170.0;
            let ly = MARGIN_TOP + 8.0;
            let _ = writeln!(
                s,
                "<g class=\"legend\"><rect x=\"{lx:.1}\" y=\"{ly:.1}\" width=\"162\" height=\"{:.1}\" \
                 fill=\"white\" fill-opacity=\"0.85\" stroke=\"#999999\"/>",
                8.0 + 18.0 * named as f64
            );
            let mut line_idx = 0usize;
            let mut i = 0usize;
            for series in &self.series {
                // The colour is taken even for unnamed series, so the palette stays in step.
                let color = match series.kind {
                    Kind::Line | Kind::Points => self.series_color(series, &mut line_idx),
                    Kind::Bars => BAR_POSITIVE.to_owned(),
                };
                if series.name.is_empty() {
                    continue;
                }
                let y = ly + 16.0 + 18.0 * i as f64;
                i += 1;
                let _ = writeln!(
                    s,
                    "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"14\" height=\"4\" fill=\"{color}\"/>\
                     <text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                    lx + 8.0,
                    y - 6.0,
                    lx + 28.0,
                    y,
                    escape_xml(&series.name)
                );
            }
            s.push_str("</g>\n");
        }
        s.push_str("</svg>\n");
        s
    }

    /// The colour of a line or point series: its own, or the next palette colour.
    fn series_color(&self, series: &Series, palette_idx: &mut usize) -> String {
        match &series.color {
            Some(c) => escape_xml(c),
            None => {
                let c = PALETTE[*palette_idx % PALETTE.len()];
                *palette_idx += 1;
                c.to_owned()
            }
        }
    }

    /// The x axis covering every series point and vertical marker.
    fn x_axis(&self) -> Axis {
        let probe = Axis { lo: 0.0, hi: 1.0, log: self.log_x };
        let xs = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0))
            .chain(self.vlines.iter().map(|m| m.at))
            .filter(|v| probe.unit(*v).is_some());
        let mut axis = Axis::covering(xs, self.log_x, false, true);
        // Room for half a bar at each end.
        if !self.log_x && self.series.iter().any(|s| s.kind == Kind::Bars) {
            let gap = self.min_bar_gap();
            if gap.is_finite() {
                axis.lo = axis.lo.min(self.min_bar_x() - gap);
                axis.hi = axis.hi.max(self.max_bar_x() + gap);
            }
        }
        axis
    }

    /// The y axis covering every series point and horizontal marker.
    fn y_axis(&self) -> Axis {
        let probe = Axis { lo: 0.0, hi: 1.0, log: self.log_y };
        let ys = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .chain(self.hlines.iter().map(|m| m.at))
            .filter(|v| probe.unit(*v).is_some());
        let has_bars = self.series.iter().any(|s| s.kind == Kind::Bars);
        Axis::covering(ys, self.log_y, has_bars, true)
    }

    /// Finite x values of bar points.
    fn bar_xs(&self) -> impl Iterator<Item = f64> + '_ {
        self.series
            .iter()
            .filter(|s| s.kind == Kind::Bars)
            .flat_map(|s| s.points.iter().map(|p| p.0))
            .filter(|x| x.is_finite())
    }

    fn min_bar_x(&self) -> f64 {
        self.bar_xs().fold(f64::INFINITY, f64::min)
    }

    fn max_bar_x(&self) -> f64 {
        self.bar_xs().fold(f64::NEG_INFINITY, f64::max)
    }

    /// Smallest positive distance between two bar x positions (infinite with < 2 bars).
    fn min_bar_gap(&self) -> f64 {
        let mut xs: Vec<f64> = self.bar_xs().collect();
        xs.sort_by(f64::total_cmp);
        xs.windows(2).map(|w| w[1] - w[0]).filter(|d| *d > 0.0).fold(f64::INFINITY, f64::min)
    }

    /// Bar width in pixels: 80% of the smallest gap between bars (log x: a fixed width).
    fn bar_width(&self, xa: &Axis, plot_w: f64) -> f64 {
        let gap = self.min_bar_gap();
        if xa.log || !gap.is_finite() {
            return 8.0;
        }
        (0.8 * gap / (xa.hi - xa.lo) * plot_w).clamp(1.0, plot_w / 4.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks that every element opened is closed, in order (a tiny XML well-formedness check
    /// for the subset this writer emits: no CDATA, no comments, quoted attributes).
    fn assert_balanced(svg: &str) {
        let mut stack: Vec<String> = Vec::new();
        let mut rest = svg;
        while let Some(start) = rest.find('<') {
            let end = rest[start..].find('>').map(|e| start + e).expect("unterminated tag");
            let tag = &rest[start + 1..end];
            assert!(!tag.contains('<'), "'<' inside a tag: {tag}");
            if let Some(name) = tag.strip_prefix('/') {
                let open = stack.pop().expect("closing tag without opening");
                assert_eq!(open, name.trim(), "mismatched closing tag");
            } else if !tag.ends_with('/') {
                let name = tag.split_whitespace().next().unwrap_or_default().to_owned();
                stack.push(name);
            }
            rest = &rest[end + 1..];
        }
        assert!(stack.is_empty(), "unclosed tags: {stack:?}");
        // Text between tags never holds a raw '&' that is not an entity.
        for (i, _) in svg.match_indices('&') {
            let ent = &svg[i..svg.len().min(i + 7)];
            assert!(
                ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"].iter().any(|e| ent.starts_with(e)),
                "raw & at {i}: {ent}"
            );
        }
    }

    #[test]
    fn escapes_xml_special_characters() {
        assert_eq!(escape_xml("a<b & 'c' \"d\">"), "a&lt;b &amp; &apos;c&apos; &quot;d&quot;&gt;");
        assert_eq!(escape_xml("x\u{1}y"), "x y");
    }

    #[test]
    fn line_chart_is_well_formed_and_names_series() {
        let svg = Chart::new("P&L <daily>")
            .x_label("time")
            .y_label("USD")
            .line("alpha & beta", &[(0.0, 1.0), (1.0, 3.0), (2.0, 2.0)])
            .line("gamma", &[(0.0, -1.0), (2.0, 5.0), (f64::NAN, 1.0)])
            .vline(1.5, "open <drive>")
            .hline(0.0, "zero")
            .render();
        assert!(svg.starts_with("<svg"));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_balanced(&svg);
        assert!(svg.contains("alpha &amp; beta"));
        assert!(svg.contains("gamma"));
        assert!(svg.contains("P&amp;L &lt;daily&gt;"));
        assert!(svg.contains("open &lt;drive&gt;"));
        assert!(!svg.contains("NaN"));
        assert_eq!(svg.matches("<polyline").count(), 2);
    }

    #[test]
    fn bar_chart_colours_by_sign() {
        let svg = Chart::new("GEX by strike")
            .bars("GEX", &[(4000.0, 2.0e9), (4010.0, -1.0e9), (4020.0, 0.5e9)])
            .render();
        assert_balanced(&svg);
        assert_eq!(svg.matches(&format!("fill=\"{BAR_POSITIVE}\"/>")).count(), 2 + 1); // 2 bars + legend
        assert_eq!(svg.matches(&format!("fill=\"{BAR_NEGATIVE}\"/>")).count(), 1);
    }

    #[test]
    fn log_axes_skip_non_positive_points_and_use_decade_ticks() {
        let chart = Chart::new("spectrum")
            .log_x(true)
            .log_y(true)
            .line("s", &[(0.0, 1.0), (1.0, 0.5), (1000.0, 20.0), (10.0, -3.0)]);
        let xa = chart.x_axis();
        assert_eq!((xa.lo, xa.hi), (0.0, 3.0));
        let ya = chart.y_axis();
        assert_eq!((ya.lo, ya.hi), (-1.0, 2.0));
        let svg = chart.render();
        assert_balanced(&svg);
        // Only two points are drawable: (1, 0.5) and (1000, 20).
        let poly = svg.split("points=\"").nth(1).and_then(|p| p.split('"').next()).unwrap_or_default();
        assert_eq!(poly.split_whitespace().count(), 2);
        assert!(svg.contains(">1000</text>"));
    }

    #[test]
    fn custom_x_ticks_replace_automatic_ones() {
        let svg = Chart::new("p")
            .log_x(true)
            .x_ticks(&[(2.0, "50%"), (10.0, "90%"), (1e9, "far away")])
            .line("s", &[(1.0, 1.0), (100.0, 2.0)])
            .render();
        assert_balanced(&svg);
        assert!(svg.contains(">50%</text>"));
        assert!(svg.contains(">90%</text>"));
        assert!(!svg.contains("far away"));
    }

    #[test]
    fn points_styled_lines_and_ids() {
        let svg = Chart::new("trades")
            .id("price 1")
            .line("close", &[(0.0, 1.0), (1.0, 2.0)])
            .styled_line("vwap", &[(0.0, 1.5), (1.0, 1.5)], "#ff7f0e", true)
            .points("entries", &[(0.5, 1.2), (f64::NAN, 1.0), (0.7, 1.9)], "#2ca02c")
            .render();
        assert_balanced(&svg);
        assert!(svg.contains("<clipPath id=\"price_1\">") && svg.contains("url(#price_1)"));
        assert_eq!(svg.matches("<circle ").count(), 2, "the NaN point is skipped");
        assert!(svg.contains("stroke=\"#ff7f0e\" stroke-width=\"2\" stroke-dasharray=\"6,4\""));
        // The uncoloured line takes the first palette colour; the legend shows all three.
        assert!(svg.contains(&format!("stroke=\"{}\" stroke-width=\"2\" points", PALETTE[0])));
        assert!(svg.contains("fill=\"#2ca02c\"/><text") && svg.contains(">entries</text>"));
        // An unnamed series has no legend entry.
        let band = Chart::new("b").styled_line("", &[(0.0, 1.0), (1.0, 2.0)], "#123456", true).render();
        assert!(!band.contains("class=\"legend\"") && band.contains("stroke=\"#123456\""));
        // The default id is unchanged.
        assert!(Chart::new("x").render().contains("<clipPath id=\"plot-area\">"));
    }

    #[test]
    fn empty_chart_renders() {
        let svg = Chart::new("empty").render();
        assert_balanced(&svg);
        assert!(svg.contains("empty"));
    }

    #[test]
    fn nice_steps() {
        assert_eq!(nice_step(0.13), 0.2);
        assert_eq!(nice_step(3.0), 5.0);
        assert_eq!(nice_step(7.0), 10.0);
        assert_eq!(nice_step(100.0), 100.0);
        assert_eq!(format_num(0.25, 0.05), "0.25");
        assert_eq!(format_num(1500.0, 500.0), "1500");
        assert_eq!(format_num(1e9, 0.0), "1e9");
    }
}
