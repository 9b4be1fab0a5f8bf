"""Benchmark bookkeeping (speed itself is measured by `dante bench`, never asserted here)."""

from dante.bench import _layer_flops, write_performance_md


def test_layer_flops_hand_count():
    # sizes 4-3-2, batch 5: a matmul of layer 0 is 2*5*4*3 = 120 flops, of layer 1 60
    assert _layer_flops([4, 3, 2], 5, None) == 120 + 120 + 60 + 60 + 60  # backprop
    assert _layer_flops([4, 3, 2], 5, 0) == 120 + 120 + 60 + 60  # DANTE step on layer 0
    assert _layer_flops([4, 3, 2], 5, 1) == 60 + 60  # DANTE step on the output layer


def test_performance_md_is_generated_from_measurements(tmp_path):
    results = {
        "machine": {"cores": 2, "cpu": "x", "torch": "t", "threads": 2, "blas": "mkl"},
        "device": "cpu",
        "p3": {
            "sizes": [4, 3, 2],
            "speedup": 3.5,
            "recomputed": 7.0,
            "cached": 2.0,
            "max_weight_difference": 0.0,
        },
        "p4": {"n_exponent": 1.04, "width_exponent": 1.3},
        "notes": ["a note"],
    }
    path = tmp_path / "PERFORMANCE.md"
    write_performance_md(results, path)
    text = path.read_text()
    assert "| P3 frozen-prefix cache speed-up, one sweep of 4-3-2 | 3.50x" in text
    assert "k = 1.04 | 1.0 ± 0.1 | yes" in text and "k = 1.30 | 1.0 ± 0.1 | no" in text
    assert "- a note" in text
