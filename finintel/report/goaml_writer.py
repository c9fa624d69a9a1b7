"""``goaml.xml``: a goAML-style suspicious transaction report (STR).

goAML is the UNODC's reporting system used by many FIUs. This writer uses the element names and
nesting of goAML's public report structure for the subset it writes; ``schemas/goaml.xsd`` is
**finintel's own** reduced schema of that subset (not the official UNODC XSD), and the tests
validate every file against it. The receiving FIU's lookup codes and registration data are not
known to finintel:

- ``rentity_id`` (the reporting entity's registration number) is ``meta["goaml_rentity_id"]``,
  else ``0``; ``reporting_person`` is ``meta["reporting_person"]`` (``first_name``,
  ``last_name``, optional ``email``), else ``UNKNOWN``;
- ``transmode_code`` and ``from_funds_code`` / ``to_funds_code`` are finintel's channel
  (``bank``, ``mto``, ``cash``, ``card``, ``mobile``, ``crypto``, else ``unknown``), to be mapped
  onto the FIU's lookup table; ``institution_name`` is ``UNKNOWN`` (the records do not say
  which institution keeps an account).

Facts vs assessments: each ``<transaction>`` is one evidence transfer (a fact) of a
*suspicious* link — a link with at least one alert; links only reached by flow tracing are left
out. The assessments — typologies, scores and the alerts' explanations — are written only into
the report's ``<reason>``. Entity resolution is an inference, and goAML's ``t_person`` has no
element saying two records are one person: resolved persons whose parties appear on the reported
transactions are listed in ``<reason>`` too, with their name variants and why their records were
merged. ``<action>`` says what the report is. Each transaction carries its
source (``internal_ref_number``), its link and handling code (``transaction_description``).

Sides: ``t_from`` / ``t_to`` (not ``*_my_client``: finintel is not the customer's institution)
with the account, the transfer's currency as the account currency, the party recorded on that
side of the transfer as ``signatory/t_person`` (the last token of its name as ``last_name``, the
rest as ``first_name``, ``UNKNOWN`` for a single name), or as ``t_entity`` when the entities
table carries ``party_kind = organisation``. ``amount_local`` is the amount in the report's base
currency (``currency_code_local``); a transfer in another currency adds
``from_foreign_currency``. Times are UTC (``…Z``). ``submission_date`` is the run's
``finished_at`` / ``started_at`` from the metadata, else (deterministic runs) the time of the
latest reported transfer.

Built with :mod:`xml.etree.ElementTree` (the library escapes every value); characters XML
cannot carry are replaced by U+FFFD. Transactions are sorted by time, source and tx id, so the
same report gives the same bytes.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl

from finintel.atomic import atomic_path
from finintel.link import LinkReport
from finintel.report._tables import merge_text
from finintel.schema import CHANNELS

FILE_NAME = "goaml.xml"
UNKNOWN = "UNKNOWN"
#: Characters XML 1.0 cannot carry (C0 controls other than tab, LF, CR; surrogates; U+FFFE/F).
#: ``id_number:<country>:<number>`` → the number (see finintel.link's identifiers).
_ID_NUMBER = re.compile(r"^id_number:(?:[A-Z]{2}:)?")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def schema_path() -> Path:
    """Where finintel's goAML-subset XSD is installed (package data)."""
    return Path(str(resources.files("finintel.report") / "schemas" / "goaml.xsd"))


def _text(value: Any) -> str:
    return _NOT_XML.sub("\ufffd", str(value))


def _sub(parent: ET.Element, tag: str, value: Any = None) -> ET.Element:
    el = ET.SubElement(parent, tag)
    if value is not None:
        el.text = _text(value)
    return el


def _time(value: Any) -> str:
    """A UTC ``xs:dateTime`` with ``Z`` (microseconds only when present)."""
    ts = datetime.fromisoformat(value) if isinstance(value, str) else value
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    ts = ts.astimezone(UTC)
    text = ts.strftime("%Y-%m-%dT%H:%M:%S")
    if ts.microsecond:
        text += f".{ts.microsecond:06d}"
    return text + "Z"


def _money(value: float) -> str:
    return f"{value:.2f}"


def _channel(value: Any) -> str:
    return value if value in CHANNELS else "unknown"


def _split_name(name: str) -> tuple[str, str]:
    """``"Ali Hassan"`` → (``"Ali"``, ``"Hassan"``); a single name → (``UNKNOWN``, name).

    >>> _split_name("Mohammed Ali al Hassan"), _split_name("Madonna")
    (('Mohammed Ali al', 'Hassan'), ('UNKNOWN', 'Madonna'))
    """
    parts = name.split()
    if len(parts) < 2:
        return UNKNOWN, name.strip() or UNKNOWN
    return " ".join(parts[:-1]), parts[-1]


def _iban(value: str) -> str | None:
    text = value.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}", text):
        return None
    digits = "".join(str(int(c, 36)) for c in text[4:] + text[:4])
    return text if int(digits) % 97 == 1 else None


def _party_el(parent: ET.Element, party: Mapping[str, Any]) -> None:
    """The holder recorded on a side: ``t_entity`` for an organisation, else a signatory."""
    name = party["label"] or party["key"]
    if party.get("party_kind") == "organisation":
        ent = _sub(parent, "t_entity")
        _sub(ent, "name", name)
        return
    person = _sub(_sub(parent, "signatory"), "t_person")
    first, last = _split_name(str(name))
    _sub(person, "first_name", first)
    _sub(person, "last_name", last)
    idents = party.get("identifiers") or []
    numbers = sorted(
        _ID_NUMBER.sub("", str(i["value"])) for i in idents if i["type"] == "id_number"
    )
    if numbers:
        _sub(person, "id_number", numbers[0])
    emails = sorted(str(i["value"]).removeprefix("email:") for i in idents if i["type"] == "email")
    if emails:
        _sub(person, "email", emails[0])


def _side(
    tx: ET.Element,
    prefix: str,
    row: Mapping[str, Any],
    local: str,
    parties: Mapping[str, Mapping[str, Any]],
) -> None:
    side = "src" if prefix == "from" else "dst"
    el = _sub(tx, f"t_{prefix}")
    _sub(el, f"{prefix}_funds_code", _channel(row["channel"]))
    if prefix == "from" and row["currency"] and row["currency"] != local and row["amount"]:
        fx = _sub(el, "from_foreign_currency")
        _sub(fx, "foreign_currency_code", row["currency"])
        _sub(fx, "foreign_amount", _money(row["amount"]))
        base = row["amount_base"] if row["amount_base"] is not None else row["amount"]
        _sub(fx, "foreign_exchange_rate", f"{base / row['amount']:.6f}")
    account = str(row[f"{side}_account"])
    acc = _sub(el, f"{prefix}_account")
    _sub(acc, "institution_name", UNKNOWN)
    _sub(acc, "account", account)
    _sub(acc, "currency_code", row["currency"] or local)
    iban = _iban(account)
    if iban:
        _sub(acc, "iban", iban)
    party = parties.get(row[f"{side}_party"]) if row[f"{side}_party"] is not None else None
    if party is not None:
        _party_el(acc, party)
    if row[f"{side}_country"]:
        _sub(el, f"{prefix}_country", row[f"{side}_country"])


def _persons(report: LinkReport, transfers: pl.DataFrame) -> list[str]:
    """Resolved persons with a party on the reported transfers: variants and merge reasons."""
    keys = pl.concat([transfers["src_party"], transfers["dst_party"]]).drop_nulls().unique()
    ents = report.entities.filter((pl.col("kind") == "party") & pl.col("key").is_in(keys.implode()))
    wanted = set(ents["person_id"].drop_nulls().to_list())
    persons = report.persons.filter(pl.col("person_id").is_in(sorted(wanted)))
    lines = ["Resolved persons (several records of one person; an inference, not a fact):"]
    for row in persons.sort("person_id").iter_rows(named=True):
        lines.append(
            f"- person {row['person_id']}: {row['n_parties']} records, names "
            + "; ".join(row["names"])
            + "; merged because: "
            + "; ".join(merge_text(m) for m in row["merges"])
        )
    return lines if persons.height else []


def _reason(report: LinkReport, suspicious: pl.DataFrame, transfers: pl.DataFrame) -> str:
    meta = report.meta
    lines = [
        "Assessments by finintel (typology hits and scores; not facts). "
        f"Run {meta.get('run_id') or UNKNOWN}; handling {meta.get('handling') or 'none'} "
        "(strictest code of the sources).",
        f"{suspicious.height} suspicious links (account -> account):",
    ]
    for row in suspicious.sort("link_id").iter_rows(named=True):
        lines.append(
            f"- link {row['link_id']} {row['src_key']} -> {row['dst_key']}: "
            f"score {row['score']:.6g}; typologies {', '.join(row['typologies'])}; "
            f"alerts {', '.join(row['alert_ids'])}"
        )
    wanted = set(suspicious["alert_ids"].explode().drop_nulls().to_list())
    alerts = report.alerts.filter(pl.col("alert_id").is_in(sorted(wanted)))
    if alerts.height:
        lines.append("Alerts:")
    for row in alerts.sort("typology", "alert_id").iter_rows(named=True):
        score = "" if row["score"] is None else f" (score {row['score']:.6g})"
        lines.append(
            f"- [{row['typology']}] {row['alert_id']}{score}: {row['explanation'] or ''}".rstrip()
        )
    return "\n".join(lines + _persons(report, transfers))


def _submission(report: LinkReport, transfers: pl.DataFrame) -> str:
    for key in ("finished_at", "started_at"):
        value = report.meta.get(key)
        if value:
            return _time(value)
    if transfers.height:
        return _time(transfers["ts"].max())
    return _time(datetime(1970, 1, 1, tzinfo=UTC))


def document(report: LinkReport) -> ET.Element:
    """The report as an ElementTree ``<report>`` element."""
    meta = report.meta
    local = str(meta.get("base_currency") or "EUR")
    suspicious = report.links.filter(pl.col("n_alerts") > 0)
    transfers = report.transfers.filter(
        pl.col("link_id").is_in(suspicious["link_id"].implode())
    ).sort("ts", "source", "tx_id")
    parties = {
        str(r["key"]): r
        for r in report.entities.filter(pl.col("kind") == "party").iter_rows(named=True)
    }
    root = ET.Element("report")
    _sub(root, "rentity_id", int(meta.get("goaml_rentity_id") or 0))
    _sub(root, "submission_code", "E")
    _sub(root, "report_code", "STR")
    if meta.get("run_id"):
        _sub(root, "entity_reference", meta["run_id"])
    _sub(root, "submission_date", _submission(report, transfers))
    _sub(root, "currency_code_local", local)
    person = meta.get("reporting_person") or {}
    rp = _sub(root, "reporting_person")
    _sub(rp, "first_name", person.get("first_name") or UNKNOWN)
    _sub(rp, "last_name", person.get("last_name") or UNKNOWN)
    if person.get("email"):
        _sub(rp, "email", person["email"])
    _sub(root, "reason", _reason(report, suspicious, transfers))
    _sub(
        root,
        "action",
        f"Reported: the {transfers.height} transfers (facts) of {suspicious.height} suspicious "
        "links found by finintel, for analysis by the receiving FIU. Every transaction names "
        "its source and handling code; respect the handling codes before passing it on.",
    )
    for row in transfers.iter_rows(named=True):
        tx = _sub(root, "transaction")
        _sub(tx, "transactionnumber", row["tx_id"])
        _sub(tx, "internal_ref_number", row["source"])
        _sub(tx, "transaction_location", row["src_country"] or UNKNOWN)
        desc = f"finintel evidence transfer on link {row['link_id']}"
        if row["handling"]:
            desc += f"; handling {row['handling']}"
        _sub(tx, "transaction_description", desc)
        _sub(tx, "date_transaction", _time(row["ts"]))
        _sub(tx, "transmode_code", _channel(row["channel"]))
        base = row["amount_base"] if row["amount_base"] is not None else row["amount"]
        _sub(tx, "amount_local", _money(base))
        _side(tx, "from", row, local, parties)
        _side(tx, "to", row, local, parties)
    return root


def to_bytes(report: LinkReport) -> bytes:
    """The UTF-8 bytes of ``goaml.xml`` (declaration, two-space indent, final newline)."""
    root = document(report)
    ET.indent(root, space="  ")
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data + b"\n"


def write(report: LinkReport, out_dir: Path) -> list[Path]:
    """Write ``out_dir/goaml.xml``."""
    target = out_dir / FILE_NAME
    with atomic_path(target) as tmp:
        tmp.write_bytes(to_bytes(report))
    return [target]
