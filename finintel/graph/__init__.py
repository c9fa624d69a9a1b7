"""The transaction graph and motif search (DESIGN §2 ``graph/``).

:mod:`.tgraph` builds a :class:`TGraph` (accounts as int ids, time-sorted edges, CSR/CSC via
scipy.sparse, strongly connected components); :mod:`.motifs` finds cycles, scatter-gather and
gather-scatter shapes, layering chains, stacks and bipartite blocks on it with polars joins.
The typology kinds built on them live in :mod:`finintel.typology.primitives`; flow tracing
(``finintel.trace``) in :mod:`.trace` with its policies in :mod:`.policies`.
"""

from finintel.graph.motifs import (
    bipartite,
    chains,
    cycle_labels,
    cycles,
    gather_scatter,
    path_labels,
    scatter_gather,
    scatter_gather_legs,
    stack_paths,
    stacks,
)
from finintel.graph.tgraph import TGraph, build
from finintel.graph.trace import POLICIES, Flows, TraceError

__all__ = [
    "POLICIES",
    "Flows",
    "TGraph",
    "TraceError",
    "bipartite",
    "build",
    "chains",
    "cycle_labels",
    "cycles",
    "gather_scatter",
    "path_labels",
    "scatter_gather",
    "scatter_gather_legs",
    "stack_paths",
    "stacks",
]
