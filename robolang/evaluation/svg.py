"""Small inline-SVG bar charts for the HTML report (no plotting library needed: matplotlib
is not a dependency of the project, and inline SVG keeps the report one self-contained file)."""

from __future__ import annotations

from html import escape

PALETTE = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#ff9da6", "#9d755d")


def grouped_bars(
    categories: list[str],
    series: dict[str, list[float | None]],
    intervals: dict[str, list[tuple[float, float] | None]] | None = None,
    title: str = "",
    ylabel: str = "success rate",
    ymax: float = 1.0,
    percent: bool = True,
) -> str:
    """Vertical bars: one group per category, one bar per series (None: no bar, "n/a" mark),
    optional (low, high) whiskers per bar. Returns an ``<svg>`` element as a string."""
    names = list(series)
    bar, gap, left, top, height = 12, 14, 52, 34, 180
    group_w = bar * len(names) + gap
    rotate = max((len(c) for c in categories), default=0) > group_w / 6
    bottom = 110 if rotate else 40
    legend_w = left + 150 * min(len(names), 4)
    width = max(left + group_w * len(categories) + 20, legend_w, left + 8 * len(title), 320)
    legend_h = 18 * ((len(names) + 3) // 4)
    total_h = top + height + bottom + legend_h
    y = lambda v: top + height * (1 - min(max(v / ymax, 0.0), 1.0))  # noqa: E731
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{total_h}" '
        f'font-family="sans-serif" font-size="11">',
        f'<text x="{left}" y="18" font-size="13" font-weight="bold">{escape(title)}</text>',
    ]
    for tick in range(5):
        v = ymax * tick / 4
        label = f"{v:.0%}" if percent else f"{v:g}"
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 4}" y="{y(v) + 4:.1f}" text-anchor="end">{label}</text>')
    parts.append(
        f'<text transform="translate(12,{top + height / 2}) rotate(-90)" text-anchor="middle">{escape(ylabel)}</text>'
    )
    for i, cat in enumerate(categories):
        x0 = left + i * group_w + gap / 2
        for j, name in enumerate(names):
            parts += _bar(x0 + j * bar, bar, series[name][i], (intervals or {}).get(name, [None] * (i + 1))[i], y,
                          PALETTE[j % len(PALETTE)], name, cat, percent)  # fmt: skip
        cx, cy = x0 + bar * len(names) / 2, top + height + 14
        anchor = f'text-anchor="end" transform="rotate(-45 {cx:.1f} {cy})"' if rotate else 'text-anchor="middle"'
        parts.append(f'<text x="{cx:.1f}" y="{cy}" {anchor}>{escape(cat)}</text>')
    parts += _legend(names, left, top + height + bottom)
    parts.append("</svg>")
    return "\n".join(parts)


def _bar(x, w, value, interval, y, colour, name, cat, percent) -> list[str]:
    if value is None:
        return [f'<text x="{x + w / 2:.1f}" y="{y(0) - 3:.1f}" font-size="8" text-anchor="middle" fill="#999">-</text>']
    shown = f"{value:.0%}" if percent else f"{value:g}"
    out = [
        f'<rect x="{x:.1f}" y="{y(value):.1f}" width="{w - 1}" height="{y(0) - y(value):.1f}" fill="{colour}">'
        f"<title>{escape(name)}, {escape(cat)}: {shown}</title></rect>"
    ]
    if interval is not None:
        lo, hi, cx = y(interval[0]), y(interval[1]), x + w / 2 - 0.5
        out.append(f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{lo:.1f}" y2="{hi:.1f}" stroke="#333"/>')
        for yy in (lo, hi):
            out.append(f'<line x1="{cx - 3:.1f}" x2="{cx + 3:.1f}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#333"/>')
    return out


def _legend(names: list[str], left: float, top: float) -> list[str]:
    out = []
    for j, name in enumerate(names):
        x, y = left + 150 * (j % 4), top + 18 * (j // 4) + 4
        out.append(f'<rect x="{x}" y="{y}" width="10" height="10" fill="{PALETTE[j % len(PALETTE)]}"/>')
        out.append(f'<text x="{x + 14}" y="{y + 9}">{escape(name)}</text>')
    return out
