//! Slices to pictures: colour maps, labelled axes, a colour bar. Knows
//! nothing of files: it turns 2-D arrays and their axis labels into RGBA.

use font8x8::UnicodeFonts;
use image::{Rgba, RgbaImage};
use ndarray::Array2;

/// One panel to draw: `data[[row, col]]`, rows drawn top to bottom (the
/// sample axis runs downwards), NaN drawn transparent.
pub struct Panel {
    pub data: Array2<f32>,
    pub title: String,
    /// Label and value of each column and each row (coordinate values).
    pub x_label: String,
    pub x_values: Vec<f64>,
    pub y_label: String,
    pub y_values: Vec<f64>,
    pub cmap: Cmap,
    pub range: (f32, f32),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Cmap {
    Grey,
    Seismic,
    Viridis,
    Magma,
    Inferno,
    Plasma,
    Cividis,
    Turbo,
    /// Distinct colours for class numbers (facies), with a legend.
    Classes,
}

impl Cmap {
    fn color(self, t: f64) -> [u8; 3] {
        let t = t.clamp(0.0, 1.0);
        let c = match self {
            Cmap::Grey => {
                let v = (255.0 * (1.0 - t)).round() as u8;
                return [v, v, v];
            }
            // blue (negative) - white - red (positive), as on seismic sections
            Cmap::Seismic => colorous::RED_BLUE.eval_continuous(1.0 - t),
            Cmap::Viridis => colorous::VIRIDIS.eval_continuous(t),
            Cmap::Magma => colorous::MAGMA.eval_continuous(t),
            Cmap::Inferno => colorous::INFERNO.eval_continuous(t),
            Cmap::Plasma => colorous::PLASMA.eval_continuous(t),
            Cmap::Cividis => colorous::CIVIDIS.eval_continuous(t),
            Cmap::Turbo => colorous::TURBO.eval_continuous(t),
            Cmap::Classes => colorous::TABLEAU10[(t * 9.0).round() as usize % 10],
        };
        [c.r, c.g, c.b]
    }

    /// The colour of class `k`: Tableau 10, then Set 3 beyond ten classes.
    fn class_color(k: i64) -> [u8; 3] {
        let k = k.rem_euclid(22) as usize;
        let c = if k < 10 {
            colorous::TABLEAU10[k]
        } else {
            colorous::SET3[k - 10]
        };
        [c.r, c.g, c.b]
    }
}

/// Where things landed in the picture (for the caller's summary and tests).
#[derive(Debug, Clone)]
pub struct Layout {
    pub width: u32,
    pub height: u32,
    /// Data area of each panel: x0, y0, x1, y1 (exclusive ends).
    pub plots: Vec<[u32; 4]>,
    /// Colour bar of each panel.
    pub bars: Vec<[u32; 4]>,
    /// Pixels per data cell (x, y).
    pub scale: (u32, u32),
}

const LEFT: u32 = 80;
const TOP: u32 = 28;
const BOTTOM: u32 = 44;
const BAR_GAP: u32 = 12;
const BAR_W: u32 = 16;
const BAR_LABELS: u32 = 72;
const BLACK: Rgba<u8> = Rgba([0, 0, 0, 255]);

fn text(img: &mut RgbaImage, x: i64, y: i64, s: &str) {
    for (i, ch) in s.chars().enumerate() {
        let glyph = font8x8::BASIC_FONTS.get(ch).unwrap_or([0; 8]);
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..8 {
                if bits & (1 << col) != 0 {
                    let (px, py) = (x + i as i64 * 8 + col, y + row as i64);
                    if px >= 0 && py >= 0 && (px as u32) < img.width() && (py as u32) < img.height()
                    {
                        img.put_pixel(px as u32, py as u32, BLACK);
                    }
                }
            }
        }
    }
}

fn text_width(s: &str) -> i64 {
    8 * s.chars().count() as i64
}

/// A number as a short label.
pub fn fmt_value(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if (0.01..100_000.0).contains(&a) {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        format!("{v:.2e}")
    }
}

/// About `n` evenly spaced indices into `0..len`.
fn ticks(len: usize, n: usize) -> Vec<usize> {
    if len <= 1 {
        return vec![0];
    }
    let step = ((len - 1) as f64 / n.max(1) as f64).ceil().max(1.0) as usize;
    (0..len).step_by(step).collect()
}

/// Draw the panels side by side; they share the scale.
pub fn render(panels: &[Panel]) -> (RgbaImage, Layout) {
    let (rows, cols) = panels[0].data.dim();
    let sx = (640 / cols.max(1) as u32).clamp(1, 16);
    let sy = (420 / rows.max(1) as u32).clamp(1, 16);
    let pw = cols as u32 * sx;
    let ph = rows as u32 * sy;
    let panel_w = LEFT + pw + BAR_GAP + BAR_W + BAR_LABELS;
    let width = panel_w * panels.len() as u32;
    let height = TOP + ph + BOTTOM;
    let mut img = RgbaImage::from_pixel(width, height, Rgba([255, 255, 255, 255]));
    let mut layout = Layout {
        width,
        height,
        plots: Vec::new(),
        bars: Vec::new(),
        scale: (sx, sy),
    };
    for (p, panel) in panels.iter().enumerate() {
        let at = Plot {
            x0: p as u32 * panel_w + LEFT,
            y0: TOP,
            pw,
            ph,
            sx,
            sy,
        };
        draw_pixels(&mut img, panel, &at);
        draw_axes(&mut img, panel, &at);
        let bx = at.x0 + pw + BAR_GAP;
        let bar_height = match panel.cmap {
            // a legend: a swatch and the number of each class
            Cmap::Classes => draw_legend(&mut img, panel, bx, &at),
            _ => draw_bar(&mut img, panel, bx, &at),
        };
        layout.plots.push([at.x0, at.y0, at.x0 + pw, at.y0 + ph]);
        layout
            .bars
            .push([bx, at.y0, bx + BAR_W, at.y0 + bar_height]);
    }
    (img, layout)
}

/// Where a panel's plot lies in the image, and its pixels per value.
struct Plot {
    x0: u32,
    y0: u32,
    pw: u32,
    ph: u32,
    sx: u32,
    sy: u32,
}

/// The values, each an `sx` × `sy` block; NaN is transparent.
fn draw_pixels(img: &mut RgbaImage, panel: &Panel, at: &Plot) {
    let (lo, hi) = panel.range;
    let span = if hi > lo { (hi - lo) as f64 } else { 1.0 };
    for ((r, c), &v) in panel.data.indexed_iter() {
        let px = if v.is_nan() {
            Rgba([0, 0, 0, 0])
        } else if panel.cmap == Cmap::Classes {
            let [cr, cg, cb] = Cmap::class_color(v.round() as i64);
            Rgba([cr, cg, cb, 255])
        } else {
            let [cr, cg, cb] = panel.cmap.color((v - lo) as f64 / span);
            Rgba([cr, cg, cb, 255])
        };
        for dy in 0..at.sy {
            for dx in 0..at.sx {
                img.put_pixel(
                    at.x0 + c as u32 * at.sx + dx,
                    at.y0 + r as u32 * at.sy + dy,
                    px,
                );
            }
        }
    }
}

/// The frame, the ticks and their labels, the axis names and the title.
fn draw_axes(img: &mut RgbaImage, panel: &Panel, at: &Plot) {
    let (rows, cols) = panel.data.dim();
    let Plot {
        x0,
        y0,
        pw,
        ph,
        sx,
        sy,
    } = *at;
    for x in x0.saturating_sub(1)..=x0 + pw {
        img.put_pixel(x, y0 - 1, BLACK);
        img.put_pixel(x, y0 + ph, BLACK);
    }
    for y in y0 - 1..=y0 + ph {
        img.put_pixel(x0 - 1, y, BLACK);
        img.put_pixel(x0 + pw, y, BLACK);
    }
    // x ticks and labels below, y ticks and labels at the left
    for c in ticks(cols, 5) {
        let x = x0 + c as u32 * sx + sx / 2;
        for y in y0 + ph..y0 + ph + 4 {
            img.put_pixel(x, y, BLACK);
        }
        let s = fmt_value(panel.x_values[c]);
        text(img, x as i64 - text_width(&s) / 2, (y0 + ph + 6) as i64, &s);
    }
    let xl = &panel.x_label;
    text(
        img,
        (x0 + pw / 2) as i64 - text_width(xl) / 2,
        (y0 + ph + 20) as i64,
        xl,
    );
    for r in ticks(rows, 6) {
        let y = y0 + r as u32 * sy + sy / 2;
        for x in x0 - 5..x0 - 1 {
            img.put_pixel(x, y, BLACK);
        }
        let s = fmt_value(panel.y_values[r]);
        text(img, x0 as i64 - 8 - text_width(&s), y as i64 - 4, &s);
    }
    // y axis name, above the labels
    text(
        img,
        (x0 - LEFT + 2) as i64,
        (y0 - 12) as i64,
        &panel.y_label,
    );
    text(
        img,
        (x0 + pw / 2) as i64 - text_width(&panel.title) / 2,
        6,
        &panel.title,
    );
}

/// A swatch and the number of each class at `bx`; returns its height.
fn draw_legend(img: &mut RgbaImage, panel: &Panel, bx: u32, at: &Plot) -> u32 {
    let (lo, hi) = panel.range;
    let first = lo.round() as i64;
    let classes = ((hi.round() as i64 - first + 1).max(1) as u32).min(at.ph / 14);
    for n in 0..classes {
        let k = first + n as i64;
        let [cr, cg, cb] = Cmap::class_color(k);
        let y = at.y0 + n * 14;
        for yy in y..y + 10 {
            for x in bx..bx + BAR_W {
                img.put_pixel(x, yy, Rgba([cr, cg, cb, 255]));
            }
        }
        text(
            img,
            (bx + BAR_W + 4) as i64,
            y as i64 + 1,
            &format!("class {k}"),
        );
    }
    classes * 14
}

/// The colour bar at `bx`, high at the top, with three values; returns
/// its height.
fn draw_bar(img: &mut RgbaImage, panel: &Panel, bx: u32, at: &Plot) -> u32 {
    let (lo, hi) = panel.range;
    let (y0, ph) = (at.y0, at.ph);
    for y in 0..ph {
        let t = 1.0 - y as f64 / (ph.max(2) - 1) as f64;
        let [cr, cg, cb] = panel.cmap.color(t);
        for x in bx..bx + BAR_W {
            img.put_pixel(x, y0 + y, Rgba([cr, cg, cb, 255]));
        }
    }
    for (t, v) in [(0.0, hi), (0.5, (lo + hi) / 2.0), (1.0, lo)] {
        let y = y0 + ((ph - 1) as f64 * t) as u32;
        text(
            img,
            (bx + BAR_W + 4) as i64,
            y as i64 - 4,
            &fmt_value(v as f64),
        );
    }
    ph
}

/// The colours of horizons drawn over a section, in turn.
pub const HORIZON_COLOURS: [Rgba<u8>; 4] = [
    Rgba([0, 0, 0, 255]),
    Rgba([255, 140, 0, 255]),
    Rgba([0, 170, 0, 255]),
    Rgba([200, 0, 200, 255]),
];

/// A line two pixels wide through `points`, broken where one is `None`.
pub fn polyline(img: &mut RgbaImage, points: &[Option<(f64, f64)>], colour: Rgba<u8>) {
    let (w, h) = (img.width() as i64, img.height() as i64);
    let mut put = |x: f64, y: f64| {
        for dy in 0..2 {
            let (px, py) = (x.round() as i64, y.round() as i64 + dy);
            if (0..w).contains(&px) && (0..h).contains(&py) {
                img.put_pixel(px as u32, py as u32, colour);
            }
        }
    };
    for pair in points.windows(2) {
        match pair {
            [Some((x0, y0)), Some((x1, y1))] => {
                let steps = (x1 - x0).abs().max((y1 - y0).abs()).ceil().max(1.0) as usize;
                for s in 0..=steps {
                    let f = s as f64 / steps as f64;
                    put(x0 + (x1 - x0) * f, y0 + (y1 - y0) * f);
                }
            }
            [Some((x, y)), None] | [None, Some((x, y))] => put(*x, *y),
            _ => {}
        }
    }
}

/// Default display range: symmetric about zero for amplitude-like data
/// (values of both signs), else percentiles; `pct` is the clip percentile.
pub fn auto_range(data: &Array2<f32>, pct: f64, symmetric: bool) -> (f32, f32) {
    let mut v: Vec<f32> = data.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return (0.0, 1.0);
    }
    let q = |v: &mut Vec<f32>, p: f64| -> f32 {
        let k = (((v.len() - 1) as f64) * p / 100.0).round() as usize;
        *v.select_nth_unstable_by(k, |a, b| a.total_cmp(b)).1
    };
    if symmetric {
        let mut a: Vec<f32> = v.iter().map(|x| x.abs()).collect();
        let m = q(&mut a, pct).max(f32::MIN_POSITIVE);
        (-m, m)
    } else {
        let lo = q(&mut v, 100.0 - pct);
        let hi = q(&mut v, pct);
        if hi > lo {
            (lo, hi)
        } else {
            (lo, lo + 1.0)
        }
    }
}
