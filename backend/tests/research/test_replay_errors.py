"""``vp replay`` reports a bad request with its message and exit 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from vacuum_pressure.summary import main as replay_main


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--dt", "2026-02-30"], "date '2026-02-30' is not a calendar date"),
        (["--start-time", "9:99"], "start_time '9:99' is invalid"),
        (["--symbol", "ZZZZ"], "requested future_mbo:ZZZZ"),
        (["--dt", "2026-01-02"], "no raw data for future_mbo:MNQH6 on 2026-01-02"),
        (["--minutes", "0"], "--minutes 0.0 is invalid"),
    ],
)
def test_replay_reports_bad_requests(
    tmp_path: Path, argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert replay_main([*argv, "--lake-root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
