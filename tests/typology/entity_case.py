"""One collector under two spellings with one passport (P1, P2) and two accounts (C1, C2); four
distinct senders, two to each account: a fan-in only when grouped by resolved entity. Shared by
the local (tests/typology) and Spark (tests/spark) tests of ``group_by: entity``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from finintel.schema import PARTIES, TRANSFERS

T0 = datetime(2025, 5, 1, 9, tzinfo=UTC)

RULE = """\
id: fan-in-by-{group}
family: fan_in
description: four senders to one collector
group_by: {group}
pattern:
  kind: fan_in
  window: 30d
  min_counterparties: 4
"""


def _party(pid: str, name: str, id_number: str | None = None) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(PARTIES)
    row.update(party_id=pid, name=name, id_number=id_number, id_country="SY", source="mto")
    return row


def _tx(i: int, src: str, dst: str, src_party: str, dst_party: str) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(TRANSFERS)
    row.update(
        tx_id=f"t{i}", ts=T0 + timedelta(days=i), src_account=src, dst_account=dst,
        amount=500.0, amount_base=500.0, currency="EUR", channel="mto", source="mto",
        status="completed", src_party=src_party, dst_party=dst_party,
    )  # fmt: skip
    return row


PARTY_ROWS = [
    _party("P1", "Mohammed Ali", "N1234567"),
    _party("P2", "Muhammad Ali", "N1234567"),
    *[_party(f"Q{i}", n) for i, n in enumerate(["Anna Berg", "Omar Said", "Li Wei", "Jan Nowak"])],
]
TX_ROWS = [
    _tx(0, "S0", "C1", "Q0", "P1"),
    _tx(1, "S1", "C1", "Q1", "P1"),
    _tx(2, "S2", "C2", "Q2", "P2"),
    _tx(3, "S3", "C2", "Q3", "P2"),
]


def transfers() -> pl.DataFrame:
    return pl.DataFrame(TX_ROWS, schema=TRANSFERS, orient="row")


def parties() -> pl.DataFrame:
    return pl.DataFrame(PARTY_ROWS, schema=PARTIES, orient="row")


def write_drop(tmp: Path, groups: tuple[str, ...] = ("entity",)) -> tuple[Path, Path]:
    """The case as a drop folder (transfers.parquet, parties.parquet) and a rules folder with
    the fan-in rule for each of ``groups`` (``typologies/<group>.yaml``)."""
    drop = tmp / "drop"
    drop.mkdir()
    transfers().write_parquet(drop / "transfers.parquet")
    parties().drop("source").write_parquet(drop / "parties.parquet")
    rules = tmp / "rules"
    (rules / "typologies").mkdir(parents=True)
    for group in groups:
        (rules / "typologies" / f"{group}.yaml").write_text(RULE.format(group=group))
    return drop, rules
