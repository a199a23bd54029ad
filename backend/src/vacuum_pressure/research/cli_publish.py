"""``publish_vp_research_dataset.py publish|add-agents|verify``."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import VPError
from ..interrupt import interruptible
from ..lake import lake_root
from .cli_common import setup_logging
from .publish import add_agents, publish, verify

logger = logging.getLogger(__name__)


def _agents(text: str) -> list[str]:
    return [a.strip() for a in text.split(",") if a.strip()]


def build_parser() -> argparse.ArgumentParser:
    """Arguments of ``publish_vp_research_dataset.py``."""
    ap = argparse.ArgumentParser(
        prog="publish_vp_research_dataset.py",
        description="Publish a capture as an immutable research dataset with agent workspaces.",
    )
    ap.add_argument("--lake-root", type=Path, default=None, help="lake root (default: the lake)")
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("publish", help="publish a capture dir under a new dataset id")
    p.add_argument("--source-dir", type=Path, required=True, help="capture directory")
    p.add_argument("--dataset-id", required=True, help="new id: a-z, 0-9, _ (1-64 chars)")
    p.add_argument("--agents", type=_agents, default=[], help="comma-separated agent names")
    a = sub.add_parser("add-agents", help="add agent workspaces to a published dataset")
    a.add_argument("--dataset-id", required=True)
    a.add_argument("--agents", type=_agents, required=True, help="comma-separated agent names")
    v = sub.add_parser("verify", help="re-check the immutable base's SHA-256 checksums")
    v.add_argument("--dataset-id", required=True)
    return ap


@interruptible
def main(argv: Sequence[str] | None = None) -> int:
    """Exit 0 on success, 1 when verify finds a problem, 2 on a refused or invalid request."""
    args = build_parser().parse_args(argv)
    setup_logging()
    root = args.lake_root or lake_root()
    out: dict[str, Any]
    try:
        if args.command == "publish":
            paths = publish(args.source_dir, args.dataset_id, args.agents, root)
            out = {"base": str(paths.base), "experiments": str(paths.experiments)}
        elif args.command == "add-agents":
            out = {"agents": [str(p) for p in add_agents(args.dataset_id, args.agents, root)]}
        else:
            problems = verify(args.dataset_id, root)
            sys.stdout.write(json.dumps({"ok": not problems, "problems": problems}, indent=2))
            sys.stdout.write("\n")
            return 1 if problems else 0
    except VPError as exc:
        logger.error("%s", exc)
        return 2
    sys.stdout.write(json.dumps(out, indent=2) + "\n")
    return 0
