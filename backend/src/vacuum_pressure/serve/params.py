"""Validation of the stream's query parameters and of client control messages.

Every value is checked against a fixed rule before it is used anywhere (paths included); each
error names the parameter, the value and what is accepted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..config import PRODUCT_TYPES
from ..errors import VPError
from ..source.resolve import SYMBOL_RE
from ..spectrum import ProjectionModel, SpectrumError
from ..timeutil import parse_clock, parse_date

SPEED_MIN = 0.1
SPEED_MAX = 100.0
"""Accepted replay speeds: 0 (as fast as the client reads) or SPEED_MIN..SPEED_MAX."""

_MAX_PARAM_LEN = 64
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class RequestError(VPError, ValueError):
    """A stream request or control message is invalid (WebSocket close 1008)."""


@dataclass(frozen=True)
class StreamParams:
    """A validated stream request."""

    product_type: str
    symbol: str
    dt: str
    start_time: str  # ET HH:MM
    speed: float  # 0 = unpaced, else replay seconds per wall second
    projection: ProjectionModel


def _text(query: Mapping[str, str], name: str, default: str | None = None) -> str:
    value = query.get(name)
    if value is None or value == "":
        if default is not None:
            return default
        raise RequestError(f"query parameter {name!r} is required")
    if len(value) > _MAX_PARAM_LEN:
        raise RequestError(f"query parameter {name!r} is too long ({len(value)} characters)")
    return value


def parse_speed(raw: Any, name: str = "speed") -> float:
    """A speed: 0 or a finite number within SPEED_MIN..SPEED_MAX."""
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = math.nan
    if isinstance(raw, bool) or not (value == 0 or SPEED_MIN <= value <= SPEED_MAX):
        raise RequestError(
            f"{name} {raw!r} is invalid: expected 0 (as fast as the client reads) or a number "
            f"from {SPEED_MIN:g} to {SPEED_MAX:g} (1 = real time)"
        )
    return value


def _number(raw: str, name: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise RequestError(f"{name} {raw!r} is invalid: expected a finite number >= 0") from None


def _flag(raw: str, name: str) -> bool:
    low = raw.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise RequestError(f"{name} {raw!r} is invalid: expected true/false (or 1/0)")


def parse_stream_params(
    query: Mapping[str, str],
    *,
    default_speed: float = 1.0,
    default_projection: ProjectionModel | None = None,
) -> StreamParams:
    """Validate the stream's query parameters (see module docstring)."""
    base = default_projection or ProjectionModel()
    product_type = _text(query, "product_type")
    if product_type not in PRODUCT_TYPES:
        raise RequestError(
            f"product_type {product_type!r} is invalid: expected one of {', '.join(PRODUCT_TYPES)}"
        )
    symbol = _text(query, "symbol")
    if not SYMBOL_RE.match(symbol):
        raise RequestError(
            f"symbol {symbol!r} is invalid: expected 1-12 upper-case letters or digits (e.g. MNQH6)"
        )
    dt = _text(query, "dt")
    try:
        parse_date(dt)
    except VPError as exc:
        raise RequestError(f"dt: {exc}") from None
    start_time = _text(query, "start_time")
    try:
        parse_clock(start_time, name="start_time", allow_seconds=False)
    except VPError as exc:
        raise RequestError(str(exc)) from None
    speed = parse_speed(_text(query, "speed", repr(default_speed)))
    cubic = query.get("projection_use_cubic")
    try:
        projection = ProjectionModel(  # it checks its numbers
            use_cubic=base.use_cubic if not cubic else _flag(cubic, "projection_use_cubic"),
            cubic_scale=_number(
                _text(query, "projection_cubic_scale", repr(base.cubic_scale)),
                "projection_cubic_scale",
            ),
            damping_lambda=_number(
                _text(query, "projection_damping_lambda", repr(base.damping_lambda)),
                "projection_damping_lambda",
            ),
        )
    except SpectrumError as exc:
        raise RequestError(str(exc)) from None
    return StreamParams(product_type, symbol, dt, start_time, speed, projection)


@dataclass(frozen=True)
class Control:
    """A validated client control message."""

    op: str  # pause | resume | set_speed | seek
    speed: float = 0.0
    time_et: str = ""


CONTROL_OPS = ("pause", "resume", "set_speed", "seek")


def parse_control(msg: Any) -> Control:
    """Validate a decoded JSON control message (``{"type": op, ...}``)."""
    if not isinstance(msg, dict):
        raise RequestError("control message must be a JSON object with a 'type'")
    op = msg.get("type")
    if op not in CONTROL_OPS:
        raise RequestError(
            f"control type {op!r} is invalid: expected one of {', '.join(CONTROL_OPS)}"
        )
    if op == "set_speed":
        return Control(op, speed=parse_speed(msg.get("speed")))
    if op == "seek":
        raw = msg.get("time_et")
        if not isinstance(raw, str):
            raise RequestError(f"seek time_et {raw!r} is invalid: expected HH:MM or HH:MM:SS (ET)")
        try:
            t = parse_clock(raw, name="time_et")
        except VPError as exc:
            raise RequestError(f"seek {exc}") from None
        return Control(op, time_et=t.strftime("%H:%M:%S"))
    return Control(op)
