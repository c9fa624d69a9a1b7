"""``finintel.xref``: match the entities of two link reports (e.g. two agencies' outputs).

Each report is a finintel report folder or its ``report.json`` (``docs/report.schema.json``).
The entities (accounts and parties) of report A are matched with those of report B:

* **exactly on identifiers**: accounts, and the parties' ID numbers, e-mails, phones and
  addresses. Plain values are normalised first (accounts and ID numbers to upper-case letters
  and digits, ID numbers keeping their issuing country, which must not differ when both are
  known; phones to E.164 with the entity's first country as the region; e-mails and addresses
  to lower case with single spaces). Pseudonymised reports (``--pseudonymise``) are compared
  on their pseudonyms, so both must use one key (the same ``key_id``): the values are then
  already equal or not;
* **by name** (entities of one kind): plain names sharing a part of their
  transliteration-tolerant keys are scored with ``rapidfuzz`` (token-sort ratio of the ASCII
  names without particles; at least 0.9 for names with one key, as in the ``watchlist`` kind)
  and kept from ``min_name_score``; pseudonymised names match only when equal (score 1).

Each reason has a weight (:data:`WEIGHTS`; a name contributes ``NAME_WEIGHT`` × its
similarity); a pair's score is the noisy-OR of its reasons, ``1 − Π(1 − w)``, and pairs from
``min_score`` are kept. ``matches`` has one row per pair: ``match_id`` (a digest of the two
entity ids), both entities' ids, kinds, keys and labels, ``score`` and ``reasons`` (each with
its score and the two values compared). :meth:`Xref.write` writes ``matches.parquet`` and
``matches.json`` into a folder, atomically.
"""

from __future__ import annotations

import json
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from rapidfuzz import fuzz
from rapidfuzz.process import cpdist

from finintel.atomic import atomic_dir
from finintel.errors import DataError, Location, UsageError
from finintel.hashing import digest_expr
from finintel.identifiers import e164
from finintel.names import name_key
from finintel.report._tables import jsonable, rows
from finintel.targets import normalise_account, normalise_email
from finintel.typology.primitives.watchlist import KEY_SCORE, plain_name

__all__ = ["MATCHES", "NAME_WEIGHT", "WEIGHTS", "Xref", "read_report", "xref"]

FORMAT = "finintel-xref"
#: The weight of an exact match on each identifier (an ID document or account is decisive,
#: phones and addresses are shared by families and shops).
WEIGHTS: dict[str, float] = {
    "account": 1.0,
    "id_number": 1.0,
    "email": 0.9,
    "phone": 0.7,
    "address": 0.4,
}
#: A name contributes this times its similarity.
NAME_WEIGHT = 0.8
REASON = pl.Struct(
    {"reason": pl.String(), "score": pl.Float64(), "value_a": pl.String(), "value_b": pl.String()}
)
MATCHES: dict[str, pl.DataType] = {
    "match_id": pl.String(),
    "entity_a": pl.String(),
    "entity_b": pl.String(),
    "kind_a": pl.String(),
    "kind_b": pl.String(),
    "key_a": pl.String(),
    "key_b": pl.String(),
    "label_a": pl.String(),
    "label_b": pl.String(),
    "score": pl.Float64(),
    "reasons": pl.List(REASON),
}
_ENTITY = {
    "entity_id": pl.String(),
    "kind": pl.String(),
    "key": pl.String(),
    "label": pl.String(),
    "names": pl.List(pl.String()),
    "identifiers": pl.List(pl.Struct({"type": pl.String(), "value": pl.String()})),
    "countries": pl.List(pl.String()),
}


@dataclass(frozen=True)
class Report:
    """What xref reads of one report: its entities and pseudonymisation."""

    path: str
    entities: pl.DataFrame
    pseudonymised: bool
    key_id: str | None
    run_id: str | None


@dataclass
class Xref:
    """The matches of two reports, with what was compared."""

    matches: pl.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The summary (for ``--json``): the reports, counts and the top matches."""
        return {**self.meta, "top": jsonable(rows(self.matches.head(5).drop("reasons")))}

    def write(self, out_dir: str | Path) -> list[Path]:
        """``matches.parquet`` and ``matches.json`` in ``out_dir`` (replaced as a whole)."""
        out = Path(out_dir)
        with atomic_dir(out) as tmp:
            self.matches.write_parquet(tmp / "matches.parquet")
            doc = {"format": FORMAT, **self.meta, "matches": rows(self.matches)}
            text = json.dumps(jsonable(doc), sort_keys=True, ensure_ascii=False, default=str)
            (tmp / "matches.json").write_text(text + "\n", encoding="utf-8")
        return [out / "matches.parquet", out / "matches.json"]


def read_report(path: str | Path) -> Report:
    """Read a report folder (its ``report.json``) or a ``report.json`` file."""
    p = Path(path)
    file = p / "report.json" if p.is_dir() else p
    try:
        doc = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DataError(
            "FI130", f"cannot read report: {exc.strerror}", Location(str(file))
        ) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError("FI130", f"not a JSON report: {exc}", Location(str(file))) from None
    if not isinstance(doc, dict) or doc.get("format") != "finintel-link-report":
        raise DataError(
            "FI130",
            "not a finintel link report (format 'finintel-link-report')",
            Location(str(file)),
        )
    facts = (doc.get("facts") or {}).get("entities") or []
    entities = pl.DataFrame(
        [{c: e.get(c) for c in _ENTITY} for e in facts], schema=_ENTITY, orient="row"
    )
    run = doc.get("run") or {}
    return Report(
        path=str(file),
        entities=entities,
        pseudonymised=bool(doc.get("pseudonymised")),
        key_id=doc.get("key_id"),
        run_id=run.get("run_id") if isinstance(run, dict) else None,
    )


def _identifiers(report: Report) -> pl.DataFrame:
    """entity_id, type, value (as in the report), key (compared), country (ID issuer)."""
    ent = report.entities
    long = (
        ent.select("entity_id", "countries", "identifiers")
        .explode("identifiers")
        .drop_nulls("identifiers")
        .unnest("identifiers")
        .filter(pl.col("type").is_in(list(WEIGHTS)) & pl.col("value").is_not_null())
        .with_columns(pl.col("countries").list.first().alias("region"))
    )
    if report.pseudonymised:
        return long.select(
            "entity_id",
            "type",
            "value",
            pl.col("value").alias("key"),
            pl.lit(None, pl.String).alias("country"),
        )
    raw = pl.col("value").str.replace(r"^[a-z_]+:", "")  # "phone:+49…" → "+49…"
    long = long.with_columns(raw.alias("raw"))
    id_parts = pl.col("raw").str.extract(r"^([A-Za-z]{2}):(.+)$", 1)
    id_rest = pl.col("raw").str.extract(r"^[A-Za-z]{2}:(.+)$", 1)
    phones = long.filter(pl.col("type") == "phone")
    phone_keys = phones.select("entity_id", "value", e164(phones, "raw", "region").alias("key"))
    others = long.filter(pl.col("type") != "phone").with_columns(
        pl.when(pl.col("type") == "id_number").then(id_parts.str.to_uppercase()).alias("country"),
        pl.when(pl.col("type") == "id_number")
        .then(normalise_account(pl.coalesce(id_rest, pl.col("raw"))))
        .when(pl.col("type") == "account")
        .then(normalise_account(pl.col("raw")))
        .when(pl.col("type") == "email")
        .then(normalise_email(pl.col("raw")))
        .otherwise(
            pl.col("raw")
            .str.to_lowercase()
            .str.replace_all(r"[^\p{L}\p{N}]+", " ")
            .str.strip_chars()
        )
        .alias("key"),
    )
    return pl.concat(
        [
            others.select("entity_id", "type", "value", "key", "country"),
            phone_keys.select(
                "entity_id", pl.lit("phone").alias("type"), "value", "key",
                pl.lit(None, pl.String).alias("country"),
            ),
        ]
    ).filter(pl.col("key").is_not_null() & (pl.col("key") != ""))  # fmt: skip


def _exact(a: Report, b: Report) -> pl.DataFrame:
    ia, ib = _identifiers(a), _identifiers(b)
    joined = ia.join(ib, on=["type", "key"], suffix="_b").filter(
        pl.col("country").is_null() | pl.col("country_b").is_null()
        | (pl.col("country") == pl.col("country_b"))
    )  # fmt: skip
    return joined.select(
        pl.col("entity_id").alias("entity_a"),
        pl.col("entity_id_b").alias("entity_b"),
        pl.col("type").alias("reason"),
        pl.col("type").replace_strict(WEIGHTS, return_dtype=pl.Float64).alias("score"),
        pl.col("value").alias("value_a"),
        pl.col("value_b"),
    )


def _names(report: Report) -> pl.DataFrame:
    return (
        report.entities.select("entity_id", "kind", "names")
        .explode("names")
        .drop_nulls("names")
        .rename({"names": "name"})
    )


def _by_name(a: Report, b: Report, min_name_score: float) -> pl.DataFrame:
    na, nb = _names(a), _names(b)
    out_cols = ["entity_a", "entity_b", "reason", "score", "value_a", "value_b"]
    if a.pseudonymised or b.pseudonymised:
        same = na.join(nb, on=["kind", "name"], suffix="_b")
        return same.select(
            pl.col("entity_id").alias("entity_a"),
            pl.col("entity_id_b").alias("entity_b"),
            pl.lit("name").alias("reason"),
            pl.lit(NAME_WEIGHT).alias("score"),
            pl.col("name").alias("value_a"),
            pl.col("name").alias("value_b"),
        )

    def keyed(frame: pl.DataFrame) -> pl.DataFrame:
        distinct = frame.select("kind", "name").unique()
        return distinct.with_columns(
            plain_name(pl.col("name")).alias("plain"), name_key(pl.col("name")).alias("nkey")
        ).drop_nulls(["plain", "nkey"])

    ka, kb = keyed(na), keyed(nb)
    part = pl.col("nkey").str.split(" ").alias("part")
    cand = (
        ka.with_columns(part)
        .explode("part")
        .join(kb.with_columns(part).explode("part"), on=["kind", "part"], suffix="_b")
        .select("kind", "name", "plain", "nkey", "name_b", "plain_b", "nkey_b")
        .unique()
        .sort("kind", "name", "name_b")
    )
    if cand.is_empty():
        return pl.DataFrame(
            schema={c: pl.Float64() if c == "score" else pl.String() for c in out_cols}
        )
    ratio = cpdist(cand["plain"].to_list(), cand["plain_b"].to_list(), scorer=fuzz.token_sort_ratio)
    sim = pl.Series("sim", np.round(np.asarray(ratio, dtype=np.float64) / 100.0, 3))
    cand = (
        cand.with_columns(sim)
        .with_columns(
            pl.when(pl.col("nkey") == pl.col("nkey_b"))
            .then(pl.max_horizontal("sim", pl.lit(KEY_SCORE)))
            .otherwise("sim")
            .alias("sim")
        )
        .filter(pl.col("sim") >= min_name_score)
    )
    pairs = na.join(cand.select("kind", "name", "name_b", "sim"), on=["kind", "name"]).join(
        nb.rename({"entity_id": "entity_b", "name": "name_b"}), on=["kind", "name_b"]
    )
    best = pairs.sort("entity_id", "entity_b", pl.col("sim"), "name", "name_b",
                      descending=[False, False, True, False, False]).unique(
        ["entity_id", "entity_b"], keep="first", maintain_order=True
    )  # fmt: skip
    return best.select(
        pl.col("entity_id").alias("entity_a"),
        "entity_b",
        pl.format("name {}", pl.col("sim")).alias("reason"),
        (pl.col("sim") * NAME_WEIGHT).round(3).alias("score"),
        pl.col("name").alias("value_a"),
        pl.col("name_b").alias("value_b"),
    )


def xref(
    report_a: str | Path | Report,
    report_b: str | Path | Report,
    *,
    min_score: float = 0.5,
    min_name_score: float = 0.85,
) -> Xref:
    """Match the entities of two reports (see the module docstring)."""
    a = report_a if isinstance(report_a, Report) else read_report(report_a)
    b = report_b if isinstance(report_b, Report) else read_report(report_b)
    if a.pseudonymised != b.pseudonymised or (a.pseudonymised and a.key_id != b.key_id):
        what = (
            "one report is pseudonymised and the other is not"
            if a.pseudonymised != b.pseudonymised
            else f"the reports are pseudonymised with different keys ({a.key_id} / {b.key_id})"
        )
        raise UsageError(
            "FI131", f"{what}: their identifiers cannot be compared; pseudonymise both with one key"
        )
    reasons = pl.concat(
        [
            _exact(a, b),
            _by_name(a, b, min_name_score).cast({"score": pl.Float64}),
        ]
    ).unique()

    def side(r: Report, suffix: str) -> pl.DataFrame:
        cols = r.entities.select("entity_id", "kind", "key", "label")
        return cols.rename(lambda c: f"entity_{suffix}" if c == "entity_id" else f"{c}_{suffix}")

    matches = (
        reasons.sort("entity_a", "entity_b", pl.col("score"), "reason", "value_a", "value_b",
                     descending=[False, False, True, False, False, False])
        .group_by("entity_a", "entity_b", maintain_order=True)
        .agg(
            (1.0 - (1.0 - pl.col("score")).product()).round(6).alias("score"),
            pl.struct("reason", "score", "value_a", "value_b").alias("reasons"),
        )
        .filter(pl.col("score") >= min_score)
        .join(side(a, "a"), on="entity_a")
        .join(side(b, "b"), on="entity_b")
        .with_columns(
            (pl.lit("X-") + digest_expr(pl.col("entity_a") + "|" + pl.col("entity_b"), 20)).alias(
                "match_id"
            )
        )
        .select([pl.col(c).cast(t) for c, t in MATCHES.items()])
        .sort(["score", "match_id"], descending=[True, False])
    )  # fmt: skip
    meta = {
        "report_a": a.path,
        "report_b": b.path,
        "run_a": a.run_id,
        "run_b": b.run_id,
        "pseudonymised": a.pseudonymised,
        "key_id": a.key_id,
        "parameters": {"min_score": min_score, "min_name_score": min_name_score},
        "counts": {
            "entities_a": a.entities.height,
            "entities_b": b.entities.height,
            "matches": matches.height,
            "entities_a_matched": matches["entity_a"].n_unique(),
            "entities_b_matched": matches["entity_b"].n_unique(),
        },
    }
    return Xref(matches, meta)


class _CallableModule(types.ModuleType):
    """``finintel.xref`` is both this module and the function (as ``finintel.link`` is)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Xref:
        return xref(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
