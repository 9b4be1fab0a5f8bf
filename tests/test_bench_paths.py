"""``dante bench`` records no absolute path of the machine it ran on."""

from __future__ import annotations

import json
import os
from pathlib import Path

from dante import bench
from dante.bench.profile import _tree_path

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
    assert _tree_path(str(f), tree, ".") == "./src/dante/__init__.py"
    assert _tree_path(str(f), tree, "7b57b00:") == "7b57b00:src/dante/__init__.py"
    outside = _tree_path(str(f), tmp_path / "elsewhere", ".")
    assert not os.path.isabs(outside) and str(tmp_path) not in outside, outside


def test_committed_bench_results_hold_no_absolute_path():
    for path in (ROOT / "benchmarks").rglob("*.json"):
        for s in _strings(json.loads(path.read_text())):
            assert not any(m in s for m in ("/work/", "/tmp/", "/root/", "/home/", "/opt/")), (
                path.name,
                s[:120],
            )


def test_a_note_stored_with_the_memory_map_runs_is_rendered(tmp_path):
    """A caveat kept inside ``p4_memmap`` shows in PERFORMANCE.md (and goes when
    that part is re-measured, since a new measurement carries no note)."""
    run = {
        "cache_memory_gb": "default",
        "inputs": {"1": "cached", "0": "direct"},
        "seconds": 9.0,
        "peak_rss_bytes": 2**30,
    }
    results = {
        "machine": {"cores": 2, "cpu": "x", "torch": "t", "threads": 2, "blas": "mkl"},
        "device": "cpu",
        "p4_memmap": {"n": 10, "d": 2, "data_bytes": 80, "runs": [run], "note": "old clock"},
    }
    out = tmp_path / "PERFORMANCE.md"
    bench.write_performance_md(results, out)
    assert "- P4 memory map: old clock" in out.read_text()
