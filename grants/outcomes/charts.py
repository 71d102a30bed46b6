"""Bar charts drawn on the server as SVG (no script, no external font); each has a table beside it."""

from markupsafe import Markup, escape

from grants.i18n import kroner

WIDTH = 640
BAR = 22
GAP = 8
LABEL = 170
COLOURS = {"granted": "#1e6e3a", "rejected": "#9b2c2c", "dismissed": "#6b4e16", "withdrawn": "#4a5568",
           "bar": "#1c4c8c"}


def bar_chart(rows, *, title, value_format=str, chart_id="chart"):
    """rows: (label, value, colour key or None). Returns SVG markup with a title and description."""
    if not rows:
        return Markup("")
    top = max(value for _label, value, _c in rows) or 1
    height = len(rows) * (BAR + GAP) + GAP
    room = WIDTH - LABEL - 120
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="100%" viewBox="0 0 {WIDTH} {height}" '
        f'aria-labelledby="{chart_id}-title" class="chart" focusable="false">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
    ]
    for i, (label, value, colour) in enumerate(rows):
        y = GAP + i * (BAR + GAP)
        width = max(int(room * value / top), 1 if value else 0)
        fill = COLOURS.get(colour or "bar", COLOURS["bar"])
        parts.append(
            f'<text x="{LABEL - 8}" y="{y + BAR - 6}" text-anchor="end" font-size="13" fill="#1a1a1a">'
            f"{escape(label)}</text>"
            f'<rect x="{LABEL}" y="{y}" width="{width}" height="{BAR}" fill="{fill}"/>'
            f'<text x="{LABEL + width + 6}" y="{y + BAR - 6}" font-size="13" fill="#1a1a1a">'
            f"{escape(value_format(value))}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above went through escape()


def amounts_by_county(data, title):
    rows = [(c["name"], c["amount"], None) for c in data.get("by_county", [])]
    return bar_chart(rows, title=title, value_format=kroner, chart_id="chart-county")


def outcomes(data, labels, title):
    counts = data["counts"]
    rows = [(labels[k], counts[k], k) for k in ("granted", "rejected", "dismissed", "withdrawn") if k in counts]
    return bar_chart(rows, title=title, chart_id="chart-outcomes")
