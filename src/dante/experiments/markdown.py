"""Markdown helpers shared by the generated pages (``docs/RESULTS.md``).

Kept apart from :mod:`.report_tables` and :mod:`.deviations` so that both can
use them without importing each other.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["markdown_table", "md_text", "table_cell"]


def md_text(text: Any) -> str:
    """Plain text for markdown: ``*`` (``w*``, ``A*``) escaped, newlines as spaces."""
    return str(text).replace("*", "\\*").replace("\n", " ")


def table_cell(value: Any, escape: bool = True) -> str:
    """One markdown table cell: numbers to 4 significant digits, NaN/None as '-'.

    ``escape=False`` keeps markdown emphasis (``**not held**``); ``|`` is always escaped.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        text = "-"
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, float):
        text = f"{value:.4g}"
    else:
        text = str(value)
    text = md_text(text) if escape else text.replace("\n", " ")
    return text.replace("|", "\\|")


def markdown_table(header: list[Any], rows: list[list[Any]], escape: bool = True) -> list[str]:
    """A markdown table, every cell through :func:`table_cell`."""
    lines = ["| " + " | ".join(table_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(table_cell(v, escape) for v in row) + " |" for row in rows]
    return lines
