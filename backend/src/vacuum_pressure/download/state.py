"""The state file: every job the daemon has planned, submitted, downloaded or given up on.

It lives at ``lake/download_state/jobs.json`` and is rewritten atomically (temp file, fsync,
rename) after every change, so a restart sees each submitted job exactly once and never submits
it again. It holds no credentials.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path
from typing import Any, get_args, get_type_hints

from vacuum_pressure.atomic import replacing
from vacuum_pressure.download.jobs import DownloadError, JobSpec

STATE_VERSION = 1

# Local life of a job. Remote states (received, queued, processing) are kept in ``remote_state``.
PENDING = "pending"  # planned, not submitted
SUBMITTED = "submitted"  # accepted by Databento, not finished yet
READY = "ready"  # finished remotely, file not yet in the lake
COMPLETE = "complete"  # verified file placed in the lake
PRESENT = "present"  # the lake already had the file: nothing requested
FAILED = "failed"  # permanent error; see ``error``
_LOCAL_STATES = (PENDING, SUBMITTED, READY, COMPLETE, PRESENT, FAILED)
TERMINAL_STATES = frozenset({COMPLETE, PRESENT, FAILED})


@dataclass
class JobRecord:
    """One job's row in the state file. Times are ISO-8601 UTC strings."""

    key: str
    """:attr:`JobSpec.key`."""
    day: str
    """UTC day, ``YYYY-MM-DD``."""
    root: str
    """Root symbol."""
    kind: str
    """``futures`` or ``options``."""
    schema: str
    """Databento schema."""
    target: str
    """Destination relative to the lake root."""
    state: str = PENDING
    """Local state (see the module constants)."""
    job_id: str | None = None
    """Databento job id once submitted."""
    remote_state: str | None = None
    """Last state Databento reported (received, queued, processing, done, expired)."""
    submitted_at: str | None = None
    """When the job was submitted."""
    submit_sent_at: str | None = None
    """When a submit went out whose answer never came: Databento may hold the job already."""
    updated_at: str | None = None
    """Last change of this record."""
    cost_usd: float | None = None
    """Cost Databento quoted at submission, if it did."""
    size_bytes: int | None = None
    """Size of the placed file."""
    sha256: str | None = None
    """SHA-256 (hex) of the placed file."""
    download_attempts: int = 0
    """Downloads that failed verification or errored."""
    error: str | None = None
    """Why the job failed (permanent errors) or the last transient trouble."""

    @classmethod
    def from_spec(cls, spec: JobSpec) -> JobRecord:
        """A fresh pending record for a planned job."""
        return cls(
            key=spec.key,
            day=spec.day.isoformat(),
            root=spec.root,
            kind=spec.kind,
            schema=spec.schema,
            target=spec.target_relpath().as_posix(),
        )

    def spec(self) -> JobSpec:
        """The job this record describes."""
        day = dt.date.fromisoformat(self.day)
        if self.kind == "futures":
            return JobSpec(day, self.root, "futures", self.schema)
        return JobSpec(day, self.root, "options", self.schema)

    @property
    def terminal(self) -> bool:
        """Nothing more will happen to this job in this run."""
        return self.state in TERMINAL_STATES


def utc_now_iso() -> str:
    """Now, UTC, ISO-8601 with seconds."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


_REQUIRED_FIELDS = tuple(f.name for f in fields(JobRecord) if f.default is MISSING)
_FIELD_TYPES: dict[str, Any] = get_type_hints(JobRecord)
_FIELD_TYPES["cost_usd"] = float | int | None  # JSON has one number type: 2.0 may read back as 2
_JSON_NAMES = {str: "a string", int: "an integer", float: "a number", type(None): "null"}


def _json_kind(value: object) -> str:
    kinds = {dict: "an object", list: "an array", str: "a string", bool: "true/false"}
    return kinds.get(type(value), "null" if value is None else "a number")


def _record_problem(raw: object) -> str | None:
    """What is wrong with one job entry of the state file, or None if it is well formed."""
    if not isinstance(raw, dict):
        return f"is {_json_kind(raw)}, expected an object"
    missing = [name for name in _REQUIRED_FIELDS if name not in raw]
    if missing:
        return f"lacks {', '.join(missing)} (required: {', '.join(_REQUIRED_FIELDS)})"
    for name, value in raw.items():
        expected = _FIELD_TYPES.get(name)
        if expected is not None and not isinstance(value, expected):
            accepted = " or ".join(_JSON_NAMES[t] for t in get_args(expected) or [expected])
            return f"{name} is {value!r}, expected {accepted}"
    if raw["kind"] not in ("futures", "options"):
        return f"kind is {raw['kind']!r}, expected 'futures' or 'options'"
    if raw.get("state", PENDING) not in _LOCAL_STATES:
        return f"state is {raw['state']!r}, expected one of {', '.join(_LOCAL_STATES)}"
    try:
        dt.date.fromisoformat(raw["day"])
    except ValueError:
        return f"day is {raw['day']!r}, expected YYYY-MM-DD"
    for name in ("submitted_at", "submit_sent_at", "updated_at"):
        if raw.get(name) is not None:
            try:
                dt.datetime.fromisoformat(raw[name])
            except ValueError:
                return f"{name} is {raw[name]!r}, expected an ISO 8601 time"
    return None


class StateStore:
    """Load and atomically save the job records of one lake."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, JobRecord]:
        """Records by key; empty when no state file exists yet.

        Raises :class:`DownloadError` naming the file and what is wrong when it is not a
        version-1 state file with a well-formed record per job.
        """
        if not self.path.exists():
            return {}
        try:
            payload = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise self._invalid(f"unreadable ({exc})") from None
        if not isinstance(payload, dict):
            raise self._invalid(
                f"it holds {_json_kind(payload)}, "
                'expected an object {"version": 1, "jobs": [...]}'
            )
        if payload.get("version") != STATE_VERSION:
            raise DownloadError(
                f"state file {self.path} has version {payload.get('version')!r}; "
                f"this program reads version {STATE_VERSION}"
            )
        jobs = payload.get("jobs", [])
        if not isinstance(jobs, list):
            raise self._invalid(f'"jobs" is {_json_kind(jobs)}, expected an array')
        records: dict[str, JobRecord] = {}
        for index, raw in enumerate(jobs):
            problem = _record_problem(raw)
            if problem:
                raise self._invalid(f"jobs[{index}] {problem}")
            record = JobRecord(**{k: v for k, v in raw.items() if k in _FIELD_TYPES})
            records[record.key] = record
        return records

    def _invalid(self, problem: str) -> DownloadError:
        return DownloadError(
            f"state file {self.path}: {problem}; fix it or move it aside to start over"
        )

    def save(self, records: dict[str, JobRecord]) -> None:
        """Write all records: temp file in the same folder, fsync, then rename over the old."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload: dict[str, Any] = {
            "version": STATE_VERSION,
            "jobs": [asdict(record) for record in records.values()],
        }
        with replacing(self.path) as handle:
            json.dump(payload, handle, indent=2, sort_keys=True)
            handle.write("\n")
