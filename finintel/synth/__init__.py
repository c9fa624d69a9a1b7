"""The seeded synthetic data generator with ground truth.

``generate(out_dir, transfers, seed)`` writes a drop in the provider layouts of docs/formats.md
(bank statements, credit transfers, MTO orders, the banks' parties), the FX rates it needs
beyond the ECB's, and ``truth.parquet``: the injected cases of every typology family, hits just
inside and near misses just outside ``DEFAULT_THRESHOLDS``; and ``identities/``: party records
with name variants and their persons as truth, for entity resolution
(:mod:`finintel.synth.identities`).

>>> from finintel.synth import DEFAULT_THRESHOLDS
>>> DEFAULT_THRESHOLDS["fan_in"]["min_senders"]
5
"""

from finintel.synth.casebook import FAMILIES
from finintel.synth.drop import GenerateSummary, cases_per_family, generate
from finintel.synth.fxrates import peg_rates, peg_rates_csv, write_peg_rates
from finintel.synth.thresholds import DEFAULT_THRESHOLDS

__all__ = [
    "DEFAULT_THRESHOLDS",
    "FAMILIES",
    "GenerateSummary",
    "cases_per_family",
    "generate",
    "peg_rates",
    "peg_rates_csv",
    "write_peg_rates",
]
