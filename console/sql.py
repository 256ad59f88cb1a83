"""ORM expressions PostgreSQL has and Django does not ship."""

from __future__ import annotations

from typing import Any

from django.db.models import Aggregate, FloatField


class PercentileCont(Aggregate):
    """percentile_cont(fraction) WITHIN GROUP (ORDER BY expression): an interpolated percentile."""

    function = "percentile_cont"
    name = "PercentileCont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        if not 0.0 <= fraction <= 1.0:
            raise ValueError("a percentile fraction is between 0 and 1")
        super().__init__(expression, fraction=repr(float(fraction)), **extra)
