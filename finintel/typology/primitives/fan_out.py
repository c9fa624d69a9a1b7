"""``fan_out``: one sender paying many distinct receivers (optionally in several countries).

The mirror image of :mod:`.fan_in`: the focus is the sender (``src_account``, or ``src_party``
when grouping by party); metrics ``distinct_receivers``, ``distinct_dst_countries``, ``count``,
``total`` over the rolling window ``(ts - window, ts]`` ending at each outflow. Trigger:
``distinct_receivers >= min_counterparties`` and, when ``min_countries > 0``,
``distinct_dst_countries >= min_countries``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from finintel.typology.primitives.base import ParamSpec, register
from finintel.typology.primitives.fan_in import Fan, fan_params

__all__ = ["FanOut"]


class FanOut(Fan):
    """One sender paying many distinct receivers within a rolling window."""

    kind: ClassVar[str] = "fan_out"
    doc: ClassVar[str] = "One sender pays ≥ N distinct receivers (in ≥ M countries) in a window."
    focus_role: ClassVar[str] = "distributor"
    params: ClassVar[Mapping[str, ParamSpec]] = fan_params("7d", "receivers")
    side: ClassVar[str] = "out"
    counterparties: ClassVar[str] = "distinct_receivers"
    countries: ClassVar[str] = "distinct_dst_countries"
    who: ClassVar[str] = "receivers"


register(FanOut())
