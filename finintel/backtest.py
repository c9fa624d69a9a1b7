"""``finintel eval``: precision and recall per typology family against ground truth.

Ground truth (``truth.parquet`` from the generator, or an analyst's labelled cases) has one row
per case member: ``case_id, family, entity, role, tx_ids`` and optionally ``near_miss`` (cases
built just outside the thresholds: a correct rule must not flag them).

Per family, over the alerts whose ``family`` matches:

* **alert level** — an alert is correct when its focus is a member of a true case of that family
  or its evidence shares a transaction with one; precision = correct alerts / alerts, recall =
  true cases hit by at least one correct alert / true cases;
* **account level** — precision = flagged entities (an alert's focus; for an identifier focus,
  such as a shared phone, the accounts of its parties; for a motif, its member accounts) that are members of a true case / flagged
  entities; recall = true cases with at least one member flagged / true cases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from finintel.errors import DataError, Location

TRUTH_REQUIRED = ("case_id", "family", "entity", "tx_ids")

#: Families whose cases are also true instances of another family's pattern: a smuggling
#: network's collector *is* a fan-in. An alert of the general family that hits such a case is
#: correct (it counts for precision; recall is still measured on the family's own cases).
SPECIALISATIONS: dict[str, tuple[str, ...]] = {
    "fan_in": ("smuggling_network",),
    "ring": ("cycle",),  # a round trip of three or more accounts is also a ring of payments
}
ALERTS_REQUIRED = ("alert_id", "family", "focus", "tx_ids")


@dataclass
class FamilyScore:
    family: str
    cases: int
    alerts: int
    alerts_correct: int
    cases_hit: int
    accounts_flagged: int
    accounts_correct: int
    cases_hit_by_account: int
    near_miss_cases: int = 0
    near_miss_flagged: int = 0

    @staticmethod
    def _ratio(a: int, b: int) -> float | None:
        return round(a / b, 4) if b else None

    @property
    def alert_precision(self) -> float | None:
        return self._ratio(self.alerts_correct, self.alerts)

    @property
    def alert_recall(self) -> float | None:
        return self._ratio(self.cases_hit, self.cases)

    @property
    def account_precision(self) -> float | None:
        return self._ratio(self.accounts_correct, self.accounts_flagged)

    @property
    def account_recall(self) -> float | None:
        return self._ratio(self.cases_hit_by_account, self.cases)

    def to_dict(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "cases": self.cases,
            "alerts": self.alerts,
            "alert_precision": self.alert_precision,
            "alert_recall": self.alert_recall,
            "accounts_flagged": self.accounts_flagged,
            "account_precision": self.account_precision,
            "account_recall": self.account_recall,
            "near_miss_cases": self.near_miss_cases,
            "near_miss_flagged": self.near_miss_flagged,
        }


@dataclass
class Evaluation:
    families: list[FamilyScore] = field(default_factory=list)

    def by_family(self) -> dict[str, FamilyScore]:
        return {f.family: f for f in self.families}

    def to_dict(self) -> dict[str, Any]:
        return {"families": [f.to_dict() for f in self.families]}

    def table(self) -> str:
        head = f"{'family':<22} {'cases':>5} {'alerts':>6} {'a.prec':>7} {'a.rec':>7} {'acc.prec':>8} {'acc.rec':>8} {'near-miss hit':>13}"
        lines = [head]

        def f(x: float | None) -> str:
            return "-" if x is None else f"{x:.3f}"

        for s in self.families:
            lines.append(
                f"{s.family:<22} {s.cases:>5} {s.alerts:>6} {f(s.alert_precision):>7} {f(s.alert_recall):>7} "
                f"{f(s.account_precision):>8} {f(s.account_recall):>8} {s.near_miss_flagged:>6}/{s.near_miss_cases:<6}"
            )
        return "\n".join(lines)


def _read(path: str | Path, required: tuple[str, ...], what: str) -> pl.DataFrame:
    p = Path(path)
    try:
        frame = pl.read_parquet(p)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise DataError(
            "FI050", f"cannot read {what}: {str(exc).splitlines()[0]}", Location(str(p))
        ) from None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataError(
            "FI051", f"{what} file lacks column(s) {', '.join(missing)}", Location(str(p))
        )
    return frame


def _case_txs(truth: pl.DataFrame) -> pl.DataFrame:
    return truth.select("case_id", "tx_ids").explode("tx_ids").rename({"tx_ids": "tx_id"}).unique()


def _hits(alerts: pl.DataFrame, members: pl.DataFrame, txs: pl.DataFrame) -> pl.DataFrame:
    """(alert_id, case_id) pairs: the alert's focus is a case member or it shares a transfer."""
    by_focus = (
        alerts.select("alert_id", pl.col("focus").alias("entity"))
        .join(members, on="entity")
        .select("alert_id", "case_id")
    )
    by_tx = (
        alerts.select("alert_id", "tx_ids").explode("tx_ids").rename({"tx_ids": "tx_id"})
        .join(txs, on="tx_id").select("alert_id", "case_id")
    )  # fmt: skip
    return pl.concat([by_focus, by_tx]).unique()


def _flagged(alerts: pl.DataFrame) -> set[str]:
    """The entities an alert flags: its focus, or its accounts when the focus is an identifier
    (a shared phone or ID number flags the accounts of the parties using it), a motif (a
    cycle or a scatter-gather flags its member accounts) or a watchlist target."""
    if "focus_kind" not in alerts.columns or "accounts" not in alerts.columns:
        return set(alerts["focus"].to_list())
    by_id = alerts.filter(pl.col("focus_kind").is_in(["identifier", "motif", "target"]))
    rest = alerts.filter(~pl.col("focus_kind").is_in(["identifier", "motif", "target"]))
    return set(rest["focus"].to_list()) | set(by_id["accounts"].explode().drop_nulls().to_list())


def evaluate(truth: pl.DataFrame, alerts: pl.DataFrame) -> Evaluation:
    """Score ``alerts`` against ``truth`` per family (see the module docstring)."""
    if "near_miss" not in truth.columns:
        truth = truth.with_columns(pl.lit(False).alias("near_miss"))
    families = sorted(
        set(truth["family"].unique().to_list()) | set(alerts["family"].unique().to_list())
    )
    out = Evaluation()
    for fam in families:
        t = truth.filter(pl.col("family") == fam)
        real = t.filter(~pl.col("near_miss"))
        also = truth.filter(
            pl.col("family").is_in(SPECIALISATIONS.get(fam, ())) & ~pl.col("near_miss")
        )
        near = t.filter(pl.col("near_miss"))
        a = alerts.filter(pl.col("family") == fam)
        member_case = real.select("entity", "case_id").unique()
        tx_case = _case_txs(real)
        both = pl.concat([real, also])
        hits = _hits(a, member_case, tx_case)
        correct = _hits(a, both.select("entity", "case_id").unique(), _case_txs(both))
        flagged = _flagged(a)
        real_members = set(both["entity"].to_list())
        cases_by_account = member_case.filter(pl.col("entity").is_in(list(flagged)))[
            "case_id"
        ].n_unique()
        near_members = near.select("case_id", "entity")
        near_flagged = near_members.filter(pl.col("entity").is_in(list(flagged)))[
            "case_id"
        ].n_unique()
        out.families.append(
            FamilyScore(
                family=fam,
                cases=real["case_id"].n_unique(),
                alerts=a.height,
                alerts_correct=correct["alert_id"].n_unique(),
                cases_hit=hits["case_id"].n_unique(),
                accounts_flagged=len(flagged),
                accounts_correct=len(flagged & real_members),
                cases_hit_by_account=cases_by_account,
                near_miss_cases=near["case_id"].n_unique(),
                near_miss_flagged=near_flagged,
            )
        )
    return out


def evaluate_files(truth: str | Path, alerts: str | Path) -> Evaluation:
    """:func:`evaluate` on ``truth.parquet`` and an ``alerts.parquet``."""
    return evaluate(_read(truth, TRUTH_REQUIRED, "truth"), _read(alerts, ALERTS_REQUIRED, "alerts"))
