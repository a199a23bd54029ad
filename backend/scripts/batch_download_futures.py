"""Download Databento batch files into the lake: ``batch_download_futures.py daemon|status``.

See ``--help`` and FEATURES.md; all logic lives in vacuum_pressure.download.
"""

from vacuum_pressure.download.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
