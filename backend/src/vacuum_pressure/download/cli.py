"""``batch_download_futures.py``: the download daemon's command line.

``daemon`` submits, polls, downloads and places Databento batch jobs until every job of the
request is settled; ``status`` prints the state file. Output meant for the user goes to stdout,
diagnostics to the log (stderr and ``--log-file``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FrameType

from vacuum_pressure import lake
from vacuum_pressure.download.client import ClientFactory, databento_client
from vacuum_pressure.download.daemon import (
    Downloader,
    Estimate,
    RetryPolicy,
    StopSignal,
    Waiter,
    estimate,
    exclusive_lock,
    state_dir,
    state_path,
)
from vacuum_pressure.download.jobs import (
    KNOWN_SCHEMAS,
    ArgumentError,
    DownloadError,
    parse_date,
    parse_schemas,
    parse_symbols,
    plan_jobs,
    trading_days,
)
from vacuum_pressure.download.state import StateStore
from vacuum_pressure.errors import VPError

logger = logging.getLogger(__name__)

API_KEY_ENV = "DATABENTO_API_KEY"
_BACKEND_DIR = Path(__file__).resolve().parents[3]
EXIT_OK = 0
EXIT_FAILED_JOBS = 1
EXIT_USAGE = 2


class MissingApiKeyError(DownloadError):
    """No Databento API key in the environment or a ``.env`` file."""


def default_env_files() -> list[Path]:
    """``.env`` files searched for the key: the working directory's, then ``backend/.env``."""
    files = [Path.cwd() / ".env", _BACKEND_DIR / ".env"]
    return list(dict.fromkeys(files))


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines of a ``.env`` file (``export`` prefix, quotes and comments allowed)."""
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if not text or text.startswith("#") or "=" not in text:
            continue
        name, _, value = text.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        else:
            value = value.split(" #", 1)[0].strip()
        values[name.strip()] = value
    return values


def load_api_key(environ: Mapping[str, str], env_files: Sequence[Path]) -> str:
    """``DATABENTO_API_KEY`` from the environment, else from the first ``.env`` that has it."""
    key = environ.get(API_KEY_ENV, "").strip()
    if key:
        return key
    for path in env_files:
        if path.is_file():
            key = read_env_file(path).get(API_KEY_ENV, "").strip()
            if key:
                return key
    raise MissingApiKeyError(
        f"{API_KEY_ENV} is not set: run `export {API_KEY_ENV}=db-...` or add the line "
        f"`{API_KEY_ENV}=db-...` to backend/.env"
    )


class RedactFilter(logging.Filter):
    """Replaces the API key in every log line, whichever library wrote it."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secret:
            message = record.getMessage()
            if self.secret in message:
                record.msg = message.replace(self.secret, "<redacted>")
                record.args = None
        return True


def build_parser() -> argparse.ArgumentParser:
    """The ``daemon`` and ``status`` subcommands."""
    parser = argparse.ArgumentParser(
        prog="batch_download_futures.py",
        description="Download Databento GLBX.MDP3 batch files into the lake (SPEC 3 layout).",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    daemon = sub.add_parser(
        "daemon",
        help="submit, poll, download and place batch jobs until all are settled",
        description=(
            f"Needs {API_KEY_ENV} in the environment or backend/.env (not for --dry-run). "
            "Files land under <lake>/raw/source=databento/...; state in "
            "<lake>/download_state/jobs.json."
        ),
    )
    daemon.add_argument("--start", required=True, help="first UTC day, YYYY-MM-DD")
    daemon.add_argument("--end", help="last UTC day, YYYY-MM-DD, inclusive (default: --start)")
    daemon.add_argument("--symbols", required=True, help="comma-separated roots, e.g. MNQ,ES")
    daemon.add_argument(
        "--include-futures",
        action="store_true",
        help="download the roots' futures MBO (ROOT.FUT, parent symbology)",
    )
    daemon.add_argument(
        "--options-schemas",
        default="",
        help=f"comma-separated schemas for the roots' options (ROOT.OPT); one of: "
        f"{', '.join(KNOWN_SCHEMAS)}",
    )
    daemon.add_argument(
        "--poll-interval", default="60", help="seconds between polls of job state (> 0)"
    )
    daemon.add_argument("--log-file", help="also write the log to this file")
    daemon.add_argument(
        "--dry-run",
        action="store_true",
        help="list what would be requested and Databento's cost estimate; submit nothing",
    )
    daemon.add_argument("--once", action="store_true", help="one pass, then exit")
    daemon.add_argument(
        "--retry-failed", action="store_true", help="submit again jobs that failed before"
    )
    daemon.add_argument(
        "--lake-root", help=f"lake folder (default: ${lake.LAKE_ROOT_ENV} or backend/lake)"
    )

    status = sub.add_parser("status", help="show every job in the state file")
    status.add_argument(
        "--lake-root", help=f"lake folder (default: ${lake.LAKE_ROOT_ENV} or backend/lake)"
    )
    status.add_argument("--json", action="store_true", help="print the records as JSON")
    return parser


def _poll_interval(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise ArgumentError(f"--poll-interval must be a number of seconds, got {value!r}") from None
    if not seconds > 0 or seconds == float("inf"):
        raise ArgumentError(f"--poll-interval must be > 0 seconds, got {value!r}")
    return seconds


def _lake_root(value: str | None) -> Path:
    """The lake folder; :class:`ArgumentError` if it (or a folder above it) is a file."""
    root = Path(value).expanduser().resolve() if value else lake.lake_root()
    existing = next(p for p in (root, *root.parents) if p.exists())
    if not existing.is_dir():
        name = "--lake-root" if value else f"lake root (${lake.LAKE_ROOT_ENV} or backend/lake)"
        where = "is a file" if existing == root else f"is inside {existing}, which is a file"
        raise ArgumentError(
            f"{name} {root} {where}; expected a folder (the lake, holding raw/ and download_state/)"
        )
    return root


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")


def _setup_logging(log_file: str | None, secret: str) -> list[logging.Handler]:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        path = Path(log_file).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(path, encoding="utf-8"))
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    root = logging.getLogger()
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(RedactFilter(secret))
        root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    return handlers


def _print_estimates(estimates: list[Estimate], lake_root: Path) -> None:
    _out(f"dry run: {len(estimates)} job(s), lake {lake_root}")
    for item in estimates:
        spec = item.spec
        cost = f"${item.cost_usd:.2f}" if item.cost_usd is not None else "n/a"
        line = (
            f"{spec.key:<36} {spec.symbols[0]:<10} {spec.schema:<10} {spec.start}..{spec.end} "
            f"{cost:>10}  -> {spec.target_relpath().as_posix()}"
        )
        if item.replaces:
            line += f"  (will replace the synthetic {', '.join(item.replaces)})"
        if item.note:
            line += f"  ({item.note})"
        _out(line)
    known = [e.cost_usd for e in estimates if e.cost_usd is not None]
    missing = len(estimates) - len(known)
    total = f"${sum(known):.2f}" + (f" (+{missing} unknown)" if missing else "")
    _out(f"total estimated cost: {total}")


def run_daemon(
    args: argparse.Namespace,
    *,
    environ: Mapping[str, str],
    env_files: Sequence[Path],
    client_factory: ClientFactory,
    waiter: Waiter,
    policy: RetryPolicy,
    install_signals: bool,
) -> int:
    """The ``daemon`` subcommand; returns the exit status."""
    start = parse_date(args.start, "--start")
    end = parse_date(args.end, "--end") if args.end else start
    roots = parse_symbols(args.symbols)
    schemas = parse_schemas(args.options_schemas) if args.options_schemas.strip() else []
    poll_s = _poll_interval(args.poll_interval)
    specs = plan_jobs(
        trading_days(start, end),
        roots,
        include_futures=args.include_futures,
        options_schemas=schemas,
    )
    lake_root = _lake_root(args.lake_root)

    if args.dry_run:
        try:
            key: str | None = load_api_key(environ, env_files)
        except MissingApiKeyError:
            key = None
        handlers = _setup_logging(args.log_file, key or "")
        try:
            client = client_factory(key) if key else None
            _print_estimates(estimate(client, specs, lake_root, waiter=waiter), lake_root)
        finally:
            _remove_handlers(handlers)
        return EXIT_OK

    key = load_api_key(environ, env_files)
    handlers = _setup_logging(args.log_file, key)
    previous = _install_stop_handlers(waiter) if install_signals else {}
    try:
        with exclusive_lock(state_dir(lake_root) / "daemon.lock"):
            downloader = Downloader(client_factory(key), lake_root, waiter=waiter, policy=policy)
            downloader.plan(specs, retry_failed=args.retry_failed)
            logger.info(
                "daemon: %d job(s) for %s..%s %s, state %s",
                len(specs),
                start,
                end,
                ",".join(roots),
                state_path(lake_root),
            )
            summary = downloader.run(poll_s, once=args.once)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _remove_handlers(handlers)
    counts = ", ".join(f"{n} {state}" for state, n in sorted(summary.counts.items()))
    _out(f"jobs: {counts}" + ("; stopped on request" if summary.stopped else ""))
    for job_key, error in summary.failed:
        _out(f"FAILED {job_key}: {error}")
    return EXIT_FAILED_JOBS if summary.failed else EXIT_OK


def _remove_handlers(handlers: list[logging.Handler]) -> None:
    root = logging.getLogger()
    for handler in handlers:
        root.removeHandler(handler)
        handler.close()


SignalHandler = Callable[[int, FrameType | None], object] | int | signal.Handlers | None


def _install_stop_handlers(waiter: Waiter) -> dict[int, SignalHandler]:
    request = getattr(waiter, "request_stop", None)
    if request is None:
        return {}

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        logger.info("signal %d: finishing the current step, then exiting", signum)
        request()

    previous: dict[int, SignalHandler] = {}
    for signum in (signal.SIGTERM, signal.SIGINT):
        previous[signum] = signal.signal(signum, on_signal)
    return previous


def run_status(args: argparse.Namespace) -> int:
    """The ``status`` subcommand: one line per job in the state file."""
    lake_root = _lake_root(args.lake_root)
    records = StateStore(state_path(lake_root)).load()
    if args.json:
        _out(json.dumps([vars(r) for r in records.values()], indent=2, sort_keys=True))
        return EXIT_OK
    if not records:
        _out(f"no jobs recorded in {state_path(lake_root)}")
        return EXIT_OK
    _out(f"{'job':<36} {'state':<10} {'remote':<11} {'job id':<24} target / error")
    for record in sorted(records.values(), key=lambda r: r.key):
        detail = record.error if record.error else record.target
        _out(
            f"{record.key:<36} {record.state:<10} {record.remote_state or '-':<11} "
            f"{record.job_id or '-':<24} {detail}"
        )
    return EXIT_OK


def run_cli(
    argv: Sequence[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    env_files: Sequence[Path] | None = None,
    client_factory: ClientFactory = databento_client,
    waiter: Waiter | None = None,
    policy: RetryPolicy | None = None,
    install_signals: bool | None = None,
) -> int:
    """:func:`main` with its collaborators injectable (tests pass a fake client and waiter).

    SIGTERM/SIGINT handlers are installed when ``install_signals`` is True (default: when no
    ``waiter`` is given); the waiter must then offer ``request_stop()`` like :class:`StopSignal`.
    """
    args = build_parser().parse_args(argv)
    try:
        if args.command == "status":
            return run_status(args)
        return run_daemon(
            args,
            environ=os.environ if environ is None else environ,
            env_files=default_env_files() if env_files is None else env_files,
            client_factory=client_factory,
            waiter=waiter or StopSignal(),
            policy=policy or RetryPolicy(),
            install_signals=waiter is None if install_signals is None else install_signals,
        )
    except (ArgumentError, MissingApiKeyError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_USAGE
    except VPError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_FAILED_JOBS


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``scripts/batch_download_futures.py``; returns the exit status."""
    return run_cli(argv)
