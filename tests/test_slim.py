"""Stored reconstructions at display precision (dante.experiments.slim)."""

import json

import numpy as np
import pytest

from dante.experiments.slim import decode_image, encode_images, slim_results


def test_encode_decode_is_within_half_a_grey_level():
    rng = np.random.default_rng(0)
    x = rng.uniform(0.0, 1.0, size=(3, 784))
    enc = encode_images(x)
    assert len(enc) == 3 and all(isinstance(s, str) for s in enc)
    back = np.stack([decode_image(s) for s in enc])
    # nearest of 256 levels: at most half a level (1/510) away, plus float error
    assert np.abs(back - x).max() <= 0.5 / 255 + 1e-12
    # values outside [0, 1] are clipped, as the plots clip them
    out = decode_image(encode_images([[-0.3, 1.7, 0.5]])[0])
    assert out[0] == 0.0 and out[1] == 1.0 and out[2] == pytest.approx(128 / 255)
    # float lists of earlier results decode as they are
    assert decode_image([0.25, 0.5]).tolist() == [0.25, 0.5]


def test_encode_images_rejects_a_flat_list():
    with pytest.raises(ValueError, match="images must be 2-D"):
        encode_images([0.1, 0.2])


def test_slim_results_encodes_only_reconstructions(tmp_path):
    run = {
        "seed": 0,
        "test_loss": 0.0123456789012345,
        "reconstructions": {
            "images": [[0.123456789, 0.987654321]],
            "original": [[0.00392156862745098, 1.0]],
            "feature_shape": [1, 2],
        },
    }
    cell = {
        "cell": "c",
        "reconstructions": {"dante": [[0.111111111, 0.2]], "feature_shape": [1, 2]},
    }
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "seed0.json").write_text(json.dumps(run, indent=1) + "\n")
    (tmp_path / "cell.json").write_text(json.dumps(cell, indent=1) + "\n")
    plain = tmp_path / "plain.json"
    plain.write_text('{"x": 0.123456789}\n')
    done = slim_results(tmp_path)
    assert sorted(p.name for p in done) == ["cell.json", "seed0.json"]
    out = json.loads((tmp_path / "a" / "seed0.json").read_text())
    assert out["test_loss"] == run["test_loss"]  # untouched: only pixels are encoded
    rec = out["reconstructions"]
    assert rec["feature_shape"] == [1, 2]
    assert decode_image(rec["images"][0]) == pytest.approx([31 / 255, 252 / 255], abs=1e-12)
    assert decode_image(rec["original"][0]) == pytest.approx([1 / 255, 1.0], abs=1e-12)
    enc = json.loads((tmp_path / "cell.json").read_text())["reconstructions"]["dante"]
    assert decode_image(enc[0]) == pytest.approx([28 / 255, 51 / 255], abs=1e-12)
    assert plain.read_text() == '{"x": 0.123456789}\n'
    # a second pass finds nothing left to encode and rewrites nothing
    assert slim_results(tmp_path) == []
