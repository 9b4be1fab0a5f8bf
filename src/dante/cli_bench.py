"""``dante bench``: measure speed side by side and regenerate ``PERFORMANCE.md``."""

from __future__ import annotations

import argparse
from typing import Any

from .cli_checks import check_device_flag

__all__ = ["add_bench_parser"]


def add_bench_parser(sub: Any) -> None:
    """Add ``dante bench`` to ``sub``, the ``dante`` parser's sub-parsers."""
    p = sub.add_parser("bench", help="measure speed side by side and regenerate PERFORMANCE.md")
    p.add_argument("--quick", action="store_true", help="small sizes (a smoke test)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", default="docs/PERFORMANCE.md")
    p.add_argument("--json", default="benchmarks/results.json", help="raw measurements")
    p.add_argument(
        "--skip",
        default="",
        help="comma-separated parts to skip (each keeps its numbers from --json): "
        "p1,p2,p3,p4,memmap,profile,p5,p6",
    )
    p.add_argument(
        "--baseline",
        default="7b57b00",
        help="git commit profiled as 'before' beside the working tree ('' to skip)",
    )
    p.add_argument(
        "--report-only",
        action="store_true",
        help="measure nothing: refit and re-render PERFORMANCE.md from the --json file",
    )
    p.set_defaults(func=_cmd_bench)


def _read_bench_json(path: str) -> dict[str, Any] | None:
    """Earlier ``dante bench`` measurements, or None where there are none."""
    import json

    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ValueError(f"--json {path}: unreadable bench results ({exc})") from exc
    if not isinstance(data, dict) or "machine" not in data:
        raise ValueError(f"--json {path}: not a dante bench results file")
    return data


def _bench_parts(args: argparse.Namespace) -> dict[str, tuple[str, str, Any]]:
    """Per ``dante bench`` part: what it prints, the device it measures and how."""
    from . import bench

    quick, dev = args.quick, args.device

    def p1() -> list[dict[str, Any]]:
        out = []
        for loss in ("mse", "cross_entropy"):
            print(f"P1 time to accuracy ({loss}) ...", flush=True)
            kw = {"epochs": 2, "n_train": 2000} if quick else {}
            out.append(bench.p1_time_to_accuracy(loss, device=dev, **kw))
        return out

    p4 = {"ns": (500, 1000, 2000), "widths": (32, 64, 128), "width_n": 1000} if quick else {}
    p5 = {"n_train": 2000, "n_test": 2000, "epochs": 2} if quick else {}
    p6 = {"datasets": ("iris", "wine"), "cv": 2} if quick else {}
    baseline = args.baseline or None
    return {  # in the order they run; P4, its memory map, the profile, P5, P6 run on the CPU
        "profile": ("step profile, before / after", "cpu", lambda: bench.profile_before_after(
            baseline, n=2000 if quick else 10000)),
        "p2": ("P2 hardware efficiency", dev, lambda: bench.p2_hardware_efficiency(
            device=dev, n=2000 if quick else 10000, compiled=not quick,
            **({} if dev == "cpu" else {"sizes": [784, 1024, 1024, 10], "batch": 1024}))),
        "p3": ("P3 frozen-prefix cache", dev, lambda: bench.p3_prefix_cache(
            device=dev, n=1000 if quick else 10000)),
        "p4": ("P4 scaling", "cpu", lambda: bench.p4_scaling(**p4)),
        "memmap": ("P4 memory-mapped 1M x 784", "cpu", lambda: bench.p4_memmap(
            n=20_000 if quick else 1_000_000)),
        "p1": ("", dev, p1),
        "p5": ("P5 DANTE vs the AM-Adam peer", "cpu", lambda: bench.p5_am_adam(**p5)),
        "p6": ("P6 DanteClassifier vs MLPClassifier", "cpu", lambda: bench.p6_tabular(**p6)),
    }  # fmt: skip


def _cmd_bench(args: argparse.Namespace) -> int:
    import torch

    from . import bench
    from .reporting import write_json

    skip = {s.strip().lower() for s in args.skip.split(",") if s.strip()}
    bad = skip - set(bench.PARTS)
    if bad:
        raise ValueError(f"--skip: unknown parts {sorted(bad)}; use {', '.join(bench.PARTS)}")
    previous = _read_bench_json(args.json)
    if args.report_only:
        if previous is None:
            raise ValueError(
                f"--report-only: no measurements at --json {args.json}; run bench first"
            )
        if "p4" in previous:
            previous["p4"] = bench.derive_p4(previous["p4"])
        bench.write_performance_md(previous, args.out)
        print(f"wrote {args.out} from {args.json}")
        return 0
    check_device_flag(args.device)
    results: dict[str, Any] = {
        "machine": bench.machine_info(),
        "device": args.device,
        "notes": [],
        "measured": {},
    }
    for part, (label, device, measure) in _bench_parts(args).items():
        if part in skip:
            continue
        if label:
            print(f"{label} ...", flush=True)
        stamp = bench.part_stamp(device, torch.get_num_threads())  # when it started
        results[bench.PARTS[part]] = measure()
        results["measured"][part] = stamp
    # A skipped part keeps its earlier measurement, with when, on which device
    # and with how many threads it was taken, rather than vanishing from the
    # report; the machine line is this run's.
    if previous is not None:
        for part in sorted(skip):
            key = bench.PARTS[part]
            if key in previous:
                results[key] = previous[key]
                old = {"at": None, "device": previous.get("device", "cpu"),
                       "threads": previous["machine"].get("threads")}  # fmt: skip
                results["measured"][part] = previous.get("measured", {}).get(part, old)
    if "p4" in results:
        results["p4"] = bench.derive_p4(results["p4"])
    write_json(args.json, results)
    bench.write_performance_md(results, args.out)
    print(f"wrote {args.out} and {args.json}")
    return 0
