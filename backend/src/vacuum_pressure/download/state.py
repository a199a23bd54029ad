"""The state file: every job the daemon has planned, submitted, downloaded or given up on.

It lives at ``lake/download_state/jobs.json`` and is rewritten atomically (temp file, fsync,
rename) after every change, so a restart sees each submitted job exactly once and never submits
it again. It holds no credentials.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import tempfile
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from vacuum_pressure.download.jobs import DownloadError, JobSpec

STATE_VERSION = 1

# Local life of a job. Remote states (received, queued, processing) are kept in ``remote_state``.
PENDING = "pending"  # planned, not submitted
SUBMITTED = "submitted"  # accepted by Databento, not finished yet
READY = "ready"  # finished remotely, file not yet in the lake
COMPLETE = "complete"  # verified file placed in the lake
PRESENT = "present"  # the lake already had the file: nothing requested
FAILED = "failed"  # permanent error; see ``error``
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


class StateStore:
    """Load and atomically save the job records of one lake."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, JobRecord]:
        """Records by key; empty when no state file exists yet."""
        if not self.path.exists():
            return {}
        try:
            payload = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise DownloadError(
                f"state file {self.path} is unreadable ({exc}); move it aside to start over"
            ) from None
        if not isinstance(payload, dict) or payload.get("version") != STATE_VERSION:
            raise DownloadError(
                f"state file {self.path} has version {payload.get('version')!r}; "
                f"this program reads version {STATE_VERSION}"
            )
        names = {f.name for f in fields(JobRecord)}
        records: dict[str, JobRecord] = {}
        for raw in payload.get("jobs", []):
            record = JobRecord(**{k: v for k, v in raw.items() if k in names})
            records[record.key] = record
        return records

    def save(self, records: dict[str, JobRecord]) -> None:
        """Write all records: temp file in the same folder, fsync, then rename over the old."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload: dict[str, Any] = {
            "version": STATE_VERSION,
            "jobs": [asdict(record) for record in records.values()],
        }
        fd, tmp_name = tempfile.mkstemp(prefix=".jobs-", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(payload, handle, indent=2, sort_keys=True)
                handle.write("\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp_name, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
            raise
