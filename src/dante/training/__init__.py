"""The parts of :class:`dante.Trainer`, one purpose per module.

:mod:`dante.trainer` is the public entry (``Trainer``, ``fit``, ``Callback``
and the result types); this package holds what it is built from:

* :mod:`~dante.training.budget`: the work counters (``Budget``), the fair clock's
  one-time costs (``warm_up_torch``) and what a weights budget allows;
* :mod:`~dante.training.results`: ``TrainResult`` and ``NonFiniteLossError``;
* :mod:`~dante.training.state`: the trainer state a checkpoint saves and
  restores (the interface :mod:`dante.checkpoint` is written against, so that
  it never imports the trainer);
* :mod:`~dante.training.data`: validating ``X``/``y`` into tensors on the device;
* :mod:`~dante.training.inputs`: a block's inputs through the frozen prefix
  (cached, shared across phases, streamed or recomputed);
* :mod:`~dante.training.evaluation`: metrics records and a stage's loss ``f_t``;
* :mod:`~dante.training.phase`: one block's phase (SNGD or any solver, or an
  output-layer solve);
* :mod:`~dante.training.stages`: choosing the schedule and running a stage's
  rounds under the stopping rule;
* :mod:`~dante.training.checkpoints`: the trainer's checkpoint hooks.

Nothing is imported here, so that importing one part never imports the rest.
"""
