"""The locked single-instrument runtime config (SPEC section 2).

One process serves one instrument. ``instrument.yaml`` beside this module is the single source of
truth; ``VP_INSTRUMENT_CONFIG_PATH`` points at another file. Every rule names the field and value
it rejects. ``config_version`` reproduces the reference system's hash so that captured datasets
keep their identity.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError, InstrumentLockError

CONFIG_PATH_ENV = "VP_INSTRUMENT_CONFIG_PATH"
"""Environment variable that overrides the path of the locked instrument config."""

PRODUCT_TYPES = ("future_mbo", "equity_mbo")
"""Product types the runtime accepts."""

DEFAULT_N_ABSOLUTE_TICKS = 8192
"""The only field with a default when missing from the YAML."""


def _doc(text: str) -> Any:
    return field(metadata={"doc": text})


@dataclass(frozen=True)
class InstrumentConfig:
    """Validated, immutable runtime parameters of the locked instrument."""

    product_type: str = _doc(
        "'future_mbo' (tick from tick_size) or 'equity_mbo' (bucket_size_dollars)"
    )
    symbol: str = _doc("contract or ticker, e.g. MNQH6")
    symbol_root: str = _doc("root symbol used in the lake layout, e.g. MNQ")
    price_scale: float = _doc("dollars per price_int unit (Databento: 1e-9)")
    tick_size: float = _doc("futures tick in dollars")
    bucket_size_dollars: float = _doc("equity price bucket in dollars")
    rel_tick_size: float = _doc("display tick in dollars")
    grid_radius_ticks: int = _doc("serve window radius R; 2R+1 rows are streamed")
    cell_width_ms: int = _doc("fixed bin width in wall-clock milliseconds")
    n_absolute_ticks: int = _doc("absolute tick slots pre-allocated by the engine")
    spectrum_windows: tuple[int, ...] = _doc("trailing rollup windows in bins")
    spectrum_rollup_weights: tuple[float, ...] = _doc("rollup weight per window (normalised)")
    spectrum_derivative_weights: tuple[float, ...] = _doc("d1/d2/d3 blend weights (normalised)")
    spectrum_tanh_scale: float = _doc("z is squashed as tanh(z / scale)")
    spectrum_threshold_neutral: float = _doc("|score| below this is neutral")
    zscore_window_bins: int = _doc("robust z trailing window in bins (current sample included)")
    zscore_min_periods: int = _doc("samples needed before z is non-zero")
    projection_horizons_bins: tuple[int, ...] = _doc("projection horizons in bins")
    contract_multiplier: float = _doc("dollars per point per contract")
    qty_unit: str = _doc("unit of order sizes, e.g. contracts or shares")
    price_decimals: int = _doc("decimals used to display prices")

    @cached_property
    def projection_horizons_ms(self) -> tuple[int, ...]:
        """Projection horizons in milliseconds (bins x cell_width_ms)."""
        return tuple(b * self.cell_width_ms for b in self.projection_horizons_bins)

    @cached_property
    def tick_int(self) -> int:
        """Price integer units per grid tick."""
        step = self.tick_size if self.product_type == "future_mbo" else self.bucket_size_dollars
        return round(step / self.price_scale)

    @cached_property
    def cell_width_ns(self) -> int:
        """Bin width in nanoseconds."""
        return self.cell_width_ms * 1_000_000

    @cached_property
    def config_version(self) -> str:
        """First 12 hex chars of SHA-256 over the sorted ``key=value`` pairs joined by ``|``.

        Identical to the reference system's hash (tuples rendered as Python lists, the derived
        ``projection_horizons_ms`` included).
        """
        items = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        items["projection_horizons_ms"] = self.projection_horizons_ms
        rendered = {k: list(v) if isinstance(v, tuple) else v for k, v in items.items()}
        raw = "|".join(f"{k}={v}" for k, v in sorted(rendered.items()))
        return hashlib.sha256(raw.encode()).hexdigest()[:12]

    def to_wire(self) -> dict[str, Any]:
        """Every field plus derived values, JSON-ready (the runtime_config frame's core)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        out["projection_horizons_ms"] = list(self.projection_horizons_ms)
        out["tick_int"] = self.tick_int
        out["config_version"] = self.config_version
        return out

    def check_instrument(self, product_type: str, symbol: str) -> None:
        """Enforce the single-instrument lock; raise InstrumentLockError naming both sides."""
        if product_type != self.product_type or symbol != self.symbol:
            raise InstrumentLockError(
                f"this process is locked to {self.product_type}:{self.symbol}; "
                f"requested {product_type}:{symbol}. Point {CONFIG_PATH_ENV} at another "
                "instrument config and restart to serve a different instrument."
            )


_FIELDS = {f.name: f for f in dataclasses.fields(InstrumentConfig)}


def _fail(name: str, value: Any, accepted: str) -> ConfigError:
    return ConfigError(f"instrument config field '{name}' = {value!r} is invalid: {accepted}")


def _as_str(name: str, raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise _fail(name, raw, "expected a non-empty string")
    return raw.strip()


def _as_int(name: str, raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        if isinstance(raw, float) and raw.is_integer():
            return int(raw)
        raise _fail(name, raw, "expected an integer")
    return raw


def _as_float(name: str, raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise _fail(name, raw, "expected a number")
    return float(raw)


def _as_seq(name: str, raw: Any, convert: Any) -> tuple[Any, ...]:
    if isinstance(raw, str):
        raw = [t.strip() for t in raw.split(",") if t.strip()]
    if not isinstance(raw, list | tuple) or not raw:
        raise _fail(name, raw, "expected a non-empty list")
    return tuple(convert(name, v) for v in raw)


def _parse_value(name: str, raw: Any) -> Any:
    kind = _FIELDS[name].type
    if kind == "str":
        return _as_str(name, raw)
    if kind == "int":
        return _as_int(name, raw)
    if kind == "float":
        return _as_float(name, raw)
    if kind == "tuple[int, ...]":
        return _as_seq(name, raw, _as_int)
    return _as_seq(name, raw, _as_float)


def build_config(raw: Mapping[str, Any]) -> InstrumentConfig:
    """Validate a mapping of raw values into an InstrumentConfig (SPEC 2 rules)."""
    unknown = sorted(set(raw) - set(_FIELDS))
    if unknown:
        raise ConfigError(
            f"instrument config has unknown keys {unknown}; accepted keys: {sorted(_FIELDS)}"
        )
    values = dict(raw)
    values.setdefault("n_absolute_ticks", DEFAULT_N_ABSOLUTE_TICKS)
    missing = [name for name in _FIELDS if name not in values]
    if missing:
        raise ConfigError(f"instrument config is missing required fields {missing}")
    v = {name: _parse_value(name, values[name]) for name in _FIELDS}

    if v["product_type"] not in PRODUCT_TYPES:
        raise _fail("product_type", v["product_type"], f"expected one of {list(PRODUCT_TYPES)}")
    for name in ("price_scale", "tick_size", "bucket_size_dollars", "rel_tick_size"):
        if v[name] <= 0:
            raise _fail(name, v[name], "expected a number > 0")
    if v["cell_width_ms"] < 1:
        raise _fail("cell_width_ms", v["cell_width_ms"], "expected an integer >= 1")
    if v["grid_radius_ticks"] < 1:
        raise _fail("grid_radius_ticks", v["grid_radius_ticks"], "expected an integer >= 1")
    if 2 * v["grid_radius_ticks"] + 1 > v["n_absolute_ticks"]:
        raise _fail(
            "n_absolute_ticks",
            v["n_absolute_ticks"],
            f"must hold the serve window: 2*grid_radius_ticks+1 = {2 * v['grid_radius_ticks'] + 1}",
        )
    windows = v["spectrum_windows"]
    if any(w < 1 for w in windows):
        raise _fail("spectrum_windows", list(windows), "every window must be an integer >= 1")
    if len(v["spectrum_rollup_weights"]) != len(windows):
        raise _fail(
            "spectrum_rollup_weights",
            list(v["spectrum_rollup_weights"]),
            f"needs one weight per spectrum window ({len(windows)})",
        )
    if len(v["spectrum_derivative_weights"]) != 3:
        raise _fail(
            "spectrum_derivative_weights",
            list(v["spectrum_derivative_weights"]),
            "needs exactly 3 weights (d1, d2, d3)",
        )
    for name in ("spectrum_rollup_weights", "spectrum_derivative_weights"):
        if any(w <= 0 for w in v[name]):
            raise _fail(name, list(v[name]), "every weight must be > 0")
    if v["spectrum_tanh_scale"] <= 0:
        raise _fail("spectrum_tanh_scale", v["spectrum_tanh_scale"], "expected a number > 0")
    if not 0 < v["spectrum_threshold_neutral"] < 1:
        raise _fail(
            "spectrum_threshold_neutral", v["spectrum_threshold_neutral"], "expected 0 < x < 1"
        )
    if v["zscore_window_bins"] < 2:
        raise _fail("zscore_window_bins", v["zscore_window_bins"], "expected an integer >= 2")
    if not 2 <= v["zscore_min_periods"] <= v["zscore_window_bins"]:
        raise _fail(
            "zscore_min_periods",
            v["zscore_min_periods"],
            f"expected 2 <= x <= zscore_window_bins ({v['zscore_window_bins']})",
        )
    horizons = v["projection_horizons_bins"]
    if any(h < 1 for h in horizons) or len(set(horizons)) != len(horizons):
        raise _fail("projection_horizons_bins", list(horizons), "expected unique positive integers")
    config = InstrumentConfig(**v)
    if config.tick_int <= 0:
        raise _fail("tick_size", config.tick_size, "resolves to a tick of 0 price units")
    return config


def default_config_path() -> Path:
    """The config in force: ``$VP_INSTRUMENT_CONFIG_PATH`` or the packaged instrument.yaml."""
    override = os.environ.get(CONFIG_PATH_ENV, "").strip()
    if override:
        return Path(override).expanduser().resolve()
    return Path(__file__).with_name("instrument.yaml")


def load_config(path: Path | None = None) -> InstrumentConfig:
    """Load and validate the locked instrument config from ``path`` or the default location."""
    path = path or default_config_path()
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(
            f"instrument config not found at {path}; set {CONFIG_PATH_ENV} to an existing YAML "
            "file or restore backend/src/vacuum_pressure/instrument.yaml"
        ) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"instrument config {path} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"instrument config {path} must be a YAML mapping of field: value")
    try:
        return build_config(raw)
    except ConfigError as exc:
        raise ConfigError(f"{exc} (in {path})") from None


def resolve_config(product_type: str, symbol: str, path: Path | None = None) -> InstrumentConfig:
    """Load the locked config and check that it serves ``product_type``/``symbol``."""
    config = load_config(path)
    config.check_instrument(product_type, symbol)
    return config
