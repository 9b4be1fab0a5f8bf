"""Exact oracles: certified ERM for tiny depth-2 ReLU nets, PWL constructions."""
