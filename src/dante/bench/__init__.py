"""Performance measurements behind ``dante bench`` and ``docs/PERFORMANCE.md``.

Every figure is a side-by-side ratio measured in one run on one machine
(never asserted in tests). One module per part:

* :mod:`~dante.bench.common`: machine info, timers, synthetic data, FLOP counts.
* :mod:`~dante.bench.p1`: P1 time to SGD's accuracy (MNIST, SGD / Adam / DANTE).
* :mod:`~dante.bench.p2_p3`: P2 hardware efficiency, P3 frozen-prefix cache.
* :mod:`~dante.bench.p4`: P4 scaling in N and width, memory-mapped training.
* :mod:`~dante.bench.p5`: P5 DANTE against the AM-Adam peer.
* :mod:`~dante.bench.p6`: P6 DanteClassifier against MLPClassifier.
* :mod:`~dante.bench.profile`: the step profile, before / after.
* :mod:`~dante.bench.report`: ``docs/PERFORMANCE.md``.

Nothing in dante's core imports this package.
"""

from __future__ import annotations

from .common import machine_info
from .p1 import BEST_DANTE, p1_lines, p1_time_to_accuracy
from .p2_p3 import p2_hardware_efficiency, p3_prefix_cache
from .p4 import derive_p4, p4_memmap, p4_scaling
from .p5 import p5_am_adam, p5_lines
from .p6 import format_table, p6_lines, p6_tabular
from .profile import profile_before_after
from .report import PARTS, part_stamp, write_performance_md

__all__ = [
    "BEST_DANTE",
    "PARTS",
    "derive_p4",
    "format_table",
    "machine_info",
    "p1_lines",
    "p1_time_to_accuracy",
    "p2_hardware_efficiency",
    "p3_prefix_cache",
    "p4_memmap",
    "p4_scaling",
    "p5_am_adam",
    "p5_lines",
    "p6_lines",
    "p6_tabular",
    "part_stamp",
    "profile_before_after",
    "write_performance_md",
]
