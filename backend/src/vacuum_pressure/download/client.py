"""The Databento boundary: the slice of ``databento.Historical`` the downloader uses.

The Protocols mirror the real method names and parameter names of ``Historical.batch`` and
``Historical.metadata`` (databento-python 0.6x-0.8x), so ``databento.Historical(key)`` satisfies
them as is and a test double implements the same surface. Only keyword arguments are used at the
call sites, which keeps the fake honest about names.

Files are fetched by :func:`fetch_file`, not by ``Historical.batch.download``: the client's
download has no timeouts (a stalled connection hangs for ever) and runs in a thread pool that a
stop request cannot reach.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

import requests
from databento.common.error import BentoClientError, BentoError, BentoHttpError, BentoServerError

# HTTP statuses worth retrying: rate limit, request timeout, and the server's 5xx family.
_TRANSIENT_HTTP = frozenset({408, 409, 425, 429})
# Bytes per read of a download: a stop request is seen between chunks.
_CHUNK_BYTES = 64 * 1024


class BatchAPI(Protocol):
    """``Historical.batch``: submit batch jobs, list them and their files."""

    def submit_job(
        self,
        dataset: str,
        symbols: list[str],
        schema: str,
        start: str,
        end: str | None = ...,
        encoding: str = ...,
        compression: str = ...,
        pretty_px: bool = ...,
        pretty_ts: bool = ...,
        map_symbols: bool | None = ...,
        split_symbols: bool = ...,
        split_duration: str = ...,
        split_size: int | None = ...,
        delivery: str = ...,
        stype_in: str = ...,
        stype_out: str = ...,
        limit: int | None = ...,
    ) -> dict[str, Any]:
        """Submit one job; returns the job description (``id``, ``state``, ``cost_usd``...)."""
        ...

    def list_jobs(
        self,
        states: Iterable[str] | str | None = ...,
        since: str | None = ...,
    ) -> list[dict[str, Any]]:
        """Jobs of the account: ``id``, ``state`` and ``ts_received`` each."""
        ...

    def get_job_details(self, job_id: str) -> dict[str, Any]:
        """One job's full description: its request (``dataset``, ``symbols`` as ``A,B``,
        ``schema``, ``start``/``end`` as ISO timestamps...) and ``state``."""
        ...

    def list_files(self, job_id: str) -> list[dict[str, Any]]:
        """Files of a finished job: ``filename``, ``size`` (bytes), ``hash`` (``sha256:<hex>``),
        ``urls`` (``https``: where :func:`fetch_file` gets it)."""
        ...


class MetadataAPI(Protocol):
    """``Historical.metadata``: only the cost estimate is used."""

    def get_cost(
        self,
        dataset: str,
        start: str,
        end: str | None = ...,
        *,
        symbols: list[str] | None = ...,
        schema: str = ...,
        stype_in: str = ...,
    ) -> float:
        """Cost of the request in US dollars."""
        ...


class HistoricalClient(Protocol):
    """What ``databento.Historical`` offers the downloader."""

    @property
    def key(self) -> str:
        """The API key (the basic-auth user name for file downloads)."""
        ...

    @property
    def batch(self) -> BatchAPI:
        """The batch endpoints."""
        ...

    @property
    def metadata(self) -> MetadataAPI:
        """The metadata endpoints."""
        ...


ClientFactory = Callable[[str], HistoricalClient]


def databento_client(key: str) -> HistoricalClient:
    """The real client (mypy checks here that it satisfies :class:`HistoricalClient`).

    Imported lazily so ``--help`` and ``status`` never load it.
    """
    import databento

    return databento.Historical(key)


def fetch_file(
    url: str,
    dest: Path,
    *,
    key: str,
    size: int | None,
    timeout_s: tuple[float, float],
    should_stop: Callable[[], bool],
) -> bool:
    """Download a batch file from ``url`` into ``dest``, resuming after the bytes already there.

    ``key`` is sent as the basic-auth user, as Databento expects. ``size`` (bytes, from the job's
    file listing) tells a finished or over-long ``dest`` (started over) from a partial one.
    ``timeout_s`` is (connect, read) in seconds: a server silent for longer raises
    ``requests.Timeout``. Returns False, keeping what arrived, when ``should_stop()`` is true at
    a chunk; True once everything arrived.
    """
    have = dest.stat().st_size if dest.exists() else 0
    if size is not None and have > size:
        dest.unlink()  # not a prefix of this file
        have = 0
    if dest.exists() and have == size:
        return True
    headers = {"Range": f"bytes={have}-"} if have else {}
    with requests.get(
        url, headers=headers, auth=(key, ""), stream=True, timeout=timeout_s
    ) as response:
        response.raise_for_status()
        # 206 continues the partial file; a plain 200 (range ignored) sends it all again.
        with dest.open("ab" if response.status_code == 206 else "wb") as handle:
            for chunk in response.iter_content(chunk_size=_CHUNK_BYTES):
                if should_stop():
                    return False
                handle.write(chunk)
    return True


def is_transient(exc: BaseException) -> bool:
    """Whether an API error is worth retrying (network trouble, rate limit, 5xx).

    Everything else from the API (bad symbol, bad schema, auth, 4xx) is permanent: retrying
    would only repeat the same answer.
    """
    if isinstance(exc, BentoServerError):
        return True
    if isinstance(exc, BentoClientError | BentoHttpError):
        return exc.http_status in _TRANSIENT_HTTP or exc.http_status >= 500
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        status = exc.response.status_code
        return status in _TRANSIENT_HTTP or status >= 500
    return isinstance(exc, requests.RequestException | ConnectionError | TimeoutError)


def is_api_error(exc: BaseException) -> bool:
    """Whether an exception came from the API or the network (and not from our own code)."""
    return isinstance(exc, BentoError | requests.RequestException | ConnectionError | TimeoutError)
