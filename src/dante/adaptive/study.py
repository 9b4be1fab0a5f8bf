"""Study ``adaptive``: NAG vs RMSProp vs ADAM (and DANTE) as in ``003`` Ch. 5.5-5.6.

Paper: ``003_a707f9d83869f5a2.txt`` Sec. 5.5 (setup), Sec. 5.6.1 / App. 5.E
(zeta, Figs. 5.6.1, 5.E.1), Sec. 5.6.2 (lambda_min of the Hessian,
Fig. 5.6.2), Sec. 5.6.3 (full batch, Fig. 5.6.3), Sec. 5.6.4 (minibatch,
Fig. 5.6.4), Sec. 5.6.5 (VGG-9 on CIFAR-10, Fig. 5.6.5), App. 5.D (tuning).

Verdict rule, fixed before any run: "A beats B" means A's mean over seeds of
the final value is lower than B's by more than two standard errors of the
difference (``SE = sqrt(SE_A^2 + SE_B^2)``, ``SE = std(ddof=1)/sqrt(n)``);
"best" means it beats the runner-up. A claim whose direction is right but
whose gap is within 2 SE is reported as not holding, "inconclusive".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from dante.experiments.study import StudyResult, register_study, study_arguments

from . import experiments as ex
from .autoencoders import TiedAutoencoder, crop22, train
from .study_report import claims_and_rows, figures

__all__ = ["PARTS", "QUICK", "Sizes", "assemble", "run_study"]


@dataclass(frozen=True)
class Sizes:
    """Problem sizes of one run of the study (quick or full)."""

    fb_train: int = 5500  # mini-MNIST (Sec. 5.5)
    fb_test: int = 1000
    width: int = 32  # thesis: 1000
    ell: int = 2  # 3 hidden layers, as Fig. 5.6.3
    fb_iters: int = 120  # thesis: 1e5
    zeta_adam: tuple[float, ...] = (1e-8, 1e-1, 1.0)
    zeta_rms: tuple[float, ...] = (1e-10, 1e-2)
    hess_train: int = 300
    hess_width: int = 8  # thesis: 300
    hess_iters: int = 120
    hess_evals: int = 3
    mb_train: int | None = None  # None: all 60,000
    mb_eval: int = 5000
    mb_test: int = 10000
    mb_ell: int = 3  # 5 hidden layers, as Fig. 5.6.4
    mb_iters: int = 500
    cnn_train: int = 20000
    cnn_eval: int = 1000
    cnn_test: int = 1000
    cnn_iters: int = 200
    cnn_channels: tuple[int, int] = (8, 16)
    dante_t_sngd: int = 10
    dante_alternations: int = 3  # 2 pairs x 2 blocks x 3 x 10 = 120 steps
    n_evals: int = 8
    grid_points: int = 5  # App. 5.D: five; quick: the largest few
    max_extensions: int = 3
    dante_grid: tuple[float, ...] = (0.03, 0.1, 0.3)
    #: multipliers of App. 5.D's initial grids (runs are ~600x shorter)
    grid_scale: tuple[tuple[str, float], ...] = (("nag", 1.0), ("rmsprop", 100.0), ("adam", 100.0))
    cnn_fashion: bool = True  # quick: MNIST (one data load less)


QUICK = Sizes(
    fb_train=300,
    fb_test=100,
    width=8,
    fb_iters=16,
    zeta_adam=(1e-8, 1e-1),
    zeta_rms=(1e-10, 1e-2),
    hess_train=100,
    hess_width=3,
    hess_iters=16,
    hess_evals=2,
    mb_train=1000,
    mb_eval=500,
    mb_test=200,
    mb_iters=20,
    cnn_train=300,
    cnn_eval=200,
    cnn_test=200,
    cnn_iters=10,
    cnn_channels=(2, 4),
    dante_t_sngd=2,
    dante_alternations=2,
    n_evals=2,
    grid_points=1,
    max_extensions=0,
    dante_grid=(0.3,),
    cnn_fashion=False,
)


def _load(name: str) -> tuple[Any, str | None]:
    from dante.data import DatasetNotAvailableError, load

    try:
        return load(name), None
    except DatasetNotAvailableError as exc:
        return None, str(exc).splitlines()[0]


def _t(a: Any) -> torch.Tensor:
    return torch.as_tensor(a, dtype=torch.float32)


class _Data:
    """MNIST (22x22) and the shared settings of every part."""

    def __init__(self, sz: Sizes) -> None:
        mnist, why = _load("mnist")
        if mnist is None:
            raise RuntimeError(f"the adaptive study needs MNIST: {why}")
        self.mnist = mnist
        self.xtr_all, self.xte_all = _t(crop22(mnist.X_train)), _t(crop22(mnist.X_test))
        self.xtr, self.xte = self.xtr_all[: sz.fb_train], self.xte_all[: sz.fb_test]
        self.scale = dict(sz.grid_scale)
        self.tuning = {"grid_points": sz.grid_points, "max_extensions": sz.max_extensions}


def _tied(width: int, ell: int):
    return lambda seed: TiedAutoencoder(484, width, ell, seed=seed)


def part_fullbatch(sz: Sizes, seeds: list[int]) -> dict[str, Any]:
    """Sec. 5.6.3 (full batch, mini-MNIST), the shift sweep of Sec. 5.6.1 / App. 5.E and
    ADAM on the untied net DANTE trains."""
    d = _Data(sz)
    fb_data = {"x_train": d.xtr, "x_test": d.xte}
    tied = _tied(sz.width, sz.ell)
    fb = ex.run_configs(
        tied,
        fb_data,
        seeds,
        iterations=sz.fb_iters,
        grid_scale=d.scale,
        n_evals=sz.n_evals,
        **d.tuning,
    )

    def best_of(algo: str) -> ex.ConfigRuns:
        cands = [c for c in fb.values() if c.config.algo == algo]
        return min(cands, key=lambda c: c.tuning.losses[c.lr])

    zeta = {
        algo: (
            best_of(algo),
            ex.run_zeta(
                tied,
                fb_data,
                seeds,
                best_of(algo),
                shifts,
                iterations=sz.fb_iters,
                n_evals=sz.n_evals,
            ),
        )
        for algo, shifts in (("adam", sz.zeta_adam), ("rmsprop", sz.zeta_rms))
    }
    adam99 = fb["ADAM b1=0.99"]
    untied = [
        train(
            ex.untied_autoencoder(484, sz.width, sz.ell, s),
            adam99.config.factory(adam99.lr),
            iterations=sz.fb_iters,
            n_evals=sz.n_evals,
            seed=s,
            **fb_data,
        )
        for s in seeds
    ]
    return {"fullbatch": fb, "zeta": zeta, "adam_untied": untied}


def part_hessian(sz: Sizes, seeds: list[int]) -> dict[str, Any]:
    """Sec. 5.6.2: lambda_min(Hessian) on a 1-hidden-layer net (step sizes tuned there)."""
    d = _Data(sz)
    xh = d.xtr_all[: sz.hess_train]
    data = {"x_train": xh, "x_test": d.xte}
    make = _tied(sz.hess_width, 1)
    tuned = ex.run_configs(
        make,
        data,
        seeds[:1],
        iterations=sz.hess_iters,
        grid_scale=d.scale,
        n_evals=sz.hess_evals,
        **d.tuning,
    )
    hess: dict[str, ex.ConfigRuns] = {}
    for algo in ("nag", "rmsprop", "adam"):
        cands = [c for c in tuned.values() if c.config.algo == algo]
        cr = min(cands, key=lambda c: c.tuning.losses[c.lr])
        hess.update(
            ex.run_configs(
                make,
                data,
                seeds,
                iterations=sz.hess_iters,
                grid_scale=d.scale,
                configs=[cr.config],
                n_evals=sz.hess_evals,
                callback=ex.hessian_callback(xh.double()),
                fixed_lr=cr.lr,
            )
        )
    return {"hessian": hess}


def part_minibatch(sz: Sizes, seeds: list[int]) -> dict[str, Any]:
    """Sec. 5.6.4: minibatch 100 on all of MNIST, 5 hidden layers."""
    d = _Data(sz)
    n_mb = d.xtr_all.shape[0] if sz.mb_train is None else sz.mb_train
    data = {
        "x_train": d.xtr_all[:n_mb],
        "x_test": d.xte_all[: sz.mb_test],
        "eval_train": torch.arange(min(sz.mb_eval, n_mb)),
    }
    mb = ex.run_configs(
        _tied(sz.width, sz.mb_ell),
        data,
        seeds,
        iterations=sz.mb_iters,
        grid_scale=d.scale,
        batch_size=100,
        n_evals=sz.n_evals,
        **d.tuning,
    )
    return {"minibatch": mb, "mb_n": n_mb}


def part_cnn(sz: Sizes, seeds: list[int]) -> dict[str, Any]:
    """Sec. 5.6.5's substitute: a small CNN, minibatch 100, NAG and ADAM."""
    d = _Data(sz)
    fashion, why = _load("fashion_mnist") if sz.cnn_fashion else (None, "quick mode")
    cnn_set = fashion if fashion is not None else d.mnist
    notes = (
        []
        if fashion is not None
        else [f"Fashion-MNIST not used ({why}); the CNN ran on MNIST instead"]
    )
    img_te = _t(cnn_set.X_test[: sz.cnn_test]).reshape(-1, 1, 28, 28)
    t_te = torch.as_tensor(cnn_set.y_test[: sz.cnn_test])
    data = {
        "x_train": _t(cnn_set.X_train[: sz.cnn_train]).reshape(-1, 1, 28, 28),
        "x_test": img_te,
        "t_train": torch.as_tensor(cnn_set.y_train[: sz.cnn_train]),
        "t_test": t_te,
        "loss_fn": ex.cross_entropy,
        "eval_train": torch.arange(min(sz.cnn_eval, sz.cnn_train)),
    }

    def acc_cb(it: int, model: torch.nn.Module) -> dict[str, float]:
        return {"test_accuracy": ex.accuracy(model, img_te, t_te)}

    cnn = ex.run_configs(
        lambda s: ex.SmallCNN(sz.cnn_channels, seed=s),
        data,
        seeds,
        iterations=sz.cnn_iters,
        grid_scale=d.scale,
        configs=[c for c in ex.CONFIGS if c.algo in ("nag", "adam")],
        batch_size=100,
        n_evals=sz.n_evals,
        callback=acc_cb,
        cheap_callback=True,
        **d.tuning,
    )
    return {"cnn": cnn, "cnn_set": "Fashion-MNIST" if fashion else "MNIST", "notes": notes}


def part_dante(sz: Sizes, seeds: list[int]) -> dict[str, Any]:
    """DANTE (``000`` Algorithm 3) on the closest untied net, the same number of steps."""
    d = _Data(sz)
    run = ex.run_dante(
        d.xtr,
        d.xte,
        seeds,
        width=sz.width,
        ell=sz.ell,
        t_sngd=sz.dante_t_sngd,
        alternations=sz.dante_alternations,
        grid=list(sz.dante_grid),
        max_extensions=sz.max_extensions,
    )
    return {"dante": run}


#: the independent parts of the study, in the order :func:`run_study` runs them
PARTS = {
    "fullbatch": part_fullbatch,
    "hessian": part_hessian,
    "minibatch": part_minibatch,
    "cnn": part_cnn,
    "dante": part_dante,
}


def assemble(quick: bool, seeds: list[int], out_dir: Path, parts: dict[str, Any]) -> StudyResult:
    """The :class:`StudyResult` from the merged outputs of every part in :data:`PARTS`."""
    res: dict[str, Any] = {"sizes": QUICK if quick else Sizes(), "seeds": seeds, "notes": []}
    for out in parts.values():
        res["notes"] += out.get("notes", [])
        res.update({k: v for k, v in out.items() if k != "notes"})
    claims, rows, setup = claims_and_rows(res, quick)
    return StudyResult(
        title="Adaptive gradient methods on ReLU autoencoders (thesis Ch. 5): NAG, RMSProp, "
        "ADAM and DANTE",
        source="003_a707f9d83869f5a2.txt (Ch. 5.2 Algorithms 5-7, Secs. 5.5-5.6, Apps. 5.D-5.E)",
        setup=setup,
        rows=rows,
        claims=claims,
        figures=figures(res, out_dir),
        seeds=seeds,
    )


@register_study("adaptive")
def run_study(quick: bool, seeds: Sequence[int], out_dir: Path) -> StudyResult:
    """NAG / RMSProp / ADAM (``003`` Ch. 5.5-5.6) on tied ReLU autoencoders, plus DANTE.

    Full-batch on mini-MNIST 22x22, the zeta sweep of App. 5.E, lambda_min of
    the Hessian along the runs, minibatch 100 on all of MNIST, and a small CNN
    on Fashion-MNIST standing in for VGG-9 on CIFAR-10 (not available offline).
    Sizes: :class:`Sizes` (full) and ``QUICK``. The parts (:data:`PARTS`) are
    independent and could run in separate processes; :func:`assemble` merges them.
    """
    seeds, out_dir = study_arguments(quick, seeds, out_dir)
    sz = QUICK if quick else Sizes()
    return assemble(quick, seeds, out_dir, {k: f(sz, seeds) for k, f in PARTS.items()})
