"""Command line: ``dante train`` (and the entry points added by later modules).

``dante train`` with no arguments trains, on scikit-learn's bundled digits
(embedded, no download), a 64-100-10 leaky-ReLU net with DANTE and the same
net (same initial weights) with backprop SGD, side by side. DANTE runs first
under its own stopping rule; every other method then gets exactly the same
budget of weights updated (the papers' x-axis), so the comparison is on equal
work. Results: a printed table, ``metrics.json`` and PNG curves in ``--out``.

Errors in the arguments or the data end the program with one line on stderr
and exit status 2, before any training; a run whose training loss becomes
NaN/Inf ends with one such line and status 1. A run that finishes with a final
training loss over 1000 times its initial one is flagged ``"diverged": true``
in metrics.json and on stderr (the rule: ``dante.cli_checks.divergence``).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

from .cli_checks import (
    DEFAULT_BATCH,
    add_data_parser,
    check_data,
    check_methods,
    flag_divergence,
    int_list,
    load_dataset,
    lr_flag_named,
)

__all__ = ["main"]

_DANTE_FAMILY = ("dante", "dante_momentum", "sgd_altmin")


_int_list = int_list  # --hidden: comma-separated positive ints, none empty


def _add_train_parser(sub: Any) -> None:
    p = sub.add_parser(
        "train",
        help="train DANTE and backprop baselines side by side",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--dataset",
        default="digits",
        help="registered dataset name (see `dante data --list`) or a CSV/NumPy/LIBSVM "
        "file path (default: digits)",
    )
    p.add_argument(
        "--target",
        default=None,
        help="target column of a CSV/NumPy file (index or name; default: last)",
    )
    p.add_argument(
        "--task",
        default="auto",
        choices=["auto", "classification", "regression", "reconstruction"],
        help="'reconstruction' trains an autoencoder on X",
    )
    p.add_argument(
        "--hidden",
        type=_int_list,
        default=[100],
        help="hidden layer sizes, comma-separated (default: 100); for an autoencoder "
        "the encoder sizes after the input",
    )
    p.add_argument(
        "--activation",
        default="leaky_relu",
        help="hidden activation: leaky_relu, relu, generalized_relu, sigmoid, tanh",
    )
    p.add_argument("--a", type=float, default=None, help="generalized ReLU slope for x <= 0")
    p.add_argument("--b", type=float, default=None, help="generalized ReLU slope for x > 0")
    p.add_argument("--output-activation", default="identity")
    p.add_argument("--loss", default="mse", choices=["mse", "cross_entropy", "ce"])
    p.add_argument(
        "--methods",
        default="dante,sgd",
        help="comma-separated methods: dante, dante_momentum, sgd_altmin, sgd, "
        "momentum, adam, adagrad, rmsprop (default: dante,sgd)",
    )
    p.add_argument("--lr", type=float, default=0.01, help="DANTE's SNGD step length")
    p.add_argument("--baseline-lr", type=float, default=0.1, help="learning rate of baselines")
    p.add_argument("--momentum", type=float, default=None)
    p.add_argument(
        "--batch-size",
        "--minibatch",
        dest="batch_size",
        type=int,
        default=DEFAULT_BATCH,
        help="minibatch size (default: 32, clipped with a warning to a smaller training set)",
    )
    p.add_argument(
        "--lr-schedule",
        default="constant",
        help="step-size control per alternation (per epoch for the baselines): constant "
        "(the paper), step, exponential, cosine, plateau, theory, or a "
        "torch.optim.lr_scheduler class name (docs/SOLVERS.md); every method",
    )
    p.add_argument(
        "--lr-schedule-options",
        type=_json_object("--lr-schedule-options"),
        default={},
        help="the schedule's options as JSON, e.g. '{\"gamma\": 0.5}'",
    )
    p.add_argument(
        "--output-solver",
        default=None,
        choices=["ridge", "lbfgs"],
        help="solve DANTE's output layer on its cached features outright: ridge (closed "
        "form; identity output, mse) or lbfgs (default: SNGD like every block, the paper)",
    )
    p.add_argument("--t-sngd", type=int, default=5, help="solver epochs per block (paper: 5)")
    p.add_argument("--t-am", type=int, default=2, help="minimum alternations")
    p.add_argument("--tol", type=float, default=1e-4, help="stop when |f_t - f_{t-1}| < tol")
    p.add_argument("--max-alternations", type=int, default=10)
    p.add_argument("--schedule", default=None, help="override: round_robin, greedy_pairs, backprop")
    p.add_argument("--order", default="output_first", choices=["output_first", "input_first"])
    p.add_argument("--reading", default="stacked", choices=["stacked", "end_to_end"])
    p.add_argument("--finetune-epochs", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument(
        "--out", default=None, help="output folder (default: runs/<timestamp>, -2, ... if taken)"
    )
    p.add_argument("--no-plot", action="store_true", help="skip the PNG curves")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument(
        "--checkpoint-every",
        type=int,
        default=None,
        metavar="K",
        help="write <out>/checkpoints/<method>.pt every K minibatch steps and when the method "
        "finishes (atomic; see docs/CHECKPOINTS.md)",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --out from its checkpoints (needs --checkpoint-every; a "
        "finished method is not trained again); the result is bit-identical to an "
        "uninterrupted run; an error when --out holds no checkpoint",
    )
    p.add_argument(
        "--resume-if-present",
        action="store_true",
        help="like --resume when --out holds a checkpoint of these methods, a fresh start "
        "when it holds none (for job scripts that rerun the same command)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="start again in an --out that holds an earlier run: its metrics.json is "
        "replaced and its checkpoints of these methods are deleted (without this, or "
        "--resume, such an --out is refused)",
    )
    p.add_argument(
        "--tensorboard",
        nargs="?",
        const="",
        default=None,
        metavar="DIR",
        help="also log metrics for TensorBoard to DIR (default <out>/tensorboard), one "
        "sub-folder per method; needs pip install 'dante-nn[tensorboard]'",
    )
    p.set_defaults(func=_cmd_train_in_folder)


def _json_object(flag: str):
    """argparse type: a JSON object, or an error naming ``flag``."""

    def parse(text: str) -> dict[str, Any]:
        import json

        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise argparse.ArgumentTypeError(f"{flag} must be a JSON object: {exc}") from None
        if not isinstance(value, dict):
            raise argparse.ArgumentTypeError(f"{flag} must be a JSON object, got {text!r}")
        return value

    return parse


def _load_dataset(args: argparse.Namespace):
    return load_dataset(args)  # --target and --task checked against the dataset


def _build_model(args: argparse.Namespace, n_in: int, n_out: int, reconstruction: bool):
    from .activations import GeneralizedReLU
    from .models import MLP, Autoencoder

    activation: Any = args.activation
    if args.a is not None or args.b is not None:
        activation = GeneralizedReLU(
            0.01 if args.a is None else args.a, 1.0 if args.b is None else args.b
        )
    if reconstruction:
        return Autoencoder(
            [n_in, *args.hidden],
            activation=activation,
            output_activation=args.output_activation,
            seed=args.seed,
        )
    return MLP(
        [n_in, *args.hidden, n_out],
        activation=activation,
        output_activation=args.output_activation,
        seed=args.seed,
    )


def _run_outputs(
    args: argparse.Namespace, out_dir: Path, methods: list[str], is_main: bool
) -> tuple[dict[str, Path | None], dict[str, list[Any]]]:
    """Each method's checkpoint path and TensorBoard logger, checked before any training."""
    from .checkpoint import check_checkpoint_args

    every = args.checkpoint_every
    if every is not None and every < 1:
        raise ValueError(f"--checkpoint-every must be >= 1 (minibatch steps), got {every}")
    if args.resume and args.out is None:
        raise ValueError("--resume needs --out DIR, the folder of the run to continue")
    if args.resume and every is None:
        raise ValueError("--resume needs --checkpoint-every K (the checkpoints to continue from)")
    checkpoints: dict[str, Path | None] = {}
    for m in methods:
        path = out_dir / "checkpoints" / f"{m}.pt" if every is not None else None
        checkpoints[m] = check_checkpoint_args(path, every if path else None, args.resume)
    loggers: dict[str, list[Any]] = {m: [] for m in methods}
    if args.tensorboard is not None and is_main:
        from .run_logging import TensorBoardLogger

        tb_dir = Path(args.tensorboard) if args.tensorboard else out_dir / "tensorboard"
        loggers = {m: [TensorBoardLogger(tb_dir / m)] for m in methods}
    return checkpoints, loggers


def _cmd_train_in_folder(args: argparse.Namespace) -> int:
    """``dante train`` with its ``--out`` checked before anything is loaded (a file, a
    read-only or unwritable folder, a folder another run holds, earlier results,
    ``--resume`` with nothing to resume: docs/CHECKPOINTS.md), and locked from just
    before training until the command ends."""
    from .run_folder import RunFolder, new_folder

    made: list[Path] = []
    if args.out is not None:
        out = Path(args.out)
    elif os.environ.get("RANK", "0") in ("", "0"):  # one second is not unique: -2, -3, ...
        out, made = new_folder("runs", time.strftime("%Y%m%d-%H%M%S"))
    else:  # other torchrun ranks write nothing there
        out = Path("runs") / time.strftime("%Y%m%d-%H%M%S")
    methods = [m.strip().lower() for m in args.methods.split(",") if m.strip()]
    every = args.checkpoint_every
    folder = RunFolder(
        out,
        checkpoints=None if every is None else [out / "checkpoints" / f"{m}.pt" for m in methods],
        results_policy=True,
        overwrite=args.overwrite,
        resume=args.resume,
        resume_if_present=args.resume_if_present,
        out_given=args.out is not None,
        made=made,
    )
    try:
        args.resume = folder.check()  # --resume-if-present: whether there is something to resume
        args.run_folder = folder  # _cmd_train opens (locks) it once the arguments are checked
        return _cmd_train(args)
    finally:
        folder.close()


def _cmd_train(args: argparse.Namespace) -> int:
    import copy

    from .config import METHODS, make_config
    from .distributed import (
        check_batch_size,
        check_parallel_solver,
        init_from_env,
        world_size_from_env,
    )
    from .reporting import plot_curves, summary_table, write_json
    from .trainer import Trainer

    methods = [m.strip().lower() for m in args.methods.split(",") if m.strip()]
    if not methods:
        raise ValueError("--methods is empty; name at least one method")
    for m in methods:
        if m not in METHODS:
            raise ValueError(f"--methods: unknown method {m!r}; choose from {', '.join(METHODS)}")
    check_methods(methods)
    # data-parallel under torchrun (docs/DISTRIBUTED.md): check before joining the group
    check_batch_size(args.batch_size, world_size_from_env(), "--batch-size")
    world, device = init_from_env(args.device)
    with world.main_first():  # a dataset download happens once, on rank 0
        ds = _load_dataset(args)
    check_data(args, ds, methods, world.is_main)
    reconstruction = args.task == "reconstruction"
    classification = ds.task == "classification" and not reconstruction
    if classification:
        n_out = ds.n_classes
    elif reconstruction:
        n_out = ds.X_train.shape[1]
    else:
        n_out = 1 if ds.y_train.ndim == 1 else ds.y_train.shape[1]
    y_train = None if reconstruction else ds.y_train
    y_test = None if reconstruction else ds.y_test
    task = "reconstruction" if reconstruction else ds.task
    template = _build_model(args, ds.X_train.shape[1], n_out, reconstruction)
    common = dict(
        loss=args.loss,
        batch_size=args.batch_size,
        t_sngd=args.t_sngd,
        t_am=args.t_am,
        tol=args.tol,
        max_alternations=args.max_alternations,
        seed=args.seed,
        device=device,
        progress=not args.quiet and world.is_main,
        order=args.order,
        reading=args.reading,
        finetune_epochs=args.finetune_epochs,
        momentum=args.momentum,
        lr_schedule=args.lr_schedule,
        lr_schedule_options=args.lr_schedule_options,
    )
    # validate every method's configuration before any training starts
    configs = {}
    for m in methods:
        lr = args.lr if m in _DANTE_FAMILY else args.baseline_lr
        schedule = args.schedule if m in _DANTE_FAMILY else None
        with lr_flag_named(m):
            out_solver = args.output_solver if m in _DANTE_FAMILY else None
            configs[m] = make_config(
                method=m, lr=lr, schedule=schedule, output_solver=out_solver, **common
            )
        check_parallel_solver(configs[m].resolved_solver, world.size, f"--methods {m}: solver")
    n_params = sum(p.numel() for p in template.parameters())
    out_dir = args.run_folder.path
    with world.main_first():  # rank 0 locks --out (and clears it on --overwrite) first
        args.run_folder.open(main=world.is_main)
    checkpoints, loggers = _run_outputs(args, out_dir, methods, world.is_main)
    results: dict[str, dict[str, Any]] = {}
    payload = {
        "dataset": ds.name,
        "description": ds.description,
        "sizes": getattr(template, "sizes", None),
        "methods": results,
    }
    budget = None
    order = sorted(methods, key=lambda m: m not in _DANTE_FAMILY)
    for m in order:
        cfg = configs[m]
        if budget is not None:
            epochs = math.ceil(budget / (n_params * math.ceil(len(ds.X_train) / cfg.batch_size)))
            cfg = make_config(
                cfg,
                max_weights_updated=budget,
                max_alternations=max(cfg.max_alternations, epochs + 1),
                tol=0.0,
            )
        model = copy.deepcopy(template)
        trainer = Trainer(
            model,
            cfg,
            world=world,
            callbacks=loggers[m],
            checkpoint=checkpoints[m],
            checkpoint_every=args.checkpoint_every if checkpoints[m] else None,
            resume=args.resume,
        )
        res = trainer.fit(ds.X_train, y_train, ds.X_test, y_test, task=task)
        if budget is None:
            budget = res.budget.weights_updated
        results[m] = res.to_dict()
        flag_divergence(results[m], m, world.is_main)
        if world.is_main:  # each finished method is on disk at once (atomic write)
            write_json(out_dir / "metrics.json", payload)
    if world.is_main:  # every rank holds the same results; rank 0 reports them
        print()
        print(
            f"dataset: {ds.name}  ({len(ds.X_train)} train / {len(ds.X_test)} test)  "
            f"net: {getattr(template, 'sizes', '?')}  loss: {args.loss}"
        )
        print(summary_table(results))
        write_json(out_dir / "metrics.json", payload)
        written = [] if args.no_plot else plot_curves(results, out_dir, title=ds.name)
        print(f"\nwrote {out_dir / 'metrics.json'}" + "".join(f", {p}" for p in written))
    # normal path only (an exception skips it): every rank waits here until rank 0 has
    # written, then the process group is destroyed, not left to an atexit hook
    world.close()
    return 0


def _add_reproduce_parser(sub: Any) -> None:
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
        "--only", default=None, help="run only cells whose name starts with this (e.g. mnist__100)"
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


def _add_bench_parser(sub: Any) -> None:
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
            device=dev, n=2000 if quick else 10000)),
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


class _UsageError(ValueError):
    """A command-line usage error, reported like every other bad argument."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one ``dante: error:`` line (exit status 2)
    instead of the usage block; sub-command parsers inherit this class."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{message} (see `{self.prog} --help`)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="dante",
        description="DANTE: train neural networks by alternating minimization with SNGD",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    _add_train_parser(sub)
    _add_reproduce_parser(sub)
    _add_bench_parser(sub)
    add_data_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``dante`` command."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return int(args.func(args) or 0)
    except (ValueError, TypeError, FileNotFoundError, ImportError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"dante: error: {msg}", file=sys.stderr)
        return 2
    except FloatingPointError as exc:  # training diverged (NonFiniteLossError)
        print(f"dante: error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    except OSError as exc:  # e.g. a full disk while writing a checkpoint (ENOSPC)
        print(f"dante: error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("dante: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
