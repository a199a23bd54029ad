"""The locked instrument config: every validation rule, the override, the lock, the version."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from vacuum_pressure.config import (
    CONFIG_PATH_ENV,
    build_config,
    default_config_path,
    load_config,
    resolve_config,
)
from vacuum_pressure.errors import ConfigError, InstrumentLockError

PACKAGED = Path(__file__).resolve().parents[2] / "src" / "vacuum_pressure" / "instrument.yaml"


def raw_defaults() -> dict:
    return yaml.safe_load(PACKAGED.read_text())


def test_packaged_defaults_match_spec() -> None:
    c = load_config(PACKAGED)
    assert (c.product_type, c.symbol, c.symbol_root) == ("future_mbo", "MNQH6", "MNQ")
    assert c.n_absolute_ticks == 8192 and c.grid_radius_ticks == 50 and c.cell_width_ms == 100
    assert c.spectrum_windows == (5, 10, 20, 40)
    assert c.spectrum_derivative_weights == (0.55, 0.30, 0.15)
    assert c.projection_horizons_ms == (100, 200, 300, 400)
    assert c.tick_int == 250_000_000
    assert c.cell_width_ns == 100_000_000


def test_config_version_reproduces_reference_hash(shared_data: Path) -> None:
    ref = shared_data / "reference" / "esh4_20231225_1800_1805" / "instrument.esh4.yaml"
    assert load_config(ref).config_version == "5eecca870e1f"


def test_config_version_is_stable_and_sensitive() -> None:
    base = build_config(raw_defaults())
    assert base.config_version == build_config(raw_defaults()).config_version
    assert len(base.config_version) == 12
    changed = raw_defaults() | {"spectrum_tanh_scale": 3.5}
    assert build_config(changed).config_version != base.config_version
    # Key order in the YAML does not matter.
    reordered = dict(reversed(list(raw_defaults().items())))
    assert build_config(reordered).config_version == base.config_version


def test_n_absolute_ticks_is_the_only_default() -> None:
    raw = raw_defaults()
    del raw["n_absolute_ticks"]
    assert build_config(raw).n_absolute_ticks == 8192
    del raw["tick_size"]
    with pytest.raises(ConfigError, match=r"missing required fields \['tick_size'\]"):
        build_config(raw)


def test_equity_tick_comes_from_bucket_size() -> None:
    raw = raw_defaults() | {"product_type": "equity_mbo", "bucket_size_dollars": 0.01}
    assert build_config(raw).tick_int == 10_000_000


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"product_type": "option_mbo"}, r"'product_type' = 'option_mbo'.*future_mbo"),
        ({"symbol": ""}, r"'symbol' = ''.*non-empty"),
        ({"tick_size": 0}, r"'tick_size' = 0.0.*> 0"),
        ({"price_scale": -1}, r"'price_scale' = -1.0.*> 0"),
        ({"cell_width_ms": 0}, r"'cell_width_ms' = 0.*>= 1"),
        ({"grid_radius_ticks": 0}, r"'grid_radius_ticks' = 0.*>= 1"),
        ({"n_absolute_ticks": 100}, r"'n_absolute_ticks' = 100.*2\*grid_radius_ticks\+1 = 101"),
        ({"spectrum_rollup_weights": [1, 1, 1]}, r"'spectrum_rollup_weights'.*one weight per"),
        ({"spectrum_derivative_weights": [1, 1]}, r"'spectrum_derivative_weights'.*exactly 3"),
        ({"spectrum_derivative_weights": [1, 0, 1]}, r"every weight must be > 0"),
        ({"spectrum_rollup_weights": [1, 1, -1, 1]}, r"every weight must be > 0"),
        ({"spectrum_windows": [5, 0, 20, 40]}, r"'spectrum_windows'.*>= 1"),
        ({"spectrum_tanh_scale": 0}, r"'spectrum_tanh_scale' = 0.0.*> 0"),
        ({"spectrum_threshold_neutral": 1.0}, r"'spectrum_threshold_neutral' = 1.0.*0 < x < 1"),
        ({"spectrum_threshold_neutral": 0}, r"'spectrum_threshold_neutral' = 0.0"),
        ({"zscore_window_bins": 1}, r"'zscore_window_bins' = 1.*>= 2"),
        ({"zscore_min_periods": 1}, r"'zscore_min_periods' = 1.*2 <= x"),
        ({"zscore_min_periods": 301}, r"'zscore_min_periods' = 301.*zscore_window_bins \(300\)"),
        ({"projection_horizons_bins": [1, 1]}, r"'projection_horizons_bins'.*unique positive"),
        ({"projection_horizons_bins": [0, 2]}, r"'projection_horizons_bins'.*unique positive"),
        ({"cell_width_ms": "fast"}, r"'cell_width_ms' = 'fast'.*integer"),
        ({"tick_size": "x"}, r"'tick_size' = 'x'.*number"),
        ({"spectrum_windows": []}, r"'spectrum_windows' = \[\].*non-empty list"),
        ({"surprise": 1}, r"unknown keys \['surprise'\]"),
    ],
)
def test_each_validation_rule_names_field_and_value(changes: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_config(raw_defaults() | changes)


def test_override_path_and_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    alt = tmp_path / "esh4.yaml"
    alt.write_text(yaml.safe_dump(raw_defaults() | {"symbol": "ESH4", "symbol_root": "ES"}))
    monkeypatch.setenv(CONFIG_PATH_ENV, str(alt))
    assert default_config_path() == alt.resolve()
    assert load_config().symbol == "ESH4"
    monkeypatch.setenv(CONFIG_PATH_ENV, str(tmp_path / "missing.yaml"))
    with pytest.raises(ConfigError, match=r"not found at .*missing.yaml.*VP_INSTRUMENT_CONFIG"):
        load_config()
    bad = tmp_path / "bad.yaml"
    bad.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="must be a YAML mapping"):
        load_config(bad)
    broken = tmp_path / "broken.yaml"
    broken.write_text("symbol: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(broken)
    invalid = tmp_path / "invalid.yaml"
    invalid.write_text(yaml.safe_dump(raw_defaults() | {"cell_width_ms": 0}))
    with pytest.raises(ConfigError, match=r"'cell_width_ms' = 0.*\(in .*invalid.yaml\)"):
        load_config(invalid)


def test_single_instrument_lock() -> None:
    c = resolve_config("future_mbo", "MNQH6", PACKAGED)
    assert c.symbol == "MNQH6"
    with pytest.raises(InstrumentLockError, match=r"locked to future_mbo:MNQH6; requested .*ESH4"):
        resolve_config("future_mbo", "ESH4", PACKAGED)
    with pytest.raises(InstrumentLockError, match="requested equity_mbo:MNQH6"):
        resolve_config("equity_mbo", "MNQH6", PACKAGED)


def test_config_is_frozen_and_wire_dict_is_generated() -> None:
    c = load_config(PACKAGED)
    with pytest.raises(AttributeError):
        c.symbol = "ESH4"  # type: ignore[misc]
    wire = c.to_wire()
    assert wire["spectrum_windows"] == [5, 10, 20, 40]
    assert wire["projection_horizons_ms"] == [100, 200, 300, 400]
    assert wire["config_version"] == c.config_version
    assert wire["tick_int"] == 250_000_000
