"""A hand-built case: five transfers, four alerts, two parties, two sources.

Accounts A1, A2 pay the collector C, which passes money on to D; X pays Y elsewhere. Every
expected number in the tests is computed by hand from these rows.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import polars as pl

from finintel.ingest.load import Dataset
from finintel.provenance import SourceManifest
from finintel.schema import ALERTS, PARTIES, QUARANTINE, TRANSFERS


def ts(day: int) -> datetime:
    return datetime(2025, 3, day, 12, 0, tzinfo=UTC)


#: (tx_id, day, src, dst, amount_base, src_party, dst_party, source)
TX = [
    ("t1", 1, "A1", "C", 100.0, "PA1", "PC", "bank"),
    ("t2", 2, "A2", "C", 200.0, None, "PC", "bank"),
    ("t3", 3, "A1", "C", 50.0, "PA1", "PC", "bank"),
    ("t4", 4, "C", "D", 100.0, "PC", None, "mto"),
    ("t5", 5, "X", "Y", 1000.0, None, None, "mto"),
    ("t6", 6, "A3", "C", 999.0, None, "PC", "bank"),  # in no alert: not evidence
]

#: (alert_id, typology, score, [(account, role)], tx_ids, sources)
ALERT_ROWS = [
    (
        "a1",
        "fan-in",
        0.5,
        [("A1", "sender"), ("A2", "sender"), ("C", "collector")],
        ["t1", "t2", "t3"],
        ["bank"],
    ),
    (
        "a2",
        "pass",
        0.6,
        [("A2", "source"), ("C", "mule"), ("D", "destination")],
        ["t2", "t4"],
        ["bank", "mto"],
    ),
    ("a3", "fan-in", 0.8, [("A1", "sender"), ("C", "collector")], ["t3"], ["bank"]),
    ("a4", "corridor", 0.3, [("X", "originator"), ("Y", "receiver")], ["t5"], ["mto"]),
]

MANIFEST = """\
sources:
  - source: bank
    agency: Bank FIU
    country: DE
    handling: H1
    grade: {scheme: europol, source: B, information: 2}
  - source: "mt*"
    agency: MTO liaison
    handling: H2
    handling_note: ask before passing on
    grade: {scheme: uk-3x5x2, source: 2, information: C}
"""


def records() -> pl.DataFrame:
    rows = [
        {
            "tx_id": t,
            "ts": ts(d),
            "src_account": s,
            "dst_account": r,
            "amount": a,
            "currency": "EUR",
            "amount_base": a,
            "channel": "mto" if src == "mto" else "bank",
            "src_party": sp,
            "dst_party": dp,
            "src_country": "DE",
            "dst_country": "TR" if r == "Y" else "DE",
            "source": src,
            "status": "completed",
        }
        for t, d, s, r, a, sp, dp, src in TX
    ]
    return (
        pl.DataFrame(rows)
        .with_columns(
            [pl.lit(None, dtype=t).alias(c) for c, t in TRANSFERS.items() if c not in rows[0]]
        )
        .select([pl.col(c).cast(t) for c, t in TRANSFERS.items()])
    )


def parties(evil_name: str | None = None) -> pl.DataFrame:
    rows = [
        {
            "party_id": "PA1",
            "name": "Ali Hassan",
            "phone": "+491701234567",
            "id_type": "PASSPORT",
            "id_number": "P123",
            "id_country": "SY",
            "country": "DE",
            "device_id": "A1B2-C3D4",
            "ip_address": "2001:db8::7",
            "source": "bank",
        },
        {
            "party_id": "PA1",
            "name": "Ali Hasan",
            "phone": "+491701234567",
            "country": "DE",
            "source": "bank",
        },
        {
            "party_id": "PC",
            "name": evil_name or "Carla Collector",
            "email": "c@example.org",
            "country": "DE",
            "device_id": "a1b2-c3d4",  # the collector's phone initiated Ali Hassan's orders
            "ip_address": "2001:db8::7",
            "source": "bank",
        },
    ]
    frame = pl.DataFrame(
        rows,
        schema={c: PARTIES[c] for c in rows[0]} | {"email": pl.String()},
        strict=False,
    )
    return frame.with_columns(
        [pl.lit(None, dtype=t).alias(c) for c, t in PARTIES.items() if c not in frame.columns]
    ).select([pl.col(c).cast(t) for c, t in PARTIES.items()])


def dataset(evil_name: str | None = None) -> Dataset:
    return Dataset(records(), parties(evil_name), pl.DataFrame(schema=QUARANTINE))


def alerts() -> pl.DataFrame:
    rows = []
    by_id = {t[0]: t for t in TX}
    for aid, typ, score, roles, txs, sources in ALERT_ROWS:
        days = [by_id[t][1] for t in txs]
        focus = roles[-1] if typ == "fan-in" else roles[0]
        rows.append(
            {
                "alert_id": aid,
                "typology": typ,
                "rule_version": 1,
                "family": typ,
                "kind": typ,
                "severity": "high",
                "score": score,
                "focus": focus[0],
                "focus_kind": "account",
                "focus_role": focus[1],
                "accounts": sorted(a for a, _ in roles),
                "roles": [{"account": a, "role": r} for a, r in roles],
                "tx_ids": txs,
                "sources": sources,
                "n_transfers": len(txs),
                "first_ts": ts(min(days)),
                "last_ts": ts(max(days)),
                "amount_base": sum(by_id[t][4] for t in txs),
                "metrics": json.dumps({"count": len(txs), "alert": aid}, sort_keys=True),
                "explanation": f"{typ} on {roles[-1][0]}",
            }
        )
    return pl.DataFrame(rows, schema=ALERTS)


def manifest() -> SourceManifest:
    return SourceManifest.from_text(MANIFEST, "sources.yaml")
