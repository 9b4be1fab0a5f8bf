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
        "p4": {
            "n_exponent": 1.04,
            "width_exponent": 1.3,
            "by_n": [(1000, 0.1), (10000, 1.0)],
            "by_width": [(64, 0.5), (2048, 2.0)],
            "width_n": 20000,
        },
        "p4_memmap": {
            "n": 1000000,
            "d": 784,
            "data_bytes": 3136000000,
            "runs": [
                {
                    "cache_memory_gb": "default",
                    "inputs": {"1": "cached", "0": "direct"},
                    "seconds": 9.0,
                    "peak_rss_bytes": 1.5 * 2**30,
                },
                {
                    "cache_memory_gb": "0.25",
                    "inputs": {"1": "streamed", "0": "direct"},
                    "seconds": 12.0,
                    "peak_rss_bytes": 2.5 * 2**30,
                },
            ],
        },
        "p1": [
            {
                "loss": "mse",
                "epochs": 20,
                "target_accuracy": 0.98,
                "dante_over_sgd": 1.5,
                "dante_seconds": 15.0,
                "sgd_seconds": 10.0,
                "adam_seconds": None,
                "dante_over_adam": None,
                "sgd_lr": 0.3,
                "dante_lr": 0.1,
                "adam_lr": 0.001,
                "sgd_epochs_to_target": 20.0,
                "dante_epochs_to_target": 25.0,
                "adam_epochs_to_target": None,
                "sgd_seconds_per_epoch": 0.5,
                "dante_seconds_per_epoch": 0.6,
                "adam_seconds_per_epoch": 0.7,
                "dante_best_accuracy": 0.981,
                "adam_best_accuracy": 0.97,
            },
        ],
        "notes": ["a note"],
    }
    path = tmp_path / "PERFORMANCE.md"
    write_performance_md(results, path)
    text = path.read_text()
    assert "| P3 frozen-prefix cache speed-up, one sweep of 4-3-2 | 3.50x" in text
    assert "k = 1.04 | 1.0 ± 0.1 | yes" in text and "k = 1.30 | 1.0 ± 0.1 | no" in text
    assert "- a note" in text
    # the worst run decides the memory goal; the modes are named
    assert "| 2.50 GiB (cache_memory_gb=default: block 1 cached" in text
    assert "< 2 GiB | no |" in text
    # P1 split into passes and cost per pass: 25/20 passes, 0.6/0.5 cost
    assert "(1.25x)" in text and "costs 1.20x an SGD pass" in text
    assert "| mse | dante | 0.1 | 15 s | 25 |" in text


def test_fixed_cost_fit_recovers_a_known_affine_cost():
    from dante.bench import derive_p4

    # t = steps * (c0 + c1 * width) with c0 = 300 us, c1 = 2 us per unit width
    steps = 200
    by_w = [(w, steps * (300e-6 + 2e-6 * w)) for w in (64, 256, 1024, 2048)]
    by_n = [(n, (n // 100) * 1e-3) for n in (1000, 10_000, 100_000)]
    p4 = derive_p4({"by_n": by_n, "by_width": by_w, "width_n": 100 * steps, "batch": 100})
    assert abs(p4["width_fit"]["step_fixed_us"] - 300) < 1e-6
    share = 300 / (300 + 2 * 64)
    assert abs(p4["width_fit"]["fixed_share_at_smallest"] - share) < 1e-9
    assert abs(p4["n_exponent"] - 1) < 1e-9  # time exactly proportional to N
    # the widths measured on the 2-core machine (benchmarks/results.json): an
    # absolute least-squares fit put the intercept above the smallest time
    # (share 1.009); the relative fit must leave the smallest size some width cost
    measured = [(64, 0.08408), (256, 0.21078), (1024, 0.43644), (2048, 0.82061)]
    fit = derive_p4({"by_n": by_n, "by_width": measured, "width_n": 20_000, "batch": 100})
    assert 0.5 < fit["width_fit"]["fixed_share_at_smallest"] < 0.9  # 0.78 measured


def test_bench_report_only_rerenders_and_skip_keeps_earlier_parts(tmp_path, monkeypatch, capsys):
    import json

    from dante import bench
    from dante.cli import main

    raw = {
        "machine": {"cores": 2, "cpu": "x", "torch": "t", "threads": 2, "blas": "mkl"},
        "device": "cpu",
        "notes": [],
        "p4": {
            "by_n": [[1000, 0.01], [10000, 0.1]],
            "by_width": [[64, 0.1], [2048, 0.9]],
            "width_n": 20000,
            "batch": 100,
        },
    }
    js, md = tmp_path / "r.json", tmp_path / "P.md"
    js.write_text(json.dumps(raw))
    assert main(["bench", "--report-only", "--json", str(js), "--out", str(md)]) == 0
    assert "| P4 time per epoch ~ N^k | k = 1.00 | 1.0 ± 0.1 | yes |" in md.read_text()
    # every part skipped but P3 (stubbed): P4 survives from the earlier file
    monkeypatch.setattr(bench, "machine_info", lambda: raw["machine"])
    p3 = {
        "sizes": [4, 3, 2],
        "speedup": 2.0,
        "recomputed": 2.0,
        "cached": 1.0,
        "max_weight_difference": 0.0,
    }
    monkeypatch.setattr(bench, "p3_prefix_cache", lambda **kw: p3)
    argv = ["bench", "--skip", "p1,p2,p4,memmap,profile", "--json", str(js), "--out", str(md)]
    assert main(argv) == 0
    kept = json.loads(js.read_text())
    assert kept["p4"]["by_n"] == raw["p4"]["by_n"] and kept["p3"] == p3
    # nothing measured yet: report-only says so, in one line, and exits non-zero
    none = str(tmp_path / "none.json")
    assert main(["bench", "--report-only", "--json", none, "--out", str(md)]) == 2
    assert "--report-only: no measurements" in capsys.readouterr().err
