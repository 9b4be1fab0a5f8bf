"""A block's inputs: the training rows pushed through the frozen prefix.

For the block in turn the trainer computes the block's inputs once for the
whole training set (the frozen prefix is never recomputed per minibatch), in
chunks of :data:`EVAL_CHUNK` rows, and shares the prefix's work across the
phases of a round while the outputs fit ``cache_memory_gb``. When they would
not, the prefix is recomputed per minibatch instead (``"streamed"``); with
``cache_inputs=False`` always (``"recomputed"``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

import torch

from .._pages import PageReleaser

__all__ = ["EVAL_CHUNK", "BlockInputsMixin", "layer_state", "physical_memory", "same_state"]

#: rows per chunk of every full-data forward pass (block inputs, evaluation)
EVAL_CHUNK = 8192
_log = logging.getLogger("dante")


def physical_memory() -> int:
    """Bytes of physical memory (8 GiB where the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 8 << 30


def layer_state(layer: torch.nn.Module) -> tuple[bool, list[torch.Tensor]]:
    """A copy of what a layer's forward depends on: its mode, parameters, buffers."""
    return layer.training, [t.detach().clone() for t in (*layer.parameters(), *layer.buffers())]


def same_state(layer: torch.nn.Module, state: tuple[bool, list[torch.Tensor]]) -> bool:
    """Whether the layer is bitwise as :func:`layer_state` copied it."""
    training, saved = state
    now = (*layer.parameters(), *layer.buffers())
    return (
        layer.training == training
        and len(now) == len(saved)
        and all(
            a.shape == b.shape and a.dtype == b.dtype and torch.equal(a, b)
            for a, b in zip(now, saved)
        )
    )


class BlockInputsMixin:
    """The :class:`dante.Trainer`'s block inputs and their cache.

    Uses the trainer's ``model``, ``config``, ``_train`` and ``_test``; keeps
    the stored prefix outputs in ``_prefix_cache``.
    """

    def _pages_of(self, H: torch.Tensor) -> PageReleaser:
        for data in (self._train, self._test):
            if data is not None and H is data.X:
                return data.pages
        return PageReleaser(None)

    @torch.no_grad()
    def _outputs(self, H: torch.Tensor, path: Sequence[int]) -> torch.Tensor:
        """``forward_path`` over all rows, in chunks, into one preallocated
        tensor (no list of chunks and no second copy from ``cat``)."""
        if len(H) <= EVAL_CHUNK:
            return self.model.forward_path(H, path)
        pages = self._pages_of(H)
        first = self.model.forward_path(H[:EVAL_CHUNK], path)
        out = first.new_empty((len(H), *first.shape[1:]))
        out[:EVAL_CHUNK] = first
        for i in range(EVAL_CHUNK, len(H), EVAL_CHUNK):
            part = H[i : i + EVAL_CHUNK]
            out[i : i + EVAL_CHUNK] = self.model.forward_path(part, path)
            pages.tick(part.nbytes)
        pages.release()
        return out

    @torch.no_grad()
    def _block_inputs(self, src: torch.Tensor, prefix: Sequence[int]) -> torch.Tensor:
        """``_outputs(src, prefix)``, sharing the frozen prefix's work across phases.

        The outputs after every layer of the last prefix computed from ``src``
        are kept (with a copy of those layers' parameters and buffers) while
        they fit ``cache_memory_gb`` beside each other. A phase whose prefix
        starts with layers that are bitwise unchanged since then starts from
        the stored output of the longest such run instead of from ``src``: a
        round-robin sweep from the output block down (``0..4`` for block 5,
        then ``0..3`` for block 4, ...) computes the prefix's layers once per
        round instead of once per phase, and an input-first sweep adds one
        layer per phase. Each row goes through the same layers, chunk for
        chunk (``EVAL_CHUNK`` rows, the same boundaries), so the values are
        those of ``_outputs``.
        """
        path = tuple(prefix)
        layers = self.model.layers
        cache = self.__dict__.setdefault("_prefix_cache", {})
        entry = cache.pop(id(src), None)  # dropped unless it is stored again below
        keep = 0
        if entry is not None and entry["src"] is src and entry["version"] == src._version:
            for j, li in enumerate(path[: len(entry["path"])]):
                if entry["path"][j] != li or not same_state(layers[li], entry["state"][j]):
                    break
                keep = j + 1
        outs = entry["outs"][:keep] if entry else []
        states = entry["state"][:keep] if entry else []
        entry = None  # frees the stale outputs before new ones are made
        rest = path[keep:]
        if rest:
            held = sum(t.nbytes for e in cache.values() for t in e["outs"])
            widths = [layers[li].linear.out_features for li in rest]
            need = sum(t.nbytes for t in outs) + len(src) * sum(widths) * src.element_size()
            if held + need > self._cache_limit():  # not all of them: the final one only
                return self._outputs(outs[-1] if outs else src, rest)
            base = outs[-1] if outs else src
            outs = outs + self._outputs_each(base, rest)
            states = states + [layer_state(layers[li]) for li in rest]
        cache[id(src)] = {
            "src": src,
            "version": src._version,
            "path": path,
            "outs": outs,
            "state": states,
        }
        return outs[-1]

    def _outputs_each(self, H: torch.Tensor, path: Sequence[int]) -> list[torch.Tensor]:
        """The output after each layer of ``path``, computed as :meth:`_outputs`
        computes the last one (the same chunks, layer after layer)."""
        layers = self.model.layers
        if len(H) <= EVAL_CHUNK:
            outs = []
            h = H
            for li in path:
                h = layers[li](h)
                outs.append(h)
            return outs
        pages = self._pages_of(H)
        outs = []
        for i in range(0, len(H), EVAL_CHUNK):
            part = H[i : i + EVAL_CHUNK]
            h = part
            for j, li in enumerate(path):
                h = layers[li](h)
                if not i:
                    outs.append(h.new_empty((len(H), *h.shape[1:])))
                outs[j][i : i + EVAL_CHUNK] = h
            pages.tick(part.nbytes)
        pages.release()
        return outs

    def _drop_stale_inputs(self, block: tuple[int, ...]) -> None:
        """Free the stored prefix outputs from the first layer of ``block`` on
        (it has just been trained: they can never be reused)."""
        cache = self.__dict__.get("_prefix_cache")
        if not cache:
            return
        for key in list(cache):
            e = cache[key]
            cut = next((j for j, li in enumerate(e["path"]) if li in block), None)
            if cut is None:
                continue
            if cut == 0:
                del cache[key]
            else:
                e["path"], e["outs"], e["state"] = (
                    e["path"][:cut],
                    e["outs"][:cut],
                    e["state"][:cut],
                )

    def _cache_limit(self) -> float:
        """Bytes the trainer may hold in block-input caches (``cache_memory_gb``,
        by default a quarter of the physical memory)."""
        gb = self.config.cache_memory_gb
        return gb * 2**30 if gb is not None else physical_memory() / 4

    def _input_mode(
        self, prefix: Sequence[int], stage_in: torch.Tensor, stage_in_test: torch.Tensor | None
    ) -> str:
        """How a block gets its inputs: ``"direct"`` (the stage's input, no
        frozen prefix), ``"cached"`` (prefix computed once per phase),
        ``"streamed"`` (the cache would exceed ``cache_memory_gb``: the prefix
        is recomputed per minibatch) or ``"recomputed"`` (``cache_inputs=False``)."""
        cfg = self.config
        if not prefix:
            return "direct"
        if not cfg.cache_inputs:
            return "recomputed"
        width = self.model.layers[prefix[-1]].linear.out_features
        rows = len(stage_in) + (len(stage_in_test) if stage_in_test is not None else 0)
        need = rows * width * stage_in.element_size()
        limit = self._cache_limit()
        if need > limit:
            _log.info(
                "block input cache of %.2f GB exceeds %.2f GB: streaming minibatches",
                need / 2**30,
                limit / 2**30,
            )
            return "streamed"
        return "cached"
