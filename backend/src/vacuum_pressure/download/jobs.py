"""What to request from Databento and where each result lands in the lake.

One :class:`JobSpec` is one batch job: one UTC day, one root symbol, one schema, either the root's
futures (``MNQ.FUT``) or its options (``MNQ.OPT``) with parent symbology on ``GLBX.MDP3``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from vacuum_pressure import lake
from vacuum_pressure.errors import VPError

DATASET = "GLBX.MDP3"
STYPE_IN = "parent"
ENCODING = "dbn"
COMPRESSION = "zstd"
SPLIT_DURATION = "day"
FUTURES_PRODUCT_TYPE = "future_mbo"

# Schemas Databento serves for GLBX.MDP3 that a batch job can ask for.
KNOWN_SCHEMAS = (
    "mbo",
    "mbp-1",
    "mbp-10",
    "tbbo",
    "trades",
    "bbo-1s",
    "bbo-1m",
    "ohlcv-1s",
    "ohlcv-1m",
    "ohlcv-1h",
    "ohlcv-1d",
    "definition",
    "statistics",
    "status",
)
# Table folder per schema; MBO keeps the name the replay layout already uses.
_TABLE_BY_SCHEMA = {"mbo": "market_by_order_dbn"}
_SYMBOL_RE = re.compile(r"^[A-Z0-9]{1,8}$")
MAX_DAYS = 366

Kind = Literal["futures", "options"]


class DownloadError(VPError):
    """A download request, job or file is invalid or failed."""


class ArgumentError(DownloadError, ValueError):
    """A command-line value is invalid; the message names it and what is accepted."""


@dataclass(frozen=True)
class JobSpec:
    """One batch job: a UTC day of one schema for a root's futures or options."""

    day: dt.date
    """The UTC day requested: ``[day 00:00, day+1 00:00)`` UTC."""
    root: str
    """Root symbol, e.g. ``MNQ``."""
    kind: Kind
    """``futures`` (``ROOT.FUT``) or ``options`` (``ROOT.OPT``)."""
    schema: str
    """Databento schema, e.g. ``mbo`` or ``statistics``."""

    @property
    def key(self) -> str:
        """Stable identity in the state file, e.g. ``20260206/MNQ/futures/mbo``."""
        return f"{self.day:%Y%m%d}/{self.root}/{self.kind}/{self.schema}"

    @property
    def symbols(self) -> list[str]:
        """Parent symbol: every contract of the root (``MNQ.FUT``) or its options (``MNQ.OPT``)."""
        return [f"{self.root}.FUT" if self.kind == "futures" else f"{self.root}.OPT"]

    @property
    def start(self) -> str:
        """Inclusive start, ISO date (UTC midnight)."""
        return self.day.isoformat()

    @property
    def end(self) -> str:
        """Exclusive end, ISO date of the next day (UTC midnight)."""
        return (self.day + dt.timedelta(days=1)).isoformat()

    @property
    def product_type(self) -> str:
        """Lake ``product_type``: ``future_mbo`` or ``future_option_<schema>``."""
        if self.kind == "futures":
            return FUTURES_PRODUCT_TYPE
        return f"future_option_{self.schema}"

    def submit_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``Historical.batch.submit_job``."""
        return {
            "dataset": DATASET,
            "symbols": self.symbols,
            "schema": self.schema,
            "start": self.start,
            "end": self.end,
            "encoding": ENCODING,
            "compression": COMPRESSION,
            "split_duration": SPLIT_DURATION,
            "stype_in": STYPE_IN,
            "delivery": "download",
        }

    def cost_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``Historical.metadata.get_cost`` (same data as the job)."""
        return {
            "dataset": DATASET,
            "start": self.start,
            "end": self.end,
            "symbols": self.symbols,
            "schema": self.schema,
            "stype_in": STYPE_IN,
        }

    def target_relpath(self) -> Path:
        """Where the file lands, relative to the lake root (SPEC 3 layout)."""
        if self.kind == "futures":
            folder = lake.raw_mbo_dir(Path(), FUTURES_PRODUCT_TYPE, self.root)
            return folder / lake.raw_file_name(FUTURES_PRODUCT_TYPE, f"{self.day:%Y%m%d}")
        table = _TABLE_BY_SCHEMA.get(self.schema, self.schema)
        folder = (
            Path("raw")
            / "source=databento"
            / f"product_type={self.product_type}"
            / f"symbol={self.root}"
            / f"table={table}"
        )
        return folder / f"glbx-mdp3-{self.day:%Y%m%d}.{self.schema}.dbn.zst"


def parse_date(value: str, name: str) -> dt.date:
    """A ``YYYY-MM-DD`` date, or :class:`ArgumentError` naming ``name``."""
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ArgumentError(f"{name} must be a date YYYY-MM-DD, got {value!r}") from None


def parse_symbols(value: str) -> list[str]:
    """Comma-separated root symbols (``MNQ,ES``), upper-cased, duplicates dropped."""
    roots: list[str] = []
    for raw in value.split(","):
        root = raw.strip().upper()
        if not _SYMBOL_RE.fullmatch(root):
            raise ArgumentError(
                f"--symbols entry {raw.strip()!r} is not a root symbol: "
                "expected 1-8 letters or digits such as MNQ or ES"
            )
        if root not in roots:
            roots.append(root)
    return roots


def parse_schemas(value: str) -> list[str]:
    """Comma-separated Databento schemas (``mbo,statistics``), each from :data:`KNOWN_SCHEMAS`."""
    schemas: list[str] = []
    for raw in value.split(","):
        schema = raw.strip().lower()
        if schema not in KNOWN_SCHEMAS:
            raise ArgumentError(
                f"--options-schemas entry {raw.strip()!r} is not a known schema; "
                f"accepted: {', '.join(KNOWN_SCHEMAS)}"
            )
        if schema not in schemas:
            schemas.append(schema)
    return schemas


def trading_days(start: dt.date, end: dt.date) -> list[dt.date]:
    """UTC days from ``start`` to ``end`` inclusive, without Saturdays.

    CME Globex is closed from Friday evening to Sunday evening (ET), so a Saturday UTC day holds
    no data; Sunday is kept because the week opens at 18:00 ET (22:00/23:00 UTC) on Sunday.
    """
    if end < start:
        raise ArgumentError(f"--end {end} is before --start {start}")
    n_days = (end - start).days + 1
    if n_days > MAX_DAYS:
        raise ArgumentError(f"--start..--end spans {n_days} days; at most {MAX_DAYS} are accepted")
    days = (start + dt.timedelta(days=i) for i in range(n_days))
    return [day for day in days if day.weekday() != 5]


def plan_jobs(
    days: Iterable[dt.date],
    roots: Iterable[str],
    *,
    include_futures: bool,
    options_schemas: Iterable[str],
) -> list[JobSpec]:
    """Every job for the request: per day and root, futures MBO then each options schema."""
    schemas = list(options_schemas)
    root_list = list(roots)
    if not include_futures and not schemas:
        raise ArgumentError(
            "nothing to download: pass --include-futures and/or --options-schemas mbo,statistics"
        )
    specs: list[JobSpec] = []
    for day in days:
        for root in root_list:
            if include_futures:
                specs.append(JobSpec(day, root, "futures", "mbo"))
            specs.extend(JobSpec(day, root, "options", schema) for schema in schemas)
    return specs
