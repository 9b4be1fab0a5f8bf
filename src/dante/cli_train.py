"""``dante train``: DANTE and the backprop baselines side by side on one data set.

DANTE (and its family) runs first under its own stopping rule; every other
method then gets exactly the same budget of weights updated. The run folder
(``--out``) is checked before any data is loaded and locked while training
(:mod:`dante.run_folder`). The flags are defined in
:mod:`dante.cli_train_parser` and checked in :mod:`dante.cli_checks`.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path
from typing import Any

from .cli_checks import check_data, check_methods, flag_divergence, load_dataset, lr_flag_named

_DANTE_FAMILY = ("dante", "dante_momentum", "sgd_altmin")


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
        solver_state=args.solver_state,
        compile_step=args.compile_step,
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
