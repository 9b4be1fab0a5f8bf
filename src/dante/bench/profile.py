"""The step profile of ``dante bench``: ``benchmarks/profile_step.py`` on this
tree and on a baseline commit, side by side."""

from __future__ import annotations

import os
from typing import Any

__all__ = ["profile_before_after"]


def _tree_path(path: str, tree: os.PathLike, label: str) -> str:
    """``path`` relative to the source tree that ran, prefixed by ``label``
    (``"."`` for the working tree, ``"<commit>:"`` for the baseline, git's
    revision-path form); a file outside the tree is marked as such (the run
    imported an installed dante instead), never recorded as an absolute path."""
    from pathlib import Path

    try:
        rel = Path(path).resolve().relative_to(Path(tree).resolve()).as_posix()
    except ValueError:
        return f"outside {label.rstrip(':') or 'the working tree'}: {Path(path).name}"
    return f"{label}/{rel}" if label == "." else f"{label}{rel}"


def profile_before_after(baseline: str | None = "7b57b00", n: int = 10_000) -> dict | None:
    """Run ``benchmarks/profile_step.py`` on this tree and on ``baseline``.

    The baseline is checked out into a temporary ``git worktree`` and run
    with ``PYTHONPATH`` pointing at its ``src``, side by side with the
    working tree. ``None`` outside a source checkout; the baseline is
    skipped (``before`` is ``None``) when git or the commit is unavailable.
    """
    import json
    import shutil
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    script = root / "benchmarks" / "profile_step.py"
    if not script.is_file():
        return None

    def run(tree: Path, label: str) -> dict:
        env = {**os.environ, "PYTHONPATH": str(tree / "src")}
        out = subprocess.run(
            [sys.executable, str(script), str(n)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        rec = json.loads(out.stdout.strip().splitlines()[-1])
        if "dante_file" in rec:  # which tree ran, without this machine's paths
            rec["dante_file"] = _tree_path(rec["dante_file"], tree, label)
        return rec

    result: dict[str, Any] = {"baseline": baseline, "after": run(root, "."), "before": None}
    if baseline and shutil.which("git") and (root / ".git").exists():
        tmp = tempfile.mkdtemp(prefix="dante-baseline-")
        wt = os.path.join(tmp, "tree")
        try:
            subprocess.run(
                ["git", "-C", str(root), "worktree", "add", "--detach", wt, baseline],
                check=True,
                capture_output=True,
            )
            result["before"] = run(Path(wt), f"{baseline}:")
        except subprocess.CalledProcessError as exc:
            result["error"] = (exc.stderr or b"").decode(errors="replace").strip()[:200]
        finally:
            subprocess.run(
                ["git", "-C", str(root), "worktree", "remove", "--force", wt],
                capture_output=True,
            )
            shutil.rmtree(tmp, ignore_errors=True)
    return result
