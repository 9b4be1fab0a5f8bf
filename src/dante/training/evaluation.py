"""Evaluation: the metrics records of a run and a stage's training loss.

An evaluation point records the budget counters and the model-level loss
(and accuracy, for classification) on the training and test data, reusing a
phase's block inputs when they apply. A stage's loss ``f_t`` is the quantity
the stopping rule of Algorithm 2 of ``000_16cd8e47eb5a686b.txt`` /
``001_1787bf99fca4a9f2.txt`` compares between rounds. Evaluation time is kept
off ``Budget.wall_seconds``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import torch

from .._pages import PageReleaser
from ..schedules import Stage
from .data import SplitData
from .inputs import EVAL_CHUNK

__all__ = ["EvaluationMixin"]


class EvaluationMixin:
    """The :class:`dante.Trainer`'s evaluation points and stage losses.

    Uses the trainer's ``model``, ``loss``, ``world``, ``budget``,
    ``history``, ``callbacks``, ``_train``, ``_test``, ``_epoch`` and
    ``_pages_of``; adds the seconds it takes to ``_eval_seconds``.
    """

    @torch.no_grad()
    def _split_metrics(
        self, H: torch.Tensor, path: Sequence[int], data: SplitData, prefix: str
    ) -> dict[str, float]:
        """``{prefix}_loss`` (and ``{prefix}_accuracy``) of ``H`` through ``path``."""
        total = 0.0
        correct = 0
        pages = data.pages if H is data.X else PageReleaser(None)
        lo, hi = self.world.rows(len(H))  # this rank's rows; all of them in one process
        for i in range(lo, hi, EVAL_CHUNK):
            j = min(i + EVAL_CHUNK, hi)
            part = H[i:j]
            out = self.model.forward_path(part, path)
            pages.tick(part.nbytes)
            total += float(self.loss.sum(out, data.T[i:j]))
            if data.labels is not None:
                pred = self.loss.predict(out)
                correct += int((pred == data.labels[i:j]).sum())
        pages.release()
        if self.world.size > 1:
            total, correct = self.world.sum(total, correct)
        out_metrics = {f"{prefix}_loss": total / len(H)}
        if data.labels is not None:
            out_metrics[f"{prefix}_accuracy"] = correct / len(H)
        return out_metrics

    def _evaluate(
        self,
        stage: Stage | None,
        round_: int,
        block: tuple[int, ...] | None,
        cache: tuple[torch.Tensor, torch.Tensor | None, tuple[int, ...]] | None,
    ) -> dict[str, Any]:
        """Record model-level metrics; reuse the phase cache when it applies."""
        t0 = time.perf_counter()
        full = tuple(range(self.model.n_layers))
        if cache is not None:
            H_train, H_test, suffix = cache
        else:
            H_train, H_test, suffix = self._train.X, None, full
        record: dict[str, Any] = {
            "stage": stage.name if stage else "init",
            "round": round_,
            "block": list(block) if block else None,
            "epoch": self._epoch,
            **asdict(self.budget),
        }
        record.update(self._split_metrics(H_train, suffix, self._train, "train"))
        if self._test is not None:
            if H_test is None:
                H_test, suffix = self._test.X, full
            record.update(self._split_metrics(H_test, suffix, self._test, "test"))
        self._eval_seconds += time.perf_counter() - t0
        self.history.append(record)
        for cb in self.callbacks:
            cb.on_evaluate(self, record)
        return record

    def _stage_loss(
        self, stage: Stage, stage_in: torch.Tensor, stage_target: torch.Tensor, full: bool
    ) -> float:
        """The stage's training loss ``f_t`` (the last record's when it is current)."""
        last = self.history[-1] if self.history else None
        if full and last is not None and last["steps"] == self.budget.steps:
            return float(last["train_loss"])
        t0 = time.perf_counter()
        total = 0.0
        pages = self._pages_of(stage_in)
        lo, hi = self.world.rows(len(stage_in))
        with torch.no_grad():
            for i in range(lo, hi, EVAL_CHUNK):
                j = min(i + EVAL_CHUNK, hi)
                part = stage_in[i:j]
                out = self.model.forward_path(part, stage.path)
                total += float(self.loss.sum(out, stage_target[i:j]))
                pages.tick(part.nbytes)
        pages.release()
        (total,) = self.world.sum(total)  # the same f_t, hence the same stopping rule, on all ranks
        self._eval_seconds += time.perf_counter() - t0
        return total / len(stage_in)
