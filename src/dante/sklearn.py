"""scikit-learn estimators: DANTE (and the baselines) behind ``fit``/``predict``.

:class:`DanteClassifier`, :class:`DanteRegressor` and :class:`DanteAutoencoder`
follow the scikit-learn estimator conventions (parameters stored by the
constructor, validated in ``fit``; fitted attributes end in ``_``;
``random_state`` fixes the result) and pass
:func:`sklearn.utils.estimator_checks.check_estimator` (the one check that
cannot pass is listed in ``docs/SKLEARN.md``). They build a
:class:`~dante.MLP` or :class:`~dante.Autoencoder` and train it with
:class:`~dante.Trainer`, the project's one training loop: ``method="dante"``
is Algorithm 2 of ``001_1787bf99fca4a9f2.txt`` (round-robin over the layers,
each block solved by SNGD, Algorithm 1) for the supervised estimators and
the greedy pairs of Algorithm 3 of ``000_16cd8e47eb5a686b.txt`` for the
autoencoder; the backprop baselines (``"sgd"``, ``"adam"``, ...) go through the
same loop.

The estimators are exported lazily by :mod:`dante` (``dante.DanteClassifier``
imports this module, and scikit-learn's estimator machinery, on first use).
"""

from ._estimator_autoencoder import DanteAutoencoder
from ._estimator_classifier import DanteClassifier
from ._estimator_regressor import DanteRegressor

__all__ = ["DanteAutoencoder", "DanteClassifier", "DanteRegressor"]

# The estimators live in private modules (the shared base in ``_estimator_base``,
# the parameters in ``_estimator_params``); this module is their public home, so
# pickles, reprs and the API docs name ``dante.sklearn``.
for _estimator in (DanteAutoencoder, DanteClassifier, DanteRegressor):
    _estimator.__module__ = __name__
del _estimator
