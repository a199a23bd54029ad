"""Spymaster vacuum-pressure: absolute-tick MBO order-book engine, pressure/vacuum spectrum,
replay server and research outputs."""

__version__ = "0.1.0"
