"""The download loop: submit batch jobs, poll them, fetch, verify and place their files.

Each pass does three steps over the jobs of the current request, saving the state file after
every change: submit pending jobs (skipping any whose file the lake already has), poll submitted
jobs with one ``list_jobs`` call, and download finished ones into a hidden file beside the target
(``.<name>.<job_id>.part``), which is flushed to disk (fsync) and checked (size, and SHA-256 when
the listing gives one) before a rename in that folder puts it under its final name. Staging
beside the target keeps the rename on one filesystem, wherever ``lake/raw`` is mounted.

A synthetic file written by ``vp synth`` under the target's name (recognised by its marker,
``source.synth_marker``) does not count as data: the real file is fetched and replaces it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import logging
import os
import stat
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from vacuum_pressure.download.client import (
    HistoricalClient,
    fetch_file,
    is_api_error,
    is_transient,
)
from vacuum_pressure.download.jobs import DownloadError, JobSpec
from vacuum_pressure.download.state import (
    COMPLETE,
    FAILED,
    PENDING,
    PRESENT,
    READY,
    SUBMITTED,
    JobRecord,
    StateStore,
    utc_now_iso,
)
from vacuum_pressure.source.synth_marker import is_synthetic, marker_path

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Every remote state list_jobs can filter on; "received" is not a filter value, so a job still
# in it is simply absent from the answer and keeps its last known state.
_LISTED_STATES = ["queued", "processing", "done", "expired"]
_ADOPTABLE_STATES = ["queued", "processing", "done"]
# How far before our clock's submit time a job list searches Databento's (polling, and adopting
# the job of a lost submit answer): the two clocks disagree a little.
_CLOCK_MARGIN = dt.timedelta(hours=1)
_HASH_CHUNK_BYTES = 8 * 1024 * 1024


def state_dir(lake_root: Path) -> Path:
    """Folder of the state file and the lock: ``lake/download_state``."""
    return lake_root / "download_state"


def state_path(lake_root: Path) -> Path:
    """The state file: ``lake/download_state/jobs.json``."""
    return state_dir(lake_root) / "jobs.json"


class Waiter(Protocol):
    """Sleeps between polls and retries, and tells whether a stop was requested."""

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds`` (s); return True if a stop was requested meanwhile."""
        ...

    def stop_requested(self) -> bool:
        """Whether a stop (SIGTERM) was requested."""
        ...


class StopSignal:
    """The real :class:`Waiter`: an event that a signal handler sets to stop the daemon."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def request_stop(self) -> None:
        """Ask the daemon to finish its current step, save state and exit."""
        self._event.set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds`` (s), waking early on a stop request."""
        return self._event.wait(seconds)

    def stop_requested(self) -> bool:
        """Whether a stop was requested."""
        return self._event.is_set()


@dataclass(frozen=True)
class RetryPolicy:
    """How long to wait and how hard to try before giving up for this pass or for good."""

    max_attempts: int = 5
    """Calls per API request when the error is transient (network, 429, 5xx)."""
    base_delay_s: float = 2.0
    """First backoff delay (s); doubles each attempt."""
    max_delay_s: float = 120.0
    """Cap on one backoff delay (s)."""
    max_download_attempts: int = 3
    """Downloads of a job that may fail verification before the job is marked failed."""
    connect_timeout_s: float = 10.0
    """Longest wait (s) for the file server to accept a connection."""
    read_timeout_s: float = 10.0
    """Longest silence (s) of the file server before a download counts as stalled; also the
    longest a stop request waits for a stalled download (otherwise it is seen at the next chunk)."""


class TransientFailure(DownloadError):
    """A request kept failing with transient errors; the job is tried again next pass."""


class PermanentFailure(DownloadError):
    """The API refused a request for good (bad symbol, schema, auth...)."""


class StopRequested(DownloadError):
    """A stop was requested while waiting to retry or in the middle of a download."""


@dataclass
class RunSummary:
    """What a run achieved."""

    counts: dict[str, int]
    """Jobs of this request per local state."""
    failed: list[tuple[str, str]] = field(default_factory=list)
    """``(key, error)`` of each failed job."""
    stopped: bool = False
    """A stop request ended the run before every job was settled."""

    @property
    def finished(self) -> bool:
        """Every job of the request is complete, present or failed."""
        return sum(self.counts.get(s, 0) for s in (PENDING, SUBMITTED, READY)) == 0


@dataclass(frozen=True)
class Estimate:
    """One line of a dry run."""

    spec: JobSpec
    """The job that would be submitted."""
    present: bool
    """The lake already has the file, so nothing would be requested."""
    cost_usd: float | None
    """Databento's cost estimate (US$), or None when unavailable."""
    note: str = ""
    """Why the cost is missing, if it is."""
    replaces: tuple[str, ...] = ()
    """Names of the synthetic files (``vp synth``) the download would replace."""


class Retrier:
    """Calls the API with exponential backoff on transient errors."""

    def __init__(self, waiter: Waiter, policy: RetryPolicy) -> None:
        self.waiter = waiter
        self.policy = policy

    def call(self, what: str, fn: Callable[..., T], **kwargs: Any) -> T:
        """``fn(**kwargs)``; transient API errors retried, others raised as our failures."""
        for attempt in range(1, self.policy.max_attempts + 1):
            try:
                return fn(**kwargs)
            except Exception as exc:
                if not is_api_error(exc):
                    raise
                if not is_transient(exc):
                    raise PermanentFailure(f"{what}: {_one_line(exc)}") from exc
                if attempt == self.policy.max_attempts:
                    raise TransientFailure(
                        f"{what}: still failing after {attempt} attempts: {_one_line(exc)}"
                    ) from exc
                delay = min(self.policy.max_delay_s, self.policy.base_delay_s * 2 ** (attempt - 1))
                logger.warning(
                    "%s failed (%s); retry %d/%d in %.0f s",
                    what,
                    _one_line(exc),
                    attempt,
                    self.policy.max_attempts - 1,
                    delay,
                )
                if self.waiter.wait(delay):
                    raise StopRequested(f"{what}: stop requested while waiting to retry") from exc
        raise AssertionError("unreachable: the loop returns or raises")


def lake_has(target: Path) -> bool:
    """Whether the lake holds the real file, compressed (``.dbn.zst``) or decompressed (``.dbn``).

    A synthetic file (``vp synth``) under that name does not count: see :func:`synthetic_at`.
    """
    return any(p.exists() and not is_synthetic(p) for p in (target, target.with_suffix("")))


def synthetic_at(target: Path) -> list[Path]:
    """The synthetic files standing in for ``target`` (either form); the download replaces them."""
    return [p for p in (target, target.with_suffix("")) if is_synthetic(p)]


def _same_request(job: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """Whether a job's details describe the request ``wanted`` (``submit_job`` arguments)."""
    for name, value in wanted.items():
        have = job.get(name)
        if name == "symbols":
            listed = have.split(",") if isinstance(have, str) else have or []
            if set(listed) != set(value):
                return False
        elif name in ("start", "end"):
            if _utc(have) != _utc(value):
                return False
        elif have != value:
            return False
    return True


def _utc(iso: object) -> dt.datetime | None:
    """An ISO date or timestamp as an aware UTC datetime (naive means UTC, as Databento does)."""
    try:
        moment = dt.datetime.fromisoformat(str(iso))
    except ValueError:
        return None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def _fsync(path: Path) -> None:
    """Flush a file's or a folder's (its entries') pending writes to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def sha256_file(path: Path) -> str:
    """SHA-256 hex digest of a file, read in 8 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def verify_file(path: Path, size: int | None, hash_str: str | None) -> str:
    """Check a downloaded file against the listing; return its SHA-256 hex.

    ``size`` is in bytes; ``hash_str`` is Databento's ``sha256:<hex>`` (other algorithms are
    only size-checked). Raises :class:`DownloadError` naming what differs.
    """
    actual_size = path.stat().st_size
    if size is not None and actual_size != size:
        raise DownloadError(f"size {actual_size} bytes, listing says {size}")
    actual_hash = sha256_file(path)
    algo, _, expected = (hash_str or "").partition(":")
    if algo.lower() == "sha256" and expected and actual_hash != expected.lower():
        raise DownloadError(f"sha256 {actual_hash}, listing says {expected}")
    if algo.lower() != "sha256":
        logger.info("%s: no sha256 in the listing (%r); checked size only", path.name, hash_str)
    return actual_hash


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock so two daemons never work on one lake at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DownloadError(
                f"another download daemon holds {path}; stop it first (or wait for it to finish)"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


class Downloader:
    """Drives the jobs of one request to completion against one lake."""

    def __init__(
        self,
        client: HistoricalClient,
        lake_root: Path,
        *,
        waiter: Waiter,
        policy: RetryPolicy | None = None,
        now: Callable[[], str] = utc_now_iso,
    ) -> None:
        self.client = client
        self.lake_root = lake_root
        self.waiter = waiter
        self.policy = policy or RetryPolicy()
        self.retrier = Retrier(waiter, self.policy)
        self.now = now
        self.store = StateStore(state_path(lake_root))
        self.records: dict[str, JobRecord] = {}
        self.active: list[str] = []

    # -- planning ---------------------------------------------------------------------------

    def plan(self, specs: list[JobSpec], *, retry_failed: bool = False) -> None:
        """Load the state file and add the request's jobs; known jobs keep their state.

        A complete or present job whose file is no longer in the lake (deleted so that it is
        fetched again, or only a synthetic file now) is queued again. ``retry_failed`` puts this
        request's failed jobs back to pending (a new submission).
        """
        self.records = self.store.load()
        self.active = []
        for spec in specs:
            record = self.records.get(spec.key)
            if record is None:
                record = JobRecord.from_spec(spec)
                self.records[spec.key] = record
            elif retry_failed and record.state == FAILED:
                logger.info("%s: failed before (%s); submitting again", spec.key, record.error)
                self._reset(record)
            elif record.state in (COMPLETE, PRESENT) and not lake_has(self._target(record)):
                self._requeue_missing(record)
            self.active.append(spec.key)
        self.store.save(self.records)

    def _requeue_missing(self, record: JobRecord) -> None:
        """Fetch again from the job that placed the file, or submit anew if none did."""
        record.size_bytes = None
        record.sha256 = None
        synthetic = bool(synthetic_at(self._target(record)))
        gone = "is synthetic (vp synth)" if synthetic else "is no longer in the lake"
        if record.state == COMPLETE and record.job_id:
            logger.warning(
                "%s: %s %s; downloading it again from job %s",
                record.key,
                record.target,
                gone,
                record.job_id,
            )
            record.state = READY
            record.download_attempts = 0
            record.error = None
            record.updated_at = self.now()
        else:
            logger.warning("%s: %s %s; submitting a job for it", record.key, record.target, gone)
            self._reset(record)

    def _reset(self, record: JobRecord) -> None:
        self._drop_staged(record)
        record.state = PENDING
        record.job_id = None
        record.remote_state = None
        record.error = None
        record.download_attempts = 0
        record.updated_at = self.now()

    # -- the loop ---------------------------------------------------------------------------

    def run(self, poll_interval_s: float, *, once: bool = False) -> RunSummary:
        """Passes until every job is settled (or one pass with ``once``, or a stop request).

        ``poll_interval_s`` (s) is the pause between passes.
        """
        stopped = False
        while True:
            stopped = self.run_pass()
            summary = self.summary(stopped=stopped)
            if stopped or once or summary.finished:
                break
            logger.info("waiting %.0f s before the next poll: %s", poll_interval_s, summary.counts)
            if self.waiter.wait(poll_interval_s):
                stopped = True
                break
        self.store.save(self.records)
        summary = self.summary(stopped=stopped)
        logger.info("run ended: %s%s", summary.counts, " (stop requested)" if stopped else "")
        return summary

    def run_pass(self) -> bool:
        """Submit, poll and fetch once. Returns True if a stop request cut the pass short."""
        try:
            for step in (self._submit_pending, self._poll_submitted, self._fetch_ready):
                if self.waiter.stop_requested():
                    return True
                step()
        except StopRequested as exc:
            logger.info("%s", exc)
            return True
        finally:
            self.store.save(self.records)
        return self.waiter.stop_requested()

    def summary(self, *, stopped: bool = False) -> RunSummary:
        """Counts per state of this request's jobs, and the failures."""
        records = [self.records[key] for key in self.active]
        return RunSummary(
            counts=dict(Counter(r.state for r in records)),
            failed=[(r.key, r.error or "") for r in records if r.state == FAILED],
            stopped=stopped,
        )

    def _records_in(self, state: str) -> list[JobRecord]:
        return [self.records[key] for key in self.active if self.records[key].state == state]

    def _changed(self, record: JobRecord) -> None:
        record.updated_at = self.now()
        self.store.save(self.records)

    def _fail(self, record: JobRecord, error: str) -> None:
        logger.error("%s: failed: %s", record.key, error)
        self._drop_staged(record)
        record.state = FAILED
        record.error = error
        self._changed(record)

    def _target(self, record: JobRecord) -> Path:
        return self.lake_root / record.target

    def _staged(self, record: JobRecord) -> Path:
        """The job's download in progress: hidden, beside its target, never matching ``*.dbn*``."""
        target = self._target(record)
        return target.with_name(f".{target.name}.{record.job_id}.part")

    def _drop_staged(self, record: JobRecord) -> None:
        if record.job_id:
            with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                self._staged(record).unlink()

    # -- step 1: submit ---------------------------------------------------------------------

    def _submit_pending(self) -> None:
        for record in self._records_in(PENDING):
            if self.waiter.stop_requested():
                return
            if lake_has(self._target(record)):
                logger.info("%s: %s already in the lake; not requested", record.key, record.target)
                record.state = PRESENT
                self._changed(record)
                continue
            if synthetic_at(self._target(record)):
                logger.info("%s: the real file will replace the synthetic one", record.key)
            try:
                job = self.retrier.call(f"submit {record.key}", self._submit_once, record=record)
            except PermanentFailure as exc:
                self._fail(record, str(exc))
                continue
            except TransientFailure as exc:
                logger.warning("%s; will submit on the next pass", exc)
                record.error = str(exc)
                self._changed(record)
                continue
            job_id = job.get("id")
            if not job_id:
                self._fail(record, f"submit {record.key}: answer has no job id: {job!r}")
                continue
            record.job_id = str(job_id)
            record.state = SUBMITTED
            record.remote_state = str(job.get("state") or "received")
            record.submitted_at = self.now()
            record.submit_sent_at = None
            cost = job.get("cost_usd")
            record.cost_usd = float(cost) if isinstance(cost, int | float) else None
            record.error = None
            # Saved before anything else happens: a restart must see this job to not re-submit.
            self._changed(record)
            logger.info("%s: submitted job %s (%s)", record.key, record.job_id, record.remote_state)

    def _submit_once(self, record: JobRecord) -> dict[str, Any]:
        """One submit attempt, after adopting the job an earlier unanswered attempt may have made.

        A submit that timed out or met a 5xx may still have created a (paid) job, so the time
        it went out is saved first; while it is set, Databento's job list is searched before
        submitting again, in this pass or after a restart.
        """
        if record.submit_sent_at is not None:
            job = self._find_job(record, since=dt.datetime.fromisoformat(record.submit_sent_at))
            if job is not None:
                logger.warning(
                    "%s: adopting job %s, which an earlier unanswered submit created",
                    record.key,
                    job.get("id"),
                )
                return job
        record.submit_sent_at = self.now()
        self._changed(record)
        return self.client.batch.submit_job(**record.spec().submit_kwargs())

    def _find_job(self, record: JobRecord, since: dt.datetime) -> dict[str, Any] | None:
        """Details of a live job for the record's request that no record owns, if there is one."""
        owned = {r.job_id for r in self.records.values() if r.job_id}
        listed = self.client.batch.list_jobs(
            states=_ADOPTABLE_STATES, since=(since - _CLOCK_MARGIN).isoformat()
        )
        wanted = record.spec().submit_kwargs()
        for job_id in (str(job.get("id")) for job in listed):
            if job_id in owned:
                continue
            details = self.client.batch.get_job_details(job_id=job_id)
            if _same_request(details, wanted):
                return details
        return None

    # -- step 2: poll -----------------------------------------------------------------------

    def _poll_submitted(self) -> None:
        waiting = self._records_in(SUBMITTED)
        if not waiting:
            return
        earliest = min(dt.datetime.fromisoformat(r.submitted_at or self.now()) for r in waiting)
        since = (earliest - _CLOCK_MARGIN).isoformat()  # "since" is on Databento's clock
        try:
            jobs = self.retrier.call(
                "list jobs", self.client.batch.list_jobs, states=_LISTED_STATES, since=since
            )
        except TransientFailure as exc:
            logger.warning("%s; will poll again on the next pass", exc)
            return
        except PermanentFailure as exc:
            # Without a job listing no job can progress, so this ends the run.
            raise DownloadError(f"cannot poll batch jobs: {exc}") from exc
        by_id = {str(job.get("id")): job for job in jobs}
        for record in waiting:
            job = by_id.get(record.job_id or "")
            if job is None:
                continue
            remote = str(job.get("state"))
            if remote != record.remote_state:
                logger.info("%s: job %s is %s", record.key, record.job_id, remote)
            record.remote_state = remote
            if remote == "done":
                record.state = READY
            elif remote == "expired":
                self._fail(
                    record,
                    f"job {record.job_id} expired before its file was downloaded; "
                    "rerun with --retry-failed to submit it again",
                )
                continue
            self._changed(record)

    # -- step 3: fetch, verify, place -------------------------------------------------------

    def _fetch_ready(self) -> None:
        for record in self._records_in(READY):
            if self.waiter.stop_requested():
                return
            try:
                self._fetch_one(record)
            except PermanentFailure as exc:
                self._fail(record, str(exc))
            except TransientFailure as exc:
                logger.warning("%s; will download on the next pass", exc)
                record.error = str(exc)
                self._changed(record)
            except OSError as exc:
                # The lake cannot be written (full, read-only, a file where a folder should be).
                raise DownloadError(f"{record.key}: cannot write into the lake: {exc}") from exc

    def _fetch_one(self, record: JobRecord) -> None:
        target = self._target(record)
        job_id = record.job_id or ""
        if lake_has(target):
            logger.info("%s: %s appeared in the lake; left untouched", record.key, record.target)
            self._drop_staged(record)
            record.state = PRESENT
            self._changed(record)
            return
        files = self.retrier.call(
            f"list files of {job_id}", self.client.batch.list_files, job_id=job_id
        )
        data_files = [f for f in files if str(f.get("filename", "")).endswith(".dbn.zst")]
        if len(data_files) != 1:
            names = sorted(str(f.get("filename")) for f in files)
            raise PermanentFailure(
                f"job {job_id} has {len(data_files)} .dbn.zst data files, expected 1 "
                f"(files: {', '.join(names) or 'none'})"
            )
        entry = data_files[0]
        name = str(entry["filename"])
        url = (entry.get("urls") or {}).get("https")
        if not url:
            raise PermanentFailure(f"job {job_id}: {name} has no https download link")
        size = int(entry["size"]) if entry.get("size") is not None else None
        staged = self._staged(record)
        staged.parent.mkdir(parents=True, exist_ok=True)
        finished = self.retrier.call(
            f"download {name} of {job_id}",
            fetch_file,
            url=url,
            dest=staged,
            key=self.client.key,
            size=size,
            timeout_s=(self.policy.connect_timeout_s, self.policy.read_timeout_s),
            should_stop=self.waiter.stop_requested,
        )
        if not finished:
            raise StopRequested(
                f"{record.key}: download stopped on request; "
                f"{staged.stat().st_size} bytes kept to resume"
            )
        _fsync(staged)  # what is verified is what a power cut leaves on disk
        try:
            digest = verify_file(staged, size, entry.get("hash"))
        except DownloadError as exc:
            self._discard(record, staged, f"corrupt download: {name}: {exc}")
            return
        self._place(record, staged, target, digest)

    def _discard(self, record: JobRecord, staged: Path, reason: str) -> None:
        """Delete a bad staged file; fail the job once it used up its download attempts."""
        with contextlib.suppress(FileNotFoundError):
            staged.unlink()
        record.download_attempts += 1
        if record.download_attempts >= self.policy.max_download_attempts:
            self._fail(record, f"{reason}; gave up after {record.download_attempts} downloads")
            return
        logger.warning(
            "%s: %s; deleted, will download again (%d/%d)",
            record.key,
            reason,
            record.download_attempts,
            self.policy.max_download_attempts,
        )
        record.error = reason
        self._changed(record)

    def _place(self, record: JobRecord, staged: Path, target: Path, digest: str) -> None:
        if lake_has(target):
            # Someone put a file there meanwhile: the lake's copy wins, ours is dropped.
            staged.unlink()
            record.state = PRESENT
        else:
            synthetic = synthetic_at(target)
            # A synthetic decompressed copy goes first: the replay prefers a .dbn to its .dbn.zst.
            for path in synthetic:
                if path != target:
                    path.unlink()
            # Raw files are immutable (SPEC 3): read-only once in place.
            staged.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
            os.replace(staged, target)  # same folder, so atomic and never across filesystems
            _fsync(target.parent)  # the rename itself survives a power cut before the state says so
            if synthetic:
                # Last: until now the marker kept the synthetic file recognisable; it never
                # matches the real file's size, so a crash just before this is harmless.
                marker_path(target).unlink(missing_ok=True)
            record.state = COMPLETE
            record.size_bytes = target.stat().st_size
            record.sha256 = digest
            logger.info(
                "%s: placed %s (%d bytes)%s",
                record.key,
                record.target,
                record.size_bytes,
                ", replacing the synthetic file" if synthetic else "",
            )
        record.error = None
        self._changed(record)


def estimate(
    client: HistoricalClient | None,
    specs: list[JobSpec],
    lake_root: Path,
    *,
    waiter: Waiter,
    policy: RetryPolicy | None = None,
) -> list[Estimate]:
    """What a run would request and Databento's cost estimate per job (US$).

    With no client (no API key) the requests are listed without costs. Submits nothing.
    """
    retrier = Retrier(waiter, policy or RetryPolicy())
    estimates: list[Estimate] = []
    for spec in specs:
        target = lake_root / spec.target_relpath()
        if lake_has(target):
            estimates.append(Estimate(spec, present=True, cost_usd=0.0, note="already in lake"))
            continue
        replaces = tuple(p.name for p in synthetic_at(target))
        if client is None:
            estimates.append(
                Estimate(spec, False, None, "no DATABENTO_API_KEY: cost unknown", replaces)
            )
            continue
        try:
            cost = retrier.call(
                f"cost of {spec.key}", client.metadata.get_cost, **spec.cost_kwargs()
            )
        except (TransientFailure, PermanentFailure) as exc:
            estimates.append(Estimate(spec, False, None, str(exc), replaces))
            continue
        estimates.append(Estimate(spec, False, float(cost), replaces=replaces))
    return estimates
