"""P5: DANTE against the AM-Adam peer at the peer's own MNIST default, one process.

The peer is IBM/online-alt-min's ``run_altmin_sgd.py`` MNIST default
(:data:`dante.peers.am.MNIST_DEFAULTS`: 784-100-100-10 ReLU net with batch
normalization in the hidden layers, batch 200, 50 epochs, Adam rate 0.008
halved every 8 epochs), run as :class:`dante.peers.AMAdam` through the
package's one loop; DANTE trains the same widths through the same loop. Both
see the peer's inputs, ``(x - 0.1307) / 0.3081`` (its ``utils/datasets.py``).
Times are :attr:`dante.Budget.wall_seconds`: training only, without the
per-epoch evaluations, the solver set-up and torch's one-time warm-up
(:func:`dante.trainer.warm_up_torch`, paid before every clock starts).

The goal of P5: DANTE reaches 98.4% test accuracy (the peer's best) in at
most a third of the peer's total wall time.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from ..data import load
from ..models import MLP
from ..peers.am import MNIST_DEFAULTS, AMAdam
from ..trainer import Callback, Trainer
from .common import _fmt, _secs

__all__ = ["DANTE_RUNS", "p5_am_adam", "p5_lines"]

#: DANTE settings tried by default: ``MLP`` options (``batch_norm``,
#: ``activation``) and :class:`dante.TrainConfig` fields. The best measured on
#: full MNIST (one thread, 51 block-epochs): BN blocks at lr 0.1, batch 50
#: (98.11% final, 98.17% best) and lr 0.3, batch 200 (97.81%, 98.05%); with
#: the step-size schedule and L-BFGS output layer (dante.lr_control,
#: dante.output_solvers), the normalised heavy ball on BN blocks reached 98.33%
#: best in 15 alternations (loaded machine, one seed). Its variants, measured
#: later (seed 0, one thread, full runs): as listed 98.24% best, 22 alternations
#: 98.36%, batch 100 98.38%, lr 0.01 98.03%; none reached 98.4%. A grid of batch
#: {100, 200} x alternations {20, 25} x lr {0.02, 0.03, 0.05} (seed 0, 2026-11-30)
#: peaked at 98.21-98.36%: the gap is DANTE's accuracy ceiling on these widths,
#: not its speed alone (the runs took 19-30 s; a third of the peer's wall is about 21 s).
DANTE_RUNS: tuple[Mapping[str, Any], ...] = (
    {"name": "dante_bn", "batch_norm": True, "activation": "relu", "lr": 0.3, "t_sngd": 1},
    {
        "name": "dante_bn_b50",
        "batch_norm": True,
        "activation": "relu",
        "lr": 0.1,
        "t_sngd": 1,
        "batch_size": 50,
    },
    {"name": "dante", "batch_norm": False, "activation": "leaky_relu", "lr": 0.3, "t_sngd": 1},
    {
        "name": "dante_bn_hb_lbfgs_cosine",
        "batch_norm": True,
        "activation": "leaky_relu",
        "method": "dante_heavy_ball",
        "lr": 0.03,
        "t_sngd": 1,
        "output_solver": "lbfgs",
        "lr_schedule": "cosine",
        "max_alternations": 15,
    },
)

_MODEL_KEYS = ("name", "batch_norm", "activation")


class _StopAtTarget(Callback):
    """Ends a run at the first evaluation at or above ``target`` (saves time)."""

    def __init__(self, target: float) -> None:
        self.target = target

    def on_evaluate(self, trainer: Any, record: dict[str, Any]) -> None:
        if record.get("test_accuracy", 0.0) >= self.target:
            raise _Reached


class _Reached(Exception):
    pass


def _summary(history: list[dict[str, Any]], target: float, seconds: float) -> dict[str, Any]:
    curve = [
        {
            "epoch": h["epoch"],
            "block": h["block"],
            "test_accuracy": h["test_accuracy"],
            "wall_seconds": h["wall_seconds"],
        }
        for h in history
    ]
    hit = next((c for c in curve if c["test_accuracy"] >= target), None)
    return {
        "curve": curve,
        "final_accuracy": curve[-1]["test_accuracy"],
        "best_accuracy": max(c["test_accuracy"] for c in curve),
        "wall_seconds": curve[-1]["wall_seconds"],
        "time_to_target": None if hit is None else hit["wall_seconds"],
        "process_seconds": seconds,  # with evaluation and set-up, for reference
    }


def _train(net: MLP, data: tuple, target: float, solver: Any = None, **config: Any) -> dict:
    X, y, Xt, yt = data
    trainer = Trainer(net, solver=solver, **config)
    t0 = time.perf_counter()
    try:
        trainer.fit(X, y, Xt, yt, min_classes=2)
    except _Reached:
        pass
    return _summary(trainer.history, target, time.perf_counter() - t0)


def _data(dataset: str, n_train: int | None, n_test: int | None) -> tuple:
    ds = load(dataset)
    scale = (lambda a: (a - 0.1307) / 0.3081) if dataset == "mnist" else (lambda a: a)
    X = np.ascontiguousarray(scale(ds.X_train[:n_train]), dtype=np.float32)
    Xt = np.ascontiguousarray(scale(ds.X_test[:n_test]), dtype=np.float32)
    return X, ds.y_train[:n_train], Xt, ds.y_test[:n_test]


def p5_am_adam(
    n_train: int | None = None,
    epochs: int = 50,
    *,
    dante_runs: Sequence[Mapping[str, Any]] = DANTE_RUNS,
    dante_epochs: int | None = None,
    target: float = 0.984,
    dataset: str = "mnist",
    n_test: int | None = None,
    seed: int = 0,
    threads: int | None = None,
    stop_at_target: bool = True,
    run_peer: bool = True,
) -> dict[str, Any]:
    """Train AM-Adam (the peer's MNIST default) and DANTE in one process.

    Parameters
    ----------
    n_train : int, optional
        First training rows used (``None``: all 60,000); for smoke runs.
    epochs : int, default=50
        The peer's epochs (its default 50); its rate halves every 8.
    dante_runs : sequence of mapping, default=DANTE_RUNS
        DANTE settings: ``name``, ``batch_norm``, ``activation`` for the
        :class:`~dante.MLP`, every other key a :class:`dante.TrainConfig`
        field (``lr``, ``t_sngd``, ``batch_size``, ``method``, ...).
        Cross-entropy, ``tol=0`` and the seed are set unless given.
    dante_epochs : int, optional
        Epochs of block training DANTE may use (one block, one pass over
        the data each): ``max_alternations = dante_epochs // (3 t_sngd)``.
        ``None``: ``epochs``.
    target : float, default=0.984
        Test accuracy to reach (the peer's best, ``docs/peers``).
    dataset : str, default="mnist"
        A :func:`dante.data.load` name; ``"digits"`` makes a seconds-long
        smoke run (the widths follow its input size, no pixel standardisation).
    n_test : int, optional
        First test rows used (``None``: all).
    seed : int, default=0
        DANTE's weight seed and every run's minibatch order (the peer's
        weights use its own seed, 1).
    threads : int, optional
        ``torch.set_num_threads`` for the runs (restored afterwards).
    stop_at_target : bool, default=True
        End a DANTE run at its first evaluation at or above ``target``.
    run_peer : bool, default=True
        ``False`` trains DANTE only (``peer`` is then ``None``).

    Returns
    -------
    dict
        ``peer`` and ``dante[name]`` each with ``curve`` (per evaluation:
        ``epoch``, ``block``, ``test_accuracy``, ``wall_seconds``),
        ``final_accuracy``, ``best_accuracy``, ``wall_seconds`` (training
        time in all), ``time_to_target`` (``None`` if never reached); each
        DANTE run also ``fraction_of_peer`` (its time to target over the
        peer's total wall time) and ``goal_met`` (reached within a third).
    """
    data = _data(dataset, n_train, n_test)
    d = MNIST_DEFAULTS
    sizes = [data[0].shape[1], *d["sizes"][1:]]
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        peer = None
        if run_peer:
            net = MLP(sizes, activation=d["activation"], batch_norm=True, seed=d["seed"])
            n = len(data[0])

            def solver(params: Any) -> AMAdam:
                return AMAdam(
                    net, d["loss"], lr=d["lr"], mu=d["mu"], code_steps=d["code_steps"],
                    code_lr=d["code_lr"], weight_steps=d["weight_steps"],
                    code_proximal=d["code_proximal"], lr_decay=d["lr_decay"],
                    lr_decay_every=d["lr_decay_every"], n_samples=n, batch_norm=True,
                )  # fmt: skip

            peer = _train(
                net, data, target, solver, schedule="backprop", loss=d["loss"],
                batch_size=d["batch_size"], max_alternations=epochs, tol=0.0, seed=seed,
            )  # fmt: skip
        runs = {}
        for spec in dante_runs:
            cfg = {k: v for k, v in spec.items() if k not in _MODEL_KEYS}
            cfg.setdefault("loss", "cross_entropy")
            cfg.setdefault("tol", 0.0)
            cfg.setdefault("seed", seed)
            cfg.setdefault("batch_size", d["batch_size"])
            per_round = 3 * cfg.get("t_sngd", 5)
            cfg.setdefault("max_alternations", max(1, (dante_epochs or epochs) // per_round))
            net = MLP(
                sizes,
                activation=spec.get("activation", "leaky_relu"),
                batch_norm=spec.get("batch_norm", False),
                seed=seed,
            )
            stop = [_StopAtTarget(target)] if stop_at_target else []
            out = _train(net, data, target, callbacks=stop, **cfg)
            out["settings"] = dict(spec)
            if peer is not None:
                tt = out["time_to_target"]
                out["fraction_of_peer"] = None if tt is None else tt / peer["wall_seconds"]
                out["goal_met"] = tt is not None and 3 * tt <= peer["wall_seconds"]
            runs[spec.get("name", f"dante{len(runs)}")] = out
    finally:
        torch.set_num_threads(before)
    return {
        "dataset": dataset,
        "n_train": len(data[0]),
        "n_test": len(data[2]),
        "epochs": epochs,
        "target": target,
        "peer": peer,
        "dante": runs,
        "goal_met": any(r.get("goal_met", False) for r in runs.values()),
    }


def _best_run(runs: Mapping[str, dict[str, Any]]) -> str:
    """The DANTE run closest to the goal: least time to the target over the peer's
    wall time (any reached beats none), then best accuracy."""

    def key(name: str) -> tuple[float, float]:
        f = runs[name].get("fraction_of_peer")
        return (float("inf") if f is None else f, -runs[name]["best_accuracy"])

    return min(runs, key=key)


def p5_lines(p5: dict[str, Any] | None) -> tuple[list[str], list[str], list[str]]:
    """PERFORMANCE.md lines of P5: summary row, detail table rows, notes."""
    if not p5 or not p5.get("dante"):
        return [], [], []
    peer, runs = p5["peer"], p5["dante"]
    tgt = f"{100 * p5['target']:.1f}%"
    name = _best_run(runs)
    best = runs[name]
    head = (
        f"P5 DANTE time to {tgt} / AM-Adam's wall time ({p5['dataset']}, {p5['n_train']:,} "
        f"training rows, peer {p5['epochs']} epochs; best of {len(runs)} DANTE settings: {name})"
    )
    if peer is None:
        measured = f"no peer run (DANTE {_secs(best['time_to_target'])})"
    else:
        measured = (
            f"{_fmt(best.get('fraction_of_peer'))} (DANTE {_secs(best['time_to_target'])}, "
            f"AM-Adam {_secs(peer['wall_seconds'])}; best accuracy AM-Adam "
            f"{peer['best_accuracy']:.4f}, DANTE {best['best_accuracy']:.4f})"
        )
    met = "yes" if best.get("goal_met") else "no"
    rows = [f"| {head} | {measured} | <= 1/3 | {met} |"]
    detail = []
    if peer is not None:
        detail.append(
            f"| AM-Adam (peer) | MNIST_DEFAULTS | {peer['best_accuracy']:.4f} | "
            f"{peer['final_accuracy']:.4f} | {peer['wall_seconds']:.3g} | "
            f"{_secs(peer['time_to_target'])} | |"
        )
    for key, r in runs.items():
        settings = ", ".join(f"{k}={v}" for k, v in r.get("settings", {}).items() if k != "name")
        detail.append(
            f"| {key} | {settings} | {r['best_accuracy']:.4f} | {r['final_accuracy']:.4f} | "
            f"{r['wall_seconds']:.3g} | {_secs(r['time_to_target'])} | "
            f"{_fmt(r.get('fraction_of_peer'))} |"
        )
    notes = []
    if peer is not None and peer["best_accuracy"] < p5["target"]:
        notes.append(
            f"P5: the peer itself stayed below the target {tgt} (best "
            f"{peer['best_accuracy']:.4f}) in this run."
        )
    return rows, detail, notes
