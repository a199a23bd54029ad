"""The lake layout (SPEC 3). The root is ``backend/lake`` unless ``VP_LAKE_ROOT`` says otherwise."""

from __future__ import annotations

import os
from pathlib import Path

LAKE_ROOT_ENV = "VP_LAKE_ROOT"
_BACKEND_DIR = Path(__file__).resolve().parents[2]


def lake_root() -> Path:
    """The lake directory: ``$VP_LAKE_ROOT`` or ``backend/lake``."""
    override = os.environ.get(LAKE_ROOT_ENV, "").strip()
    return Path(override).expanduser().resolve() if override else _BACKEND_DIR / "lake"


def raw_mbo_dir(root: Path, product_type: str, symbol_dir: str) -> Path:
    """Folder of raw MBO files: ``raw/source=databento/product_type=…/symbol=…/table=…``."""
    return (
        root
        / "raw"
        / "source=databento"
        / f"product_type={product_type}"
        / f"symbol={symbol_dir}"
        / "table=market_by_order_dbn"
    )


def raw_file_name(product_type: str, dt_compact: str, symbol: str = "") -> str:
    """Canonical raw file name for a date (``YYYYMMDD``): GLBX for futures, XNAS for equities."""
    if product_type == "future_mbo":
        return f"glbx-mdp3-{dt_compact}.mbo.dbn.zst"
    return f"xnas-itch-{dt_compact}.mbo.dbn.zst"


def cache_dir(root: Path) -> Path:
    """Book cache and checkpoints: ``lake/cache``."""
    return root / "cache"


def research_dir(root: Path) -> Path:
    """Published research datasets: ``lake/research``."""
    return root / "research"
