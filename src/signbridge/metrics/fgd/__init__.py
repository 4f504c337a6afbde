"""The Fréchet Gesture Distance ``evaluate`` metric (needs the ``metrics`` extra: evaluate)."""

from .fgd import FGD, LENGTH_INTERVALS, PREFIX_LENGTHS

__all__ = ["FGD", "LENGTH_INTERVALS", "PREFIX_LENGTHS"]
