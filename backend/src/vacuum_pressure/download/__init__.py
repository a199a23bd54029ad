"""Databento batch downloads into the lake: plan jobs, submit, poll, fetch, verify, place.

Modules: ``client`` (the Protocol the real ``databento.Historical`` satisfies), ``jobs`` (what to
request and where it lands), ``state`` (the resumable state file), ``daemon`` (the loop) and
``cli`` (``scripts/batch_download_futures.py``).
"""
