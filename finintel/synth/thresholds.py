"""Default thresholds of the typology families the generator injects."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

#: The defaults analysts start from. The shipped rules in rules/ must agree with these values:
#: hits are built just inside them and near misses just outside. Windows are rolling.
#: A transfer is "sub-threshold" when a USD transfer's principal is in the USD band, or any
#: other transfer's EUR value (ECB rate of its day) is in the EUR band.
DEFAULT_THRESHOLDS: dict[str, dict[str, Any]] = {
    "structuring": {
        "min_transfers": 3,
        "window": "7d",
        "bands": {"EUR": [900.0, 1000.0], "USD": [2700.0, 3000.0]},
        "per": "sender",
    },
    "fan_in": {"min_senders": 5, "min_countries": 2, "window": "30d"},
    "fan_out": {"min_receivers": 5, "window": "7d", "min_total_eur": 10_000.0},
    "pass_through": {"min_ratio": 0.9, "window": "24h", "min_inflow_eur": 1000.0},
    "corridor": {
        "min_amount_eur": 10_000.0,
        "window": "30d",
        # FATF call-for-action and EU high-risk third countries (a reference list in rules/)
        "countries": ["AF", "IR", "KP", "MM", "SY", "YE"],
        "per": "sender account",
    },
    "funnel_account": {
        "min_depositors": 5,
        "min_branches": 3,
        "window": "14d",
        "channel": "cash",
        "reference_prefix": "CASH DEPOSIT",
    },
    "agent_hopping": {"min_send_agents": 3, "window": "2d"},
    "many_payout_agents": {"min_payout_agents": 4, "window": "14d"},
    "shared_identifier": {
        "min_names": 2,
        "identifiers": ["id_number", "phone"],
        "names": "different after normalising case, accents and transliteration",
        "not_identifiers": ["address"],
    },
    "complicit_agent": {
        "min_ratio_to_median": 5.0,
        "min_orders": 30,
        "bands": {"EUR": [900.0, 1000.0], "USD": [2700.0, 3000.0]},
        "of": "paid orders per send agent; median over agents with at least min_orders",
    },
    "smuggling_network": {
        "min_senders": 5,
        "min_countries": 2,
        "window": "30d",
        "collector_countries": ["LY", "TR", "NE", "SD", "RS", "BA"],
        "onward": "collector pays an organiser after the last payout",
    },
    # -- the graph (layering) families, in bank credit transfers (issue #4). The graph rules
    # must agree with these. "min_ratio"/"max_ratio": what an account passes on (or a hop
    # carries) as a share of what it received (fees and cuts of up to 10 %). Equal timestamps
    # count as in order (min_hop_delay 0).
    "cycle": {  # round-tripping: the same money going round
        "order": "temporal",  # each hop at or after the previous one
        "min_length": 2,
        "max_length": 5,
        "window": "30d",  # first hop to the closing hop
        "min_ratio": 0.9,  # each hop carries 90-100 % of the previous hop's amount
        "max_ratio": 1.0,
        "min_hop_delay": "0s",
    },
    "ring": {  # circular invoicing: colluding accounts paying each other from own balances
        "order": "any",
        "min_length": 3,  # two accounts paying each other back is too common to flag alone
        "max_length": 5,
        "window": "30d",  # all payments of the ring
    },
    "scatter_gather": {  # one source -> intermediaries -> one sink
        "min_intermediaries": 3,
        "window": "14d",  # first scatter payment to the last gather payment
        "min_ratio": 0.9,  # each intermediary passes on 90-100 % of what it got, afterwards
        "max_ratio": 1.0,
    },
    "gather_scatter": {  # sources -> one hub -> sinks
        "min_sources": 3,
        "min_sinks": 3,
        "window": "14d",  # first inflow to the last outflow
        "order": "every outflow at or after every inflow",
        "min_ratio": 0.9,  # the hub passes on 90-100 % of its inflows
        "max_ratio": 1.0,
    },
    "bipartite": {  # every sender pays every receiver
        "min_senders": 3,
        "min_receivers": 3,
        "window": "14d",  # all payments between the two groups
    },
    "stack": {  # layered chains: one source -> layer 1 -> layer 2 -> layer 3 -> one sink
        "layers": 3,  # layers of intermediaries
        "min_layer_size": 2,  # distinct accounts in every layer
        "window": "14d",  # first payment out of the source to the last into the sink
        "max_dwell": "3d",  # longest an account holds the money before passing it on
        "min_ratio": 0.9,  # each hop carries 90-100 % of the previous hop on its path
        "max_ratio": 1.0,
    },
    "layering_chain": {  # one line of accounts, each paying the next: source -> ... -> sink
        "min_hops": 5,  # transfers in a row (four intermediaries or more)
        "max_hops": 8,
        "window": "30d",  # first hop to the last
        "max_dwell": "3d",  # longest an account holds the money before paying the next one
        "min_ratio": 0.9,  # each hop carries 90-100 % of the previous one
        "max_ratio": 1.0,
    },
}


def in_band(
    eur: npt.NDArray[np.float64],
    principal: npt.NDArray[np.float64],
    currency: npt.NDArray[np.str_],
) -> npt.NDArray[np.bool_]:
    """Which transfers are sub-threshold (see ``DEFAULT_THRESHOLDS``)."""
    bands = DEFAULT_THRESHOLDS["structuring"]["bands"]
    usd = currency == "USD"
    lo_e, hi_e = bands["EUR"]
    lo_u, hi_u = bands["USD"]
    hit = np.where(usd, (principal >= lo_u) & (principal < hi_u), (eur >= lo_e) & (eur < hi_e))
    return np.asarray(hit, dtype=np.bool_)
