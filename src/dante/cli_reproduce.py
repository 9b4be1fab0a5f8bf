"""``dante reproduce``: the paper's tables and figures, and the studies of the other papers."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .cli_checks import check_device_flag

__all__ = ["add_reproduce_parser"]


def add_reproduce_parser(sub: Any) -> None:
    """Add ``dante reproduce`` to ``sub``, the ``dante`` parser's sub-parsers."""
    p = sub.add_parser(
        "reproduce",
        help="reproduce a table or figure of the DANTE paper, or a study of the other papers",
        description="Run an experiment spec or a study (or 'all'), write per-experiment JSON "
        "and PNG figures, and regenerate RESULTS.md. Studies run on the CPU and ignore "
        "--device and --only.",
    )
    p.add_argument("name", nargs="?", help="experiment or study name, a YAML path, or 'all'")
    p.add_argument(
        "--list", action="store_true", help="list the experiments and the studies and exit"
    )
    p.add_argument(
        "--seeds",
        type=int,
        default=None,
        help="override the number of seeds K: seeds S..S+K-1 with --seed-offset S in every "
        "cell (a spec's verdict_cells/other_seeds plan included; a study's default is 3)",
    )
    p.add_argument(
        "--seed-offset",
        type=int,
        default=0,
        help="first seed S (default 0); the learning-rate selection's seeds are offset by S "
        "too, so a rerun with S > 0 is independent of the first (docs/PROTOCOL.md)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="tiny subsets, one seed: a smoke test of every code path",
    )
    p.add_argument(
        "--out",
        default=None,
        help="results folder (default: results, or runs/quick with --quick); another "
        "folder is a rerun: nothing under results/ or docs/ is written",
    )
    p.add_argument(
        "--results-md",
        default=None,
        help="RESULTS.md to regenerate, with its figures/ beside it (default: "
        "docs/RESULTS.md with the default --out, <out>/RESULTS.md with --quick, none "
        "with another --out)",
    )
    p.add_argument(
        "--only",
        default=None,
        help="run only this cell and its variants: mnist__100 selects mnist__100 and "
        "mnist__100__activation=sigmoid, not mnist__1000 (an unknown name lists the cells)",
    )
    p.add_argument("--device", default="cpu", help="torch device of every run (cpu, cuda)")
    p.add_argument(
        "--report-only",
        action="store_true",
        help="run nothing: rebuild the cell records, summary JSON, figures and RESULTS.md "
        "from the per-unit files and study JSON files in --out",
    )
    p.set_defaults(func=_cmd_reproduce)


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from .experiments import (
        list_experiments,
        load_spec,
        plot_experiment,
        run_experiment,
        write_results_md,
    )
    from .experiments.studies import list_studies, run_named_study, split_names, study_summary
    from .run_folder import RunFolder

    if args.list:
        for name in list_experiments():
            print(f"{name:17s} {load_spec(name).title}")
        for name in list_studies():
            print(f"{name:17s} study: {study_summary(name)}")
        return 0
    if not args.name:
        raise ValueError("name an experiment or study (see `dante reproduce --list`) or 'all'")
    if args.seeds is not None and args.seeds < 1:
        raise ValueError(f"--seeds must be >= 1, got {args.seeds}")
    if args.seed_offset < 0:
        raise ValueError(f"--seed-offset must be >= 0, got {args.seed_offset}")
    names, studies = split_names(args.name)
    if args.only is not None and not names:
        raise ValueError(f"--only selects cells of a DANTE experiment; {args.name!r} is a study")
    specs = [load_spec(n, quick=args.quick) for n in names]  # validate all before running
    if names and not args.report_only:  # studies run on the CPU whatever --device says
        check_device_flag(args.device)
    if args.seeds is not None:
        # every cell, the verdict cells and the rest alike (a rerun)
        specs = [s.model_copy(update={"seeds": args.seeds, "other_seeds": None}) for s in specs]
    default_out = Path("runs/quick" if args.quick else "results")
    out = Path(args.out) if args.out else default_out
    md: Path | None = None  # a rerun elsewhere writes no report unless asked (--results-md)
    if args.results_md:
        md = Path(args.results_md)
    elif args.quick:
        md = out / "RESULTS.md"
    elif out.resolve() == default_out.resolve():
        md = Path("docs/RESULTS.md")
    fig_dir = None if md is None else md.parent / "figures"
    # a file, a read-only or unwritable folder: refused now. Finished cells are kept by design
    # (no results policy), and each cell (study) is locked while it runs, not the whole folder,
    # so that processes side by side share the cells of one --out (docs/PROTOCOL.md)
    RunFolder(out).check()
    for spec in specs:
        payload = run_experiment(
            spec,
            out,
            only=args.only,
            device=args.device,
            report_only=args.report_only,
            seed_offset=args.seed_offset,
        )
        for path in [] if fig_dir is None else plot_experiment(payload, fig_dir):
            print(f"  figure {path}")
    for name in [] if args.report_only else studies:  # a study's JSON is its report
        seeds = None
        if args.seeds is not None or args.seed_offset:
            n = args.seeds if args.seeds is not None else (1 if args.quick else 3)
            seeds = list(range(args.seed_offset, args.seed_offset + n))
        study_figs = fig_dir if fig_dir is not None else out / "figures"
        with RunFolder(out / f".{name}.study"):  # one process per study and --out
            payload = run_named_study(name, out, study_figs, quick=args.quick, seeds=seeds)
        for fig in payload["figures"]:
            print(f"  figure {study_figs / fig}")
    if md is not None:
        write_results_md(out, md)
    print(f"wrote {md}" if md is not None else f"wrote {out} (no RESULTS.md: --results-md)")
    return 0
