"""``uv run python -m vacuum_pressure.cache``: clean up lake/cache (see cli.clean_main)."""

from .cli import clean_main

raise SystemExit(clean_main())
