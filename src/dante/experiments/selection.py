"""Learning-rate selection by successive halving (``docs/PROTOCOL.md`` section 2).

Rung 1 runs every rate of the grid on one seed at ``fraction`` of the
budget; a grid whose best rate sits on an edge is extended one step past that
edge (the grid's own ratio at that end) until the best rate is interior or
``max_extensions`` steps were taken. Rung 2 runs the ``keep`` best rates at
the full budget on ``seeds`` seeds; the lowest mean final validation loss wins
(ties: the smaller rate). A non-finite or diverged run scores ``inf``.

The algorithm knows nothing about training: it calls ``train(lr, seed,
fraction)`` and reads a validation loss, so it is tested with a synthetic
loss. Every run is appended to the trail at once and handed to ``save``; a
trail read back from disk is resumed, its finished runs not repeated.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..config import MAX_LR
from .spec import SelectionSpec

__all__ = ["TrainFn", "check_shared_rate", "extend_rate", "successive_halving"]

#: ``train(lr, seed, fraction) -> validation loss`` (or a mapping with
#: ``"val_loss"`` and anything else worth recording, e.g. ``weights_updated``).
TrainFn = Callable[[float, int, float], "float | Mapping[str, Any]"]


def _tidy(lr: float) -> float:
    """A rate rounded to 10 significant digits (``0.001 / 3`` -> ``0.0003333333333``)."""
    return float(f"{lr:.10g}")


def extend_rate(grid: Sequence[float], edge: str) -> float:
    """The rate one step past ``edge`` (``"low"`` or ``"high"``) of a sorted grid.

    The step is the grid's own ratio at that end: ``grid[0]**2 / grid[1]``
    below, ``grid[-1]**2 / grid[-2]`` above.

    Parameters
    ----------
    grid : sequence of float
        Sorted increasing, at least two rates.
    edge : {"low", "high"}

    Returns
    -------
    float
    """
    if len(grid) < 2:
        raise ValueError("a grid of one rate has no ratio to extend by")
    if edge == "low":
        return _tidy(grid[0] * grid[0] / grid[1])
    if edge == "high":
        return _tidy(grid[-1] * grid[-1] / grid[-2])
    raise ValueError(f"edge must be 'low' or 'high', got {edge!r}")


def _score(value: Any) -> float:
    """A run's validation loss; non-finite (or missing) -> ``inf``."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return math.inf
    return v if math.isfinite(v) else math.inf


def _best(scores: Mapping[float, float], n: int | None = None) -> list[float]:
    """Rates by increasing score, ties broken towards the smaller rate."""
    ranked = sorted(scores, key=lambda lr: (scores[lr], lr))
    return ranked if n is None else ranked[:n]


class _Rungs:
    """The runs of one selection, resumed from an earlier trail."""

    def __init__(
        self,
        train: TrainFn,
        trail: dict[str, Any],
        done: Mapping[str, Any] | None,
        save: Callable[[dict[str, Any]], None] | None,
        log: Callable[[str], None] | None,
    ) -> None:
        self.train, self.trail, self.save, self.log = train, trail, save, log
        self.earlier: dict[tuple[str, float, int], dict[str, Any]] = {}
        for rung in ("rung1", "rung2"):
            for row in (done or {}).get(rung, []):
                self.earlier[(rung, _tidy(row["lr"]), int(row["seed"]))] = row

    def run(self, rung: str, lr: float, seed: int, fraction: float) -> float:
        """Validation loss of ``lr`` on ``seed`` (from the earlier trail when there)."""
        row = self.earlier.get((rung, _tidy(lr), seed))
        if row is None:
            try:
                out = self.train(lr, seed, fraction)
            except FloatingPointError as exc:  # diverged: scores inf
                out = {"val_loss": math.inf, "error": str(exc)}
            extra = dict(out) if isinstance(out, Mapping) else {"val_loss": out}
            row = {"lr": lr, "seed": seed, **extra, "val_loss": _score(extra.get("val_loss"))}
            if self.log is not None:
                self.log(f"    {rung} lr={lr:g} seed={seed}: val_loss={row['val_loss']:.6g}")
        else:
            row = {**row, "lr": lr, "val_loss": _score(row.get("val_loss"))}
        self.trail[rung].append(row)
        if self.save is not None:
            self.save(self.trail)
        return row["val_loss"]


def successive_halving(
    grid: Sequence[float],
    train: TrainFn,
    selection: SelectionSpec,
    *,
    seed_offset: int = 0,
    done: Mapping[str, Any] | None = None,
    save: Callable[[dict[str, Any]], None] | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Choose a learning rate from ``grid`` by successive halving.

    Parameters
    ----------
    grid : sequence of float
        The candidate rates (any order, no repeats). One rate: chosen without
        a run.
    train : callable
        ``train(lr, seed, fraction)`` trains on the fit part with ``fraction``
        of the budget and returns the final validation loss, or a mapping with
        ``"val_loss"`` and other fields recorded with the run. A
        ``FloatingPointError`` or a non-finite loss scores ``inf``.
    selection : SelectionSpec
        ``fraction``, ``keep``, ``seeds``, ``extend_edges``, ``max_extensions``.
    seed_offset : int, default=0
        Rung 1 runs on seed ``seed_offset``, rung 2 on ``seed_offset ..
        seed_offset + seeds - 1``.
    done : mapping, optional
        An earlier (possibly unfinished) trail of the same selection; its runs
        are reused instead of repeated.
    save : callable, optional
        Called with the trail after every run (to persist it at once).
    log : callable, optional
        Called with one line per run.

    Returns
    -------
    dict
        The trail: ``grid`` (as given), ``final_grid`` (sorted, with the
        extensions), ``extensions`` (``{"edge", "lr", "ratio"}`` per step),
        ``rung1`` and ``rung2`` (one row per run: ``lr``, ``seed``,
        ``val_loss`` and what ``train`` returned), ``kept``, ``rung2_mean``
        (``repr(lr) -> mean``), ``chosen``, ``edge`` (the best rung-1 rate was
        still on an edge when the extensions stopped), ``note`` and
        ``complete``.
    """
    rates = sorted(_tidy(float(lr)) for lr in grid)
    if len(set(rates)) != len(rates):
        raise ValueError(f"grid repeats a rate: {list(grid)}")
    seeds = [seed_offset + s for s in range(selection.seeds)]
    trail: dict[str, Any] = {
        "grid": [float(lr) for lr in grid],
        "final_grid": list(rates),
        "extensions": [],
        "fraction": selection.fraction,
        "keep": selection.keep,
        "rung1_seed": seed_offset,
        "rung2_seeds": seeds,
        "rung1": [],
        "kept": [],
        "rung2": [],
        "rung2_mean": {},
        "chosen": None,
        "edge": False,
        "note": "",
        "complete": False,
    }
    if len(rates) == 1:
        trail.update(chosen=rates[0], kept=list(rates), complete=True)
        trail["note"] = "one rate: run without selection"
        if save is not None:
            save(trail)
        return trail
    rungs = _Rungs(train, trail, done, save, log)
    scores = {lr: rungs.run("rung1", lr, seed_offset, selection.fraction) for lr in rates}
    while True:
        best = _best(scores, 1)[0]
        side = "low" if best == rates[0] else "high" if best == rates[-1] else None
        if side is None:
            break
        if not selection.extend_edges or len(trail["extensions"]) >= selection.max_extensions:
            trail["edge"] = True
            break
        new = extend_rate(rates, side)
        if not 0 < new <= MAX_LR or new in scores:
            trail["edge"] = True
            trail["note"] = f"no rate past {best:g} ({new:g} is out of range)"
            break
        ratio = _tidy(rates[1] / rates[0] if side == "low" else rates[-1] / rates[-2])
        trail["extensions"].append({"edge": side, "lr": new, "ratio": ratio})
        rates = [new, *rates] if side == "low" else [*rates, new]
        trail["final_grid"] = list(rates)
        scores[new] = rungs.run("rung1", new, seed_offset, selection.fraction)
    kept = [lr for lr in _best(scores, selection.keep) if math.isfinite(scores[lr])]
    trail["kept"] = kept
    if not kept:
        trail["chosen"] = _best(scores, 1)[0]
        trail["note"] = "every rate diverged in rung 1: the smallest is used"
    elif len(kept) == 1:
        trail["chosen"] = kept[0]
        trail["note"] = trail["note"] or "one rate kept: rung 2 has nothing to choose"
    else:
        means: dict[float, float] = {}
        for lr in kept:
            losses = [rungs.run("rung2", lr, s, 1.0) for s in seeds]
            means[lr] = sum(losses) / len(losses)  # inf when any seed diverged
            trail["rung2_mean"][repr(lr)] = means[lr]
        trail["chosen"] = _best(means, 1)[0]
    trail["complete"] = True
    if save is not None:
        save(trail)
    return trail


def check_shared_rate(
    trail: Mapping[str, Any],
    train: TrainFn,
    fraction: float,
    *,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Whether a rate selected on another cell transfers to this one.

    A shared selection (``share_by``) was chosen on one cell of a dataset and
    depth; a width can change the best rate (plain SGD on a sigmoid network
    is the case that showed it: a rate that trains 784-100-10 saturates
    784-400-10). So the chosen rate and its neighbours in the trail's final
    grid are run once more, at rung 1 (``fraction`` of the budget, the
    trail's rung-1 seed), on this cell. The rate transfers when it ranks
    among them no worse here than it did at rung 1 of the source cell
    (ranks by validation loss, ties towards the smaller rate); otherwise the
    cell runs its own selection (``docs/PROTOCOL.md``, section 2).

    Parameters
    ----------
    trail : mapping
        The source cell's complete selection trail (``chosen``,
        ``final_grid``, ``rung1``, ``rung1_seed``).
    train : callable
        ``train(lr, seed, fraction)`` on this cell, as for
        :func:`successive_halving`.
    fraction : float
        Rung 1's fraction of the budget.
    log : callable, optional

    Returns
    -------
    dict
        ``rates``, ``seed``, ``fraction``, ``runs`` (rate and validation loss
        each), ``rank`` and ``source_rank`` (1 = best) and ``transfers``.
    """
    chosen = _tidy(trail["chosen"])
    grid = sorted(_tidy(lr) for lr in trail.get("final_grid") or [chosen])
    seed = int(trail.get("rung1_seed", 0))
    out: dict[str, Any] = {"rates": [chosen], "seed": seed, "fraction": fraction, "runs": []}
    if chosen not in grid or len(grid) < 2:
        out.update(rank=1, source_rank=1, transfers=True)  # nothing to compare with
        return out
    i = grid.index(chosen)
    rates = grid[max(i - 1, 0) : i + 2]
    source = {
        _tidy(r["lr"]): _score(r.get("val_loss"))
        for r in trail.get("rung1", [])
        if int(r.get("seed", seed)) == seed
    }
    here = _Rungs(train, {"check": out["runs"]}, None, None, log)
    scores = {lr: here.run("check", lr, seed, fraction) for lr in rates}
    out["rates"] = rates
    out["rank"] = _best(scores).index(chosen) + 1
    known = {lr: source[lr] for lr in rates if lr in source}
    out["source_rank"] = _best(known).index(chosen) + 1 if chosen in known else 1
    out["transfers"] = out["rank"] <= out["source_rank"]
    return out
