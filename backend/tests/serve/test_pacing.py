"""Replay pacing with an injected fake timer: exact waits, no wall-clock assertions.

At speed s the producer releases bin n at ``anchor + n * width / s``; ``set_speed`` changes
the wait from the next bin on; a pause holds the producer until resume.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from serve_support import DT, START

from vacuum_pressure.config import load_config
from vacuum_pressure.serve.params import parse_stream_params
from vacuum_pressure.serve.session import (
    Item,
    ReplayClock,
    ReplaySession,
    SessionOptions,
    Stopped,
)
from vacuum_pressure.source import open_replay

MS = 1_000_000


class FakeTimer:
    """Fake wall time (s): ``wait`` advances it by the timeout instead of sleeping, landing
    exactly on scheduled callbacks (run with the clock's lock held, as controls would be)."""

    def __init__(self) -> None:
        self.t = 0.0
        self.waits: list[float] = []
        self._at: list[tuple[float, Callable[[], None]]] = []

    def now(self) -> float:
        return self.t

    def at(self, when: float, action: Callable[[], None]) -> None:
        self._at.append((when, action))
        self._at.sort(key=lambda a: a[0])

    def wait(self, cond: threading.Condition, timeout_s: float) -> None:
        self.waits.append(timeout_s)
        step = timeout_s
        if self._at:
            step = min(step, max(0.0, self._at[0][0] - self.t))
        self.t += step
        while self._at and self._at[0][0] <= self.t:
            self._at.pop(0)[1]()


def _release_times(clock: ReplayClock, timer: FakeTimer, ends_ns: list[int]) -> list[float]:
    out = []
    for end in ends_ns:
        clock.wait_until(end)
        out.append(timer.t)
    return out


def test_speed_sets_the_wait_between_bins() -> None:
    for speed, gap in ((1.0, 0.1), (2.0, 0.05), (0.5, 0.2), (10.0, 0.01)):
        timer = FakeTimer()
        clock = ReplayClock(speed, timer)
        clock.reanchor(0)
        times = _release_times(clock, timer, [n * 100 * MS for n in range(1, 6)])
        assert times == pytest.approx([gap * n for n in range(1, 6)], abs=1e-12)
        # No wait is longer than the poll interval: a stop or seek is seen within 50 ms.
        assert max(timer.waits) == pytest.approx(min(gap, 0.05), abs=1e-12)


def test_speed_zero_never_waits() -> None:
    timer = FakeTimer()
    clock = ReplayClock(0.0, timer)
    clock.reanchor(0)
    assert _release_times(clock, timer, [n * 100 * MS for n in range(1, 4)]) == [0.0] * 3
    assert timer.waits == []


def test_set_speed_changes_the_wait_from_the_next_bin() -> None:
    timer = FakeTimer()
    clock = ReplayClock(1.0, timer)
    clock.reanchor(0)
    first = _release_times(clock, timer, [100 * MS, 200 * MS])
    clock.set_speed(4.0)
    second = _release_times(clock, timer, [300 * MS, 400 * MS])
    clock.set_speed(0.5)
    third = _release_times(clock, timer, [500 * MS])
    assert first + second + third == pytest.approx([0.1, 0.2, 0.225, 0.25, 0.45], abs=1e-12)


def test_pause_holds_until_resume_and_is_not_made_up() -> None:
    timer = FakeTimer()
    clock = ReplayClock(1.0, timer)
    clock.reanchor(0)
    assert _release_times(clock, timer, [100 * MS]) == pytest.approx([0.1])
    clock.set_paused(True)
    timer.at(5.0, lambda: clock.set_paused(False))
    # Held for the whole pause, then one bin width after the resume (no burst).
    assert _release_times(clock, timer, [200 * MS, 300 * MS]) == pytest.approx(
        [5.1, 5.2], abs=1e-12
    )
    assert all(w <= 0.05 for w in timer.waits)


def test_stop_during_pause_raises() -> None:
    timer = FakeTimer()
    clock = ReplayClock(1.0, timer)
    clock.reanchor(0)
    clock.set_paused(True)
    timer.at(1.0, clock.stop)
    with pytest.raises(Stopped):
        clock.wait_until(100 * MS)
    assert timer.t == pytest.approx(1.0, abs=1e-12)


def test_session_releases_bins_at_the_paced_times(synth_lake: Path) -> None:
    """The producer of a real session on the synthetic day, with a fake timer: bin n is handed
    over at n * 100 ms / speed; set_speed(4) after bin 9 and a 3 s pause after bin 19 change
    exactly the following waits."""
    config = load_config()
    params = parse_stream_params(
        {
            "product_type": "future_mbo",
            "symbol": "MNQH6",
            "dt": DT,
            "start_time": START,
            "speed": "2",
        }
    )
    timer = FakeTimer()
    options = SessionOptions(lake_root=synth_lake, use_cache=False, timer=timer)
    released: list[tuple[int, float]] = []
    session: ReplaySession

    def emit(item: Item) -> None:
        kind = item[0]
        assert kind == "bin", item
        session.release()
        seq = len(released)
        released.append((seq, timer.t))
        if seq == 9:
            session.clock.set_speed(4.0)
        elif seq == 19:
            session.clock.set_paused(True)
            timer.at(timer.t + 3.0, lambda: session.clock.set_paused(False))
        elif seq == 29:
            session.clock.stop()

    session = ReplaySession(config, params, open_replay(config, DT, synth_lake), options, emit)
    session.run_to_end()
    assert [seq for seq, _ in released] == list(range(30))
    times = [t for _, t in released]
    expected = [0.05 * (n + 1) for n in range(10)]  # speed 2: 50 ms per 100 ms bin
    expected += [0.5 + 0.025 * (n - 9) for n in range(10, 20)]  # speed 4 from bin 10
    expected += [0.75 + 3.0 + 0.025 * (n - 19) for n in range(20, 30)]  # after the pause
    assert times == pytest.approx(expected, abs=1e-9)


def test_a_forward_seek_lands_at_once_then_paces_from_the_target(synth_lake: Path) -> None:
    """At speed 2, a seek 60 s ahead requested after bin 9 (t = 0.5 s) must not wait out the
    jump (30 s at speed 2): the target bin is handed over at once, the next ones 50 ms apart."""
    config = load_config()
    params = parse_stream_params(
        {"product_type": "future_mbo", "symbol": "MNQH6", "dt": DT, "start_time": START,
         "speed": "2"}
    )  # fmt: skip
    timer = FakeTimer()
    options = SessionOptions(lake_root=synth_lake, use_cache=False, timer=timer)
    got: list[tuple[str, float]] = []
    session: ReplaySession

    def emit(item: Item) -> None:
        got.append((item[0], timer.t))
        if item[0] == "bin":
            session.release()
        bins = sum(1 for kind, _ in got if kind == "bin")
        if bins == 10 and item[0] == "bin":
            session.seek(session.emit_after_ns + 70 * 10**9, "09:01:10")
        elif bins == 15:
            session.clock.stop()

    session = ReplaySession(config, params, open_replay(config, DT, synth_lake), options, emit)
    session.run_to_end()
    assert [kind for kind, _ in got] == ["bin"] * 10 + ["text", "bin"] + ["bin"] * 4
    assert [t for _, t in got[10:]] == pytest.approx([0.5, 0.5, 0.55, 0.6, 0.65, 0.7], abs=1e-9)
