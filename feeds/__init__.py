"""Formats: pure, synchronous parsing and rendering of feeds and pages, no I/O."""
