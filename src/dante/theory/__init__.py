"""Theory toolkit of the DANTE papers (SLQC, kappa, theory-set SNGD)."""
