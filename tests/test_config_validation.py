"""Configuration errors name the bad key: unknown keys list the valid ones,
wrong types say what was expected (TrainConfig and YAML experiment specs)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

import dante
from dante.config import TrainConfig, make_config
from dante.experiments.spec import list_experiments, load_spec


@pytest.mark.parametrize(
    ("kwargs", "exc", "patterns"),
    [
        ({"lrr": 0.1}, TypeError, ["'lrr'", "did you mean 'lr'", "valid keys: method,", "seed"]),
        ({"t_sgnd": 2, "x": 1}, TypeError, ["unknown arguments 't_sgnd'", "'t_sngd'", "'x'"]),
        ({"lr": "fast"}, ValueError, ["invalid lr='fast'", "expected float"]),
        ({"batch_size": 2.5}, ValueError, ["batch_size=2.5", "int"]),
        ({"batch_size": True}, ValueError, ["batch_size=True", "not a bool"]),
        ({"lr": True}, ValueError, ["lr=True", "not a bool"]),
        ({"max_weights_updated": "x"}, ValueError, ["max_weights_updated", "expected int or None"]),
        ({"cache_inputs": "maybe"}, ValueError, ["cache_inputs", "expected bool"]),
        ({"eval_every": "step"}, ValueError, ["eval_every='step'", "'epoch' or 'round'"]),
        ({"momentum": 1.5}, ValueError, ["momentum=1.5", "less than 1"]),
        ({"device": 3}, ValueError, ["device=3", "expected str"]),
    ],
)
def test_make_config_names_the_key(kwargs, exc, patterns):
    with pytest.raises(exc) as info:
        make_config(**kwargs)
    for p in patterns:
        assert p in str(info.value)


def test_trainconfig_itself_lists_valid_keys():
    with pytest.raises(ValidationError, match=r"unknown key 'lrr' \(did you mean 'lr'\?\)"):
        TrainConfig(lrr=0.1)
    assert TrainConfig(lr=0.5, batch_size=4).batch_size == 4


def test_fit_reports_the_key_before_training():
    net = dante.MLP([4, 3, 2], seed=0)
    with pytest.raises(TypeError, match="did you mean 'batch_size'"):
        dante.fit(net, [[0.0] * 4] * 4, [0, 1, 0, 1], batchsize=2)


@pytest.mark.parametrize(
    ("mutate", "patterns"),
    [
        (lambda d: d.update(budget_epoch=2), ["'budget_epoch'", "did you mean 'budget_epochs'"]),
        (
            lambda d: d["methods"]["sgd"].update(lr_grids=[1.0]),
            ["'methods.sgd.lr_grids'", "valid keys: method, lr_grid, overrides"],
        ),
        (
            lambda d: d["methods"]["sgd"].update(overrides={"batchsize": 3}),
            ["overrides: unknown key 'batchsize'", "did you mean 'batch_size'"],
        ),
        (
            lambda d: d["methods"]["sgd"].update(overrides={"momentum": 3}),
            ["methods.sgd", "momentum=3"],
        ),
        (lambda d: d["methods"]["sgd"].update(method="sgdd"), ["unknown method 'sgdd'"]),
        (lambda d: d.update(variants=[{"activaton": "relu"}]), ["did you mean 'activation'"]),
        (lambda d: d.update(batch_size="big"), ["'batch_size'", "expected int"]),
    ],
)
def test_yaml_spec_errors_name_the_key(spec_file, mutate, patterns):
    path = spec_file(mutate)
    with pytest.raises(ValueError) as info:
        load_spec(path)
    msg = str(info.value)
    assert msg.startswith("spec.yaml: bad key")
    for p in patterns:
        assert p in msg


def test_bundled_specs_still_load():
    for name in list_experiments():
        assert load_spec(name).name
        assert load_spec(name, quick=True).name
