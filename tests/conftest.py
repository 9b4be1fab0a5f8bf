"""Fixtures shared by several test modules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture
def one_thread() -> Iterator[None]:
    """One torch thread: tiny networks only lose time to threads on a busy machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def spec_file(tmp_path):
    """``spec_file(mutate, name="table1")``: a bundled spec, changed by ``mutate``, as a file."""
    import yaml

    from dante.experiments.spec import _config_dir

    def make(mutate, name: str = "table1"):
        raw = yaml.safe_load((_config_dir() / f"{name}.yaml").read_text())
        mutate(raw)
        path = tmp_path / "spec.yaml"
        path.write_text(yaml.safe_dump(raw))
        return path

    return make
