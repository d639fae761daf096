"""Charts drawn on the server as SVG: no script, no library, printable, readable in every locale.

A chart is a picture where it says more than a table (a trend, a comparison); the numbers
stay available in a table next to it. Labels and values come already formatted for the
user's locale, and every text is escaped.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from markupsafe import Markup, escape

WIDTH, HEIGHT = 480, 220
LEFT, RIGHT, TOP, BOTTOM = 64, 8, 12, 36


@dataclass(frozen=True)
class Series:
    name: str
    css_class: str  # "bar-a", "bar-b": colours from the stylesheet
    values: Sequence[Decimal]


def _ticks(low: Decimal, high: Decimal) -> list[Decimal]:
    span = high - low or Decimal(1)
    step = Decimal(10) ** (len(str(int(span))) - 1)
    while span / step > 5:
        step *= 2
    first = (low / step).to_integral_value(rounding="ROUND_FLOOR") * step
    ticks, value = [], first
    while value <= high:
        ticks.append(value)
        value += step
    return ticks


def bar_chart(title: str, labels: Sequence[str], series: Sequence[Series],
              format_value: Callable[[Decimal], str], format_axis: Callable[[Decimal], str] | None = None,
              format_label: Callable[[str], str] = str) -> Markup:
    """Grouped vertical bars, one group per label, a zero line when values go negative.

    ``format_value`` writes a bar's value (its tooltip), ``format_axis`` the axis ticks."""
    format_axis = format_axis or format_value
    values = [v for s in series for v in s.values] or [Decimal(0)]
    high, low = max(max(values), Decimal(0)), min(min(values), Decimal(0))
    if high == low:
        high = low + 1
    ticks = _ticks(low, high)
    high, low = max(high, ticks[-1]), min(low, ticks[0])
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    ceiling, per_unit = float(high), plot_h / float(high - low)  # geometry only: amounts stay Decimal

    def y(value: Decimal) -> float:
        return TOP + (ceiling - float(value)) * per_unit

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for tick in ticks:
        parts.append(f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" y2="{y(tick):.1f}"/>'
                     f'<text x="{LEFT - 4}" y="{y(tick) + 4:.1f}" text-anchor="end">{escape(format_axis(tick))}</text>')
    group_w = plot_w / max(len(labels), 1)
    bar_w = group_w * 0.8 / max(len(series), 1)
    zero, names = y(Decimal(0)), [escape(one.name) for one in series]
    for index, label in enumerate(labels):
        x0 = LEFT + index * group_w + group_w * 0.1
        for number, one in enumerate(series):
            value = one.values[index]
            top, bottom = (y(value), zero) if value >= 0 else (zero, y(value))
            parts.append(f'<rect class="{one.css_class}" x="{x0 + number * bar_w:.1f}" y="{top:.1f}" '
                         f'width="{bar_w * 0.9:.1f}" height="{max(bottom - top, 0.5):.1f}">'
                         f'<title>{names[number]} {escape(label)}: {escape(format_value(value))}</title></rect>')
        parts.append(f'<text x="{x0 + group_w * 0.4:.1f}" y="{HEIGHT - BOTTOM + 14}" text-anchor="middle">'
                     f'{escape(format_label(label))}</text>')
    for number, one in enumerate(series):
        x = LEFT + number * 140
        parts.append(f'<rect class="{one.css_class}" x="{x}" y="{HEIGHT - 12}" width="10" height="10"/>'
                     f'<text x="{x + 14}" y="{HEIGHT - 3}">{escape(one.name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
