"""Bounded reads of the real clusters and MM2: what gates, handoffs and status conclude from.

Everything here does I/O with a timeout and returns plain data; the conclusions are
drawn by the pure functions in `planning/`.
"""
