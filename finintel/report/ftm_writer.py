"""``entities.ftm.json``: FollowTheMoney entities (OCCRP Aleph), one JSON object per line.

Built with the ``followthemoney`` library's model, so every property value is cleaned by its
FtM type (countries, phones, emails, dates, numbers, IBANs):

- every **party** → ``LegalEntity`` (``Person`` / ``Company`` when the entities table carries a
  ``party_kind`` of ``person`` / ``organisation``): all recorded name variants as ``name``,
  ``idNumber``, ``phone``, ``email``, ``address``, ``country``;
- every **account** → ``BankAccount``: ``iban`` when the key is a valid IBAN, otherwise
  ``accountNumber`` (MTO customer ids and wallets too), ``country``;
- a party recorded on a transfer as the holder of an account → ``Ownership`` (owner → asset);
- every **resolved person** → ``Person``: the first name variant as ``name``, the others as
  ``alias``, ``idNumber`` / ``phone`` / ``email`` / ``address`` / ``country`` of its parties, the
  merge reasons in ``description``; an ``UnknownLink`` (subject: the person, object: each of its
  parties, ``role`` "same person (resolved by finintel)"); and each merge between two parties of
  the report a ``Similar`` (``candidate`` / ``match``: the two parties, ``matcher``
  ``finintel.resolve``, ``criteria`` the rule and value, ``confidenceScore`` the name similarity
  or 1 for an identifier or analyst decision);
- every **evidence transfer** → ``Payment``: ``payer`` / ``beneficiary`` (the parties recorded
  on the transfer), ``payerAccount`` / ``beneficiaryAccount``, ``amount``, ``currency``,
  ``amountEur`` (when the report's base currency is EUR), ``date`` (UTC), ``transactionNumber``
  and ``summary`` (the evidence tx id), ``recordId`` (``source/tx_id``). FtM requires a payer
  and a beneficiary: when the transfer names no party on a side, that side is the account's
  *unidentified holder*, a ``LegalEntity`` named ``Unidentified holder of account <key>``
  owning the account — a placeholder, not a finding.

Provenance on every entity: ``publisher`` = its finintel sources, ``description`` = the
finintel id and the handling code. Ids are SHA-1 (``followthemoney.util.make_entity_id``) of
``"finintel"`` and the finintel id (entity id, ``source/tx_id`` for payments, party and account
ids for ownerships), so the same report always gives the same ids.

Facts vs assessments: the FtM properties hold facts only. Scores, typologies, network roles
and alert ids are written **only** to the ``notes`` property of the party and account
entities, as one line starting ``finintel assessment (not a fact):`` — Payments and Ownerships
carry none. Values an FtM type refuses (e.g. a pseudonymised phone) are not dropped silently:
they are listed in ``description`` as recorded.

Lines are sorted by id; keys are sorted; each value list is in a fixed order, so the same
report gives the same bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from followthemoney import model
from followthemoney.proxy import EntityProxy
from followthemoney.util import make_entity_id

from finintel.atomic import write_text
from finintel.link import LinkReport
from finintel.report._tables import merge_text

FILE_NAME = "entities.ftm.json"
#: First line of every assessment note (scores, typologies, roles): never a fact.
ASSESSMENT_NOTE = "finintel assessment (not a fact):"
#: ``party_kind`` (when the entities table has it) → FtM schema.
PARTY_SCHEMA: dict[str, str] = {"person": "Person", "organisation": "Company"}
_ID_NUMBER = re.compile(r"^id_number:(?:(?P<country>[A-Z]{2}):)?(?P<number>.+)$", re.DOTALL)
_TYPED = {"phone": "phone", "email": "email", "address": "address"}


def ftm_id(*parts: str) -> str:
    """The FtM id of a finintel item: SHA-1 of ``"finintel"`` and the parts.

    >>> ftm_id("E-abc")
    'a0ebec2cb29cb556ba2549dffd049b8eea43ca6f'
    """
    value = make_entity_id("finintel", *parts)
    assert value is not None  # non-empty parts always give an id
    return value


def _utc(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _add(entity: EntityProxy, prop: str, values: Iterable[Any], refused: list[str]) -> None:
    """Add each value cleaned by the property's FtM type; list the values it refuses."""
    spec = entity.schema.properties[prop]
    for value in values:
        if value is None or value == "":
            continue
        text = str(value)
        cleaned = spec.type.clean(text, format=spec.format, proxy=entity)
        if cleaned is None:
            refused.append(f"{prop} (not a valid {spec.type.name}) as recorded: {text}")
        else:
            entity.add(prop, cleaned, cleaned=True)


def _provenance(entity: EntityProxy, finintel_id: str, row: Mapping[str, Any]) -> list[str]:
    lines = [f"finintel id {finintel_id}"]
    if row.get("handling"):
        lines.append(f"handling {row['handling']} (strictest code of its sources)")
    entity.add("publisher", sorted(row.get("sources") or []))
    return lines


def _assessment(row: Mapping[str, Any]) -> str | None:
    """The entity's assessment as one note, or None when finintel assessed nothing."""
    parts = []
    if row.get("n_alerts"):
        parts.append(f"score {row['score']:.6g} (noisy-OR of its rules)")
        parts.append("typologies " + ", ".join(row.get("typologies") or []))
        parts.append("alerts " + ", ".join(row.get("alert_ids") or []))
    if row.get("roles"):
        parts.append("roles " + ", ".join(row["roles"]))
    if row.get("network_role"):
        parts.append(f"network role {row['network_role']} in {row.get('network_id')}")
    if not parts:
        return None
    return ASSESSMENT_NOTE + " " + "; ".join(parts)


def _iban_ok(value: str) -> bool:
    text = value.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}", text):
        return False
    digits = "".join(str(int(c, 36)) for c in text[4:] + text[:4])
    return int(digits) % 97 == 1


def _identifiers(entity: EntityProxy, row: Mapping[str, Any], refused: list[str]) -> None:
    _add(entity, "country", row.get("countries") or [], refused)
    for ident in row.get("identifiers") or []:
        kind, value = str(ident["type"]), str(ident["value"])
        if kind == "id_number":
            m = _ID_NUMBER.match(value)
            _add(entity, "idNumber", [m.group("number") if m else value], refused)
        elif kind in _TYPED:
            prefix = kind + ":"
            text = value[len(prefix) :] if value.startswith(prefix) else value
            _add(entity, _TYPED[kind], [text], refused)


def _party(row: Mapping[str, Any]) -> EntityProxy:
    schema = PARTY_SCHEMA.get(str(row.get("party_kind") or ""), "LegalEntity")
    entity = model.make_entity(schema)
    entity.id = ftm_id(row["entity_id"])
    refused: list[str] = []
    names = list(row.get("names") or []) or [f"party {row['key']}"]
    _add(entity, "name", names, refused)
    _identifiers(entity, row, refused)
    lines = _provenance(entity, row["entity_id"], row) + refused
    _describe(entity, row, lines)
    return entity


def _describe(entity: EntityProxy, row: Mapping[str, Any], lines: list[str]) -> None:
    """The entity's description (provenance and reasons) and its assessment as notes."""
    entity.add("description", "\n".join(lines))
    note = _assessment(row)
    if note:
        entity.add("notes", note)


def _person(row: Mapping[str, Any], in_report: set[str]) -> list[EntityProxy]:
    """A resolved person, its links to its parties and its merges between report parties."""
    entity = model.make_entity("Person")
    entity.id = ftm_id(row["person_id"])
    refused: list[str] = []
    names = list(row.get("names") or []) or [f"person {row['person_id']}"]
    _add(entity, "name", names[:1], refused)
    _add(entity, "alias", names[1:], refused)
    _identifiers(entity, row, refused)
    merges = list(row.get("merges") or [])
    lines = _provenance(entity, row["person_id"], row)
    lines.append(f"resolved person of {row['n_parties']} parties; merged because:")
    lines += [merge_text(m) for m in merges] + refused
    _describe(entity, row, lines)
    out = [entity]
    for party in row.get("parties") or []:
        link = model.make_entity("UnknownLink")
        link.id = ftm_id("same-person", row["person_id"], party)
        link.add("subject", entity.id)
        link.add("object", ftm_id(party))
        link.add("role", "same person (resolved by finintel)")
        out.append(link)
    for m in merges:
        if m["party_a"] not in in_report or m["party_b"] not in in_report:
            continue  # a party outside the report has no entity here; the person says why
        sim = model.make_entity("Similar")
        sim.id = ftm_id("similar", m["party_a"], m["party_b"], m["rule"])
        sim.add("candidate", ftm_id(m["party_a"]))
        sim.add("match", ftm_id(m["party_b"]))
        sim.add("matcher", "finintel.resolve")
        sim.add("criteria", merge_text(m))
        score = m["name_score"] if m.get("name_score") is not None else 1.0
        sim.add("confidenceScore", f"{score:.6g}")
        out.append(sim)
    return out


def _account(row: Mapping[str, Any]) -> EntityProxy:
    entity = model.make_entity("BankAccount")
    entity.id = ftm_id(row["entity_id"])
    refused: list[str] = []
    key = str(row["key"])
    iban = entity.schema.properties["iban"]
    cleaned = iban.type.clean(key, format=iban.format) if _iban_ok(key) else None
    if cleaned is not None:
        entity.add("iban", cleaned, cleaned=True)
    else:  # MTO customer ids, wallets, card numbers, IBANs that fail the check
        _add(entity, "accountNumber", [key], refused)
    _add(entity, "country", row.get("countries") or [], refused)
    lines = _provenance(entity, row["entity_id"], row) + refused
    _describe(entity, row, lines)
    return entity


def _ownership(owner: str, asset: str, key: str, source_note: str) -> EntityProxy:
    entity = model.make_entity("Ownership")
    entity.id = ftm_id("ownership", owner, asset)
    entity.add("owner", owner)
    entity.add("asset", asset)
    entity.add("role", "account holder")
    entity.add("description", f"holder of account {key} {source_note}")
    return entity


def entities(report: LinkReport) -> list[EntityProxy]:
    """The report as FtM entities, sorted by id."""
    out: dict[str, EntityProxy] = {}
    ents = report.entities.sort("entity_id")
    party_ids: dict[str, str] = {}
    account_ids: dict[str, str] = {}
    account_keys: dict[str, str] = {}
    for row in ents.iter_rows(named=True):
        if row["kind"] == "party":
            proxy = _party(row)
            party_ids[row["key"]] = row["entity_id"]
        else:
            proxy = _account(row)
            account_ids[row["key"]] = row["entity_id"]
            account_keys[row["entity_id"]] = row["key"]
        assert proxy.id is not None
        out[proxy.id] = proxy
    # recorded holders: a party's related accounts (from the transfers)
    for row in ents.filter(kind="party").iter_rows(named=True):
        owner = ftm_id(row["entity_id"])
        for rel in row.get("related") or []:
            if rel in account_keys:
                asset = ftm_id(rel)
                own = _ownership(owner, asset, account_keys[rel], "as recorded on its transfers")
                assert own.id is not None
                out[own.id] = own

    def holder(account: str) -> str:
        """The placeholder holder of an account no party is recorded for on a transfer."""
        account_eid = account_ids[account]
        hid = ftm_id("unidentified-holder", account_eid)
        if hid not in out:
            proxy = model.make_entity("LegalEntity")
            proxy.id = hid
            proxy.add("name", f"Unidentified holder of account {account}")
            proxy.add(
                "description",
                "placeholder: the transfers name no party for this account "
                "(FtM payments need a payer and a beneficiary); not an identified person",
            )
            out[hid] = proxy
            own = _ownership(hid, ftm_id(account_eid), account, "(placeholder)")
            assert own.id is not None
            out[own.id] = own
        return hid

    in_report = set(ents.filter(kind="party")["entity_id"].to_list())
    for row in report.persons.sort("person_id").iter_rows(named=True):
        for proxy in _person(row, in_report):
            assert proxy.id is not None
            out[proxy.id] = proxy

    base = str(report.meta.get("base_currency") or "")
    for row in report.transfers.sort("source", "tx_id").iter_rows(named=True):
        src, dst = row["src_account"], row["dst_account"]
        if src not in account_ids or dst not in account_ids:
            continue  # every evidence transfer has both accounts as entities; be safe
        pay = model.make_entity("Payment")
        pay.id = ftm_id("payment", row["source"], row["tx_id"])
        sides = (("payer", row["src_party"], src), ("beneficiary", row["dst_party"], dst))
        for side, party, account in sides:
            party_eid = party_ids.get(party) if party is not None else None
            pay.add(side, ftm_id(party_eid) if party_eid else holder(account))
            pay.add(side + "Account", ftm_id(account_ids[account]))
        refused: list[str] = []
        _add(pay, "amount", [f"{row['amount']:.2f}"] if row["amount"] is not None else [], refused)
        _add(pay, "currency", [row["currency"]], refused)
        if base == "EUR" and row["amount_base"] is not None:
            _add(pay, "amountEur", [f"{row['amount_base']:.2f}"], refused)
        if row["ts"] is not None:
            pay.add("date", _utc(row["ts"]))
        pay.add("transactionNumber", row["tx_id"])
        pay.add("summary", f"evidence transfer {row['tx_id']}")
        pay.add("recordId", f"{row['source']}/{row['tx_id']}")
        pay.add("publisher", row["source"])
        lines = [
            f"finintel evidence transfer {row['source']}/{row['tx_id']} "
            f"on link {row['link_id']} (channel {row['channel']})"
        ]
        if row.get("handling"):
            lines.append(f"handling {row['handling']}")
        pay.add("description", "\n".join(lines + refused))
        out[pay.id] = pay
    return [out[k] for k in sorted(out)]


def line(entity: EntityProxy) -> str:
    """One entity as a compact JSON line with sorted keys."""
    return json.dumps(entity.to_dict(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def write(report: LinkReport, out_dir: Path) -> list[Path]:
    """Write ``out_dir/entities.ftm.json`` (JSON lines, sorted by id)."""
    target = out_dir / FILE_NAME
    write_text(target, "".join(line(e) + "\n" for e in entities(report)))
    return [target]
