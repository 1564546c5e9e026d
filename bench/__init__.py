"""Trackway's benchmark suite: `make bench`, or `python -m bench --help`."""
