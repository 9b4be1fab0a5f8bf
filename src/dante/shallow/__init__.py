"""Provable shallow-network algorithms from the other seed papers.

Each module cites its paper; see ``docs/SHALLOW.md``.
"""
