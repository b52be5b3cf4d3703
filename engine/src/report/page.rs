//! The HTML page around a review artifact: one self-contained file, its style inline, and
//! a content security policy that forbids the browser any fetch.

use super::escape::html;

const STYLE: &str = r"
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #1b1b1b; background: #fff; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 28px; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 8px 0; } td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f2f2f2; } pre { background: #f6f8fa; padding: 6px 8px; margin: 0; white-space: pre-wrap; word-break: break-all; }
code { background: #f6f8fa; } .note { color: #555; } .warn { color: #b71c1c; font-weight: bold; }
.scroll { overflow-x: auto; border: 1px solid #eee; padding: 4px; }
svg text { font: 11px system-ui, sans-serif; fill: #1b1b1b; } svg text.sub { fill: #555; }
.edge { stroke: #90a4ae; stroke-width: 1.2; }
.node rect { stroke: #37474f; stroke-width: 1; }
.task rect { fill: #e3f2fd; } .controller rect { fill: #fff3e0; } .gate rect { fill: #e8f5e9; }
.tick { stroke: #e0e0e0; } .axis { fill: #555; }
.bar.done { fill: #2e7d32; } .bar.failed { fill: #c62828; } .bar.running { fill: #1565c0; }
.bar.skipped { fill: #9e9e9e; } .bar.waiting, .bar.pending { fill: #f9a825; }
.approval { stroke: #6a1b9a; stroke-width: 2; stroke-dasharray: 4 3; }
.legend span { display: inline-block; padding: 0 8px; margin-right: 6px; color: #fff; border-radius: 3px; }
";

/// A whole HTML document titled `title` around `body` (already escaped HTML).
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}</body>\n</html>\n",
        html(title)
    )
}

/// An HTML table: a header row and rows of cells (already escaped HTML).
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = String::from("<table>\n<tr>");
    for h in header {
        out.push_str("<th>");
        out.push_str(&html(h));
        out.push_str("</th>");
    }
    out.push_str("</tr>\n");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            out.push_str("<td>");
            out.push_str(cell);
            out.push_str("</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
    out
}

/// A Markdown table: a header row and rows of cells (already escaped Markdown).
pub fn markdown_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = format!("| {} |\n|", header.join(" | "));
    for _ in header {
        out.push_str("---|");
    }
    out.push('\n');
    for row in rows {
        out.push_str("| ");
        out.push_str(&row.join(" | "));
        out.push_str(" |\n");
    }
    out
}
