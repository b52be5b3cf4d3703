//! The plot of docs/benchmarks.md: median wall time against hosts, one line per tool
//! (and key exchange), both axes logarithmic. Drawn with plotters' SVG backend.

use std::path::Path;

use plotters::prelude::*;

use crate::results::Results;
use crate::tools::{Kex, Tool, ALL};

const SIZE: (u32, u32) = (900, 560);

/// One colour per tool; its curve25519 variant is the same colour, dashed.
fn color(tool: Tool) -> RGBColor {
    match tool {
        Tool::Quorate => RGBColor(214, 39, 40),
        Tool::QuorateRolling => RGBColor(255, 127, 14),
        Tool::BareMux => RGBColor(30, 30, 30),
        Tool::SshMux => RGBColor(31, 119, 180),
        Tool::SshNoMux => RGBColor(23, 190, 207),
        Tool::AnsibleLinear => RGBColor(44, 160, 44),
        Tool::AnsibleFree => RGBColor(140, 86, 75),
        Tool::Pyinfra => RGBColor(148, 103, 189),
    }
}

/// A series: its label, colour, whether dashed, and its (hosts, seconds) points.
struct Series {
    label: String,
    color: RGBColor,
    dashed: bool,
    points: Vec<(f64, f64)>,
}

/// The series: every (tool, kex) with a median somewhere.
fn series(results: &Results) -> Vec<Series> {
    let cells = results.cells();
    let mut out = Vec::new();
    for tool in ALL {
        for kex in [Kex::Default, Kex::Curve] {
            if kex == Kex::Curve && !tool.has_kex_variants() {
                continue;
            }
            #[expect(clippy::cast_precision_loss, reason = "host counts")]
            let points: Vec<(f64, f64)> = cells
                .iter()
                .filter_map(|&(h, s)| {
                    results
                        .medians(tool.name(), kex.name(), h, s)
                        .map(|m| (h as f64, m.wall))
                })
                .collect();
            if points.is_empty() {
                continue;
            }
            let label = if kex == Kex::Curve {
                format!("{} (curve25519)", tool.name())
            } else {
                tool.name().to_owned()
            };
            out.push(Series {
                label,
                color: color(tool),
                dashed: kex == Kex::Curve,
                points,
            });
        }
    }
    out
}

/// Writes the SVG; with no results yet, an empty chart that says so.
pub fn write(results: &Results, path: &Path) {
    let series = series(results);
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).expect("draw");
    let (mut y_min, mut y_max) = (f64::INFINITY, 0.0f64);
    let mut x_max = 1.0f64;
    for one in &series {
        for &(x, y) in &one.points {
            y_min = y_min.min(y);
            y_max = y_max.max(y);
            x_max = x_max.max(x);
        }
    }
    if series.is_empty() {
        (y_min, y_max) = (0.1, 10.0);
    }
    let cells: Vec<String> = results
        .cells()
        .iter()
        .map(|(h, s)| format!("{h}x{s}"))
        .collect();
    let caption = format!(
        "Median wall time against hosts (cells hosts x steps: {})",
        cells.join(", ")
    );
    let mut chart = ChartBuilder::on(&root)
        .caption(caption, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(60)
        .build_cartesian_2d(
            (0.8f64..x_max * 1.3).log_scale(),
            (y_min * 0.7..y_max * 1.4).log_scale(),
        )
        .expect("chart");
    chart
        .configure_mesh()
        .x_desc("hosts")
        .y_desc("wall time, s")
        .draw()
        .expect("mesh");
    for one in &series {
        let color = one.color.to_rgba();
        let style = ShapeStyle {
            color,
            filled: true,
            stroke_width: 2,
        };
        let legend = move |(x, y): (i32, i32)| PathElement::new(vec![(x, y), (x + 18, y)], style);
        let points = one.points.iter().copied();
        if one.dashed {
            chart
                .draw_series(DashedLineSeries::new(points, 6, 4, style))
                .expect("series")
                .label(one.label.clone())
                .legend(legend);
        } else {
            chart
                .draw_series(LineSeries::new(points, style))
                .expect("series")
                .label(one.label.clone())
                .legend(legend);
        }
        chart
            .draw_series(
                one.points
                    .iter()
                    .map(|&p| Circle::new(p, 3, ShapeStyle::from(color).filled())),
            )
            .expect("points");
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .expect("legend");
    root.present().expect("write the plot");
}
