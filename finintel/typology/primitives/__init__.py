"""The pattern kinds of the typology language; importing this package registers all of them."""

from finintel.typology.primitives import (
    agent_concentration,
    aggregate,
    corridor,
    dormant_then_active,
    fan_in,
    fan_out,
    pass_through,
    payout_delay,
    round_amounts,
    shared_identifier,
    structuring,
    velocity_spike,
)
from finintel.typology.primitives.base import REGISTRY

__all__ = [
    "REGISTRY",
    "agent_concentration",
    "aggregate",
    "corridor",
    "dormant_then_active",
    "fan_in",
    "fan_out",
    "pass_through",
    "payout_delay",
    "round_amounts",
    "shared_identifier",
    "structuring",
    "velocity_spike",
]
