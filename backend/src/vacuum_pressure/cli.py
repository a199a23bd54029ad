"""``vp``: one command for every Spymaster tool (each subcommand is also a script in
``backend/scripts/``). Subcommands are imported lazily so ``vp --help`` stays fast."""

from __future__ import annotations

import importlib
import sys

COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("vacuum_pressure.serve.cli", "replay server + page (run_vacuum_pressure.py)"),
    "synth": ("vacuum_pressure.source.synthetic", "write the synthetic MNQ market into the lake"),
    "replay": ("vacuum_pressure.summary", "replay a window of a day and print a summary"),
    "warm-cache": ("vacuum_pressure.cache.cli", "build the book cache (warm_cache.py)"),
    "clean-cache": ("vacuum_pressure.cache.cli:clean_main", "prune book caches and checkpoints"),
    "capture": ("vacuum_pressure.research.cli_capture", "capture to Parquet (cache_vp_output.py)"),
    "publish": ("vacuum_pressure.research.cli_publish", "publish a research dataset"),
    "analyze": ("vacuum_pressure.research.cli_analyze", "signal analysis (analyze_vp_signals.py)"),
    "benchmark": ("vacuum_pressure.benchmark", "core/serve throughput (benchmark_vp_core.py)"),
    "download": ("vacuum_pressure.download.cli", "Databento batch download daemon"),
}


def _usage() -> str:
    lines = ["usage: vp <command> [options]", "", "commands:"]
    lines += [f"  {name:<11} {help_}" for name, (_, help_) in COMMANDS.items()]
    lines += ["", "`vp <command> --help` shows a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Dispatch ``vp <command> ...`` to the command's ``main(argv)``."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(_usage())
        return 0
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"vp: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module_name, _, function = COMMANDS[name][0].partition(":")
    entry = getattr(importlib.import_module(module_name), function or "main")
    result: int = entry(rest)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
