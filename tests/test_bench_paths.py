"""``dante bench`` records no absolute path of the machine it ran on."""

from __future__ import annotations

import json
import os
from pathlib import Path

from dante import bench

ROOT = Path(__file__).resolve().parents[1]


def _strings(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v)
    elif isinstance(obj, str):
        yield obj


def test_machine_info_keeps_only_the_blas_name():
    blas = bench.machine_info()["blas"]
    # torch's "Build settings" line also carries the build machine's compiler paths
    assert "/" not in blas and "," not in blas and "=" not in blas, blas


def test_profiled_source_file_is_recorded_relative_to_its_tree(tmp_path):
    tree = tmp_path / "tree"
    f = tree / "src" / "dante" / "__init__.py"
    f.parent.mkdir(parents=True)
    f.write_text("")
    assert bench._tree_path(str(f), tree, ".") == "./src/dante/__init__.py"
    assert bench._tree_path(str(f), tree, "7b57b00:") == "7b57b00:src/dante/__init__.py"
    outside = bench._tree_path(str(f), tmp_path / "elsewhere", ".")
    assert not os.path.isabs(outside) and str(tmp_path) not in outside, outside


def test_committed_bench_results_hold_no_absolute_path():
    for path in (ROOT / "benchmarks").rglob("*.json"):
        for s in _strings(json.loads(path.read_text())):
            assert not any(m in s for m in ("/work/", "/tmp/", "/root/", "/home/", "/opt/")), (
                path.name,
                s[:120],
            )
