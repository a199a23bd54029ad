"""Self-contained HTML report of an analysis run: inline SVG charts, no external assets."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any

import numpy as np

W, H, PAD = 900, 260, 48
OUTCOME_COLOURS = {"tp": "#1a9850", "sl": "#d73027", "timeout": "#878787"}
"""Trade outcome colours: green take-profit, red stop-loss, grey timeout."""


def _scale(values: np.ndarray, lo: float, hi: float, out_lo: float, out_hi: float) -> np.ndarray:
    span = hi - lo if hi > lo else 1.0
    return out_lo + (values - lo) / span * (out_hi - out_lo)


def _frame(title: str, body: str) -> str:
    return (
        f"<figure><figcaption>{html.escape(title)}</figcaption>"
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
        f'viewBox="0 0 {W} {H}" role="img">'
        f'<rect x="0" y="0" width="{W}" height="{H}" fill="#fff" stroke="#ccc"/>{body}</svg>'
        "</figure>"
    )


def price_chart(
    hours: np.ndarray, mid: np.ndarray, valid: np.ndarray, trades: Sequence[dict[str, Any]],
    t0_ns: int,
) -> str:  # fmt: skip
    """Mid price (valid bins) with entry markers (triangles) and exits coloured by outcome."""
    ok = valid & (mid > 0)
    if not ok.any():
        return _frame("Mid price", '<text x="20" y="40">no valid book in the window</text>')
    x_lo, x_hi = float(hours[0]), float(hours[-1])
    y_lo, y_hi = float(mid[ok].min()), float(mid[ok].max())
    step = max(1, int(ok.sum()) // 2000)  # at most ~2000 points keeps the file small
    xs = _scale(hours[ok][::step], x_lo, x_hi, PAD, W - 10)
    ys = _scale(mid[ok][::step], y_lo, y_hi, H - 30, 12)
    pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
    parts = [f'<polyline fill="none" stroke="#2c7bb6" stroke-width="1" points="{pts}"/>']
    for t in trades:
        xh = (t["ts_ns"] - t0_ns) / 3.6e12
        x = float(_scale(np.array(xh), x_lo, x_hi, PAD, W - 10))
        y = float(_scale(np.array(t["entry_price"]), y_lo, y_hi, H - 30, 12))
        colour = OUTCOME_COLOURS[t["outcome"]]
        tip = y - 7 if t["direction"] == "up" else y + 7
        parts.append(
            f'<polygon points="{x - 4:.1f},{y:.1f} {x + 4:.1f},{y:.1f} {x:.1f},{tip:.1f}" '
            f'fill="{colour}"><title>{html.escape(json.dumps(t))}</title></polygon>'
        )
    parts.append(f'<text x="4" y="16" font-size="11">{y_hi:.2f}</text>')
    parts.append(f'<text x="4" y="{H - 30}" font-size="11">{y_lo:.2f}</text>')
    parts.append(
        f'<text x="{PAD}" y="{H - 8}" font-size="11">hours from window start; triangles: '
        "entries (up/down), green TP, red SL, grey timeout</text>"
    )
    return _frame("Mid price with signal entries and outcomes", "".join(parts))


def bar_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    *,
    intervals: Sequence[tuple[float, float]] | None = None,
    reference: float | None = None,
    colours: Sequence[str] | None = None,
    y_max: float | None = None,
) -> str:
    """Vertical bars with optional error bars and a dashed reference line (e.g. breakeven)."""
    n = max(len(values), 1)
    top = y_max if y_max is not None else max([*values, 1e-12]) * 1.1
    slot = (W - PAD - 10) / n
    parts = []
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        x = PAD + i * slot + slot * 0.15
        y = float(_scale(np.array(v), 0, top, H - 30, 12))
        colour = colours[i] if colours else "#5e3c99"
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{H - 30 - y:.1f}" fill="{colour}"/>'
            f'<text x="{x:.1f}" y="{H - 14}" font-size="11">{html.escape(label)}</text>'
            f'<text x="{x:.1f}" y="{y - 3:.1f}" font-size="10">{v:.3f}</text>'
        )
        if intervals:
            lo, hi = intervals[i]
            ylo = float(_scale(np.array(lo), 0, top, H - 30, 12))
            yhi = float(_scale(np.array(hi), 0, top, H - 30, 12))
            cx = x + slot * 0.35
            parts.append(
                f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{ylo:.1f}" y2="{yhi:.1f}" '
                'stroke="#000" stroke-width="1.5"/>'
            )
    if reference is not None:
        y = float(_scale(np.array(reference), 0, top, H - 30, 12))
        parts.append(
            f'<line x1="{PAD}" x2="{W - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d73027" '
            f'stroke-dasharray="6 4"/><text x="{W - 170}" y="{y - 4:.1f}" font-size="11" '
            f'fill="#d73027">breakeven {reference:.3f}</text>'
        )
    return _frame(title, "".join(parts))


def write_html(title: str, summary: dict[str, Any], figures: Sequence[str]) -> str:
    """The whole page: a summary table and the figures."""
    rows = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in summary.items()
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>body{{font-family:sans-serif;margin:20px}}"
        "table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:3px 8px;"
        "text-align:left}figure{margin:16px 0}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><table>{rows}</table>{''.join(figures)}</body></html>"
    )
