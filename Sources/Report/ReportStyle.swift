/// The report's stylesheet, inlined into the document (no `<` or `&`, so it is valid XML text).
enum ReportStyle {
    static let css = """
    :root { --ink: #1d232b; --muted: #5d6875; --line: #d8dde3; --panel: #f6f8fa; --accent: #4e79a7; }
    * { box-sizing: border-box; }
    body { font: 14px/1.45 -apple-system, "Segoe UI", "DejaVu Sans", Helvetica, Arial, sans-serif; color: var(--ink);
           margin: 0 auto; padding: 24px 32px 48px; max-width: 1200px; background: #fff; }
    h1 { font-size: 22px; margin: 0 0 4px; }
    h1 .scenario { color: var(--accent); }
    h2 { font-size: 17px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
    .description { margin: 0 0 12px; color: var(--muted); }
    dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 8px 0 16px; }
    dl.meta dt { color: var(--muted); }
    dl.meta dd { margin: 0; }
    .figures { display: grid; grid-template-columns: repeat(6, 1fr); gap: 10px; }
    .figure { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; }
    .figure .k { color: var(--muted); font-size: 12px; }
    .figure .v { font-size: 20px; font-weight: 600; font-variant-numeric: tabular-nums; }
    .figure .n { color: var(--muted); font-size: 12px; }
    p.warning { background: #fff4e0; border: 1px solid #e8a317; border-radius: 6px; padding: 8px 12px; }
    section { display: grid; grid-template-columns: 1fr 1fr; gap: 8px 20px; }
    section h2, section table { grid-column: 1 / -1; }
    figure { margin: 0; }
    figure.wide { grid-column: 1 / -1; }
    table.privacy { grid-column: auto; align-self: start; }
    figcaption { font-weight: 600; margin-bottom: 2px; }
    figure .note { color: var(--muted); font-size: 12px; margin: 2px 0 0; }
    svg.chart { width: 100%; height: auto; display: block; font-size: 11px; }
    svg.chart text { fill: var(--muted); }
    svg.chart .grid { stroke: #eceff2; }
    svg.chart .baseline { stroke: #9aa3ad; }
    svg.chart .zero { stroke: #6b7480; stroke-dasharray: 2 2; }
    svg.chart .reference line { stroke: #888; stroke-dasharray: 6 4; }
    svg.chart polyline { stroke-width: 2; }
    svg.chart .unbounded { fill: #d62728; font-size: 16px; font-weight: 700; }
    svg.chart .note { fill: #9aa3ad; font-size: 13px; }
    svg.chart .lane { fill: #fafbfc; }
    svg.chart .lane.odd { fill: #f1f3f5; }
    svg.chart .value { fill: var(--ink); }
    .legend { display: flex; flex-wrap: wrap; gap: 2px 14px; font-size: 12px; color: var(--muted); margin-top: 2px; }
    .legend i { display: inline-block; width: 14px; height: 4px; margin-right: 5px; vertical-align: middle; border-radius: 2px; }
    .legend i.dashed { height: 2px; }
    table { border-collapse: collapse; width: 100%; font-size: 13px; font-variant-numeric: tabular-nums; margin-top: 8px; }
    caption { text-align: left; font-weight: 600; padding: 4px 0; }
    th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid var(--line); }
    th { color: var(--muted); font-weight: 600; background: var(--panel); }
    tr.failed td, tr.critical td { color: #b01c1c; }
    tr.missing td { color: #9aa3ad; font-style: italic; }
    tr.warning td { color: #8a5a00; }
    tr.reason td { color: var(--muted); font-size: 12px; }
    footer { margin-top: 32px; color: var(--muted); font-size: 12px; }
    code { font-family: "DejaVu Sans Mono", Menlo, monospace; }
    @media (max-width: 900px) { section { grid-template-columns: 1fr; } .figures { grid-template-columns: repeat(2, 1fr); } }
    """
}

extension ReportStyle {
    /// The opening of a report page up to and including `<body>`: doctype, XHTML namespace,
    /// charset, viewport, the escaped title and the inlined stylesheet.
    static func pageHead(title: String) -> String {
        """
        <!DOCTYPE html>
        <html xmlns="http://www.w3.org/1999/xhtml" lang="en">
        <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title>\(Markup.escape(title))</title>
        <style>
        \(css)
        </style>
        </head>
        <body>
        """
    }
}
