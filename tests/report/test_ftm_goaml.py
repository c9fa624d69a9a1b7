"""FollowTheMoney lines read back and validated by the followthemoney model; goAML XML valid
against finintel's XSD of the goAML subset, with escaping, counts and byte-identical rewrites."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from followthemoney import model
from followthemoney.proxy import EntityProxy
from lxml import etree

from finintel.link import LinkReport, link
from finintel.report import ftm_writer, goaml_writer, parse_formats
from tests.report import case

EVIL = '<img src=x onerror=alert(1)> & "Ölçer" \x01'


def _report(evil: str | None = None, **kw: Any) -> LinkReport:
    return link(
        case.alerts(),
        dataset=case.dataset(evil),
        sources=case.manifest(),
        meta={"run_id": "R-test"},
        **kw,
    )


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _xsd() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(goaml_writer.schema_path())))


# ------------------------------------------------------------------------------------ FtM


def test_ftm_lines_parse_validate_and_resolve(tmp_path: Path) -> None:
    r = _report(EVIL)
    (path,) = r.write(tmp_path, ("ftm",))
    assert path.name == "entities.ftm.json"
    docs = _lines(path)
    ids = [d["id"] for d in docs]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    proxies: dict[str, EntityProxy] = {}
    for d in docs:
        proxy = model.get_proxy(d, cleaned=False)  # re-cleans every value as untrusted input
        assert proxy.to_dict()["properties"] == d["properties"], d["id"]
        assert EntityProxy.from_dict(d).schema.name == d["schema"]
        proxy.schema.validate(d)  # type: ignore[arg-type]  # raises InvalidData on a bad value
        for required in proxy.schema.required:
            assert proxy.get(required), (d["id"], required)
        proxies[d["id"]] = proxy
    # every reference points at an entity of the file, of a schema the property accepts
    for proxy in proxies.values():
        for prop, value in proxy.itervalues():
            if prop.type.name == "entity":
                assert value in proxies, (proxy.id, prop.name)
                assert proxies[value].schema.is_a(prop.range), (proxy.id, prop.name)
    by_schema: dict[str, list[EntityProxy]] = {}
    for p in proxies.values():
        by_schema.setdefault(p.schema.name, []).append(p)
    assert len(by_schema["BankAccount"]) == r.entities.filter(kind="account").height
    assert len(by_schema["Payment"]) == r.transfers.height
    # parties: all name variants and identifiers; the evil name is kept as data
    ali = next(p for p in by_schema["LegalEntity"] if "Ali Hassan" in p.get("name"))
    assert ali.get("name") == ["Ali Hasan", "Ali Hassan"]
    assert ali.get("idNumber") == ["P123"] and ali.get("phone") == ["+491701234567"]
    assert ali.get("country") == ["de"]
    evil = next(p for p in by_schema["LegalEntity"] if p.get("email") == ["c@example.org"])
    assert evil.get("name") == [EVIL.replace("\x01", "").strip()]
    # a payment: the parties and accounts of its transfer, the evidence tx id
    t1 = next(p for p in by_schema["Payment"] if p.get("transactionNumber") == ["t1"])
    assert t1.get("payer") == [ali.id]
    assert t1.get("amount") == ["100.00"] and t1.get("currency") == ["EUR"]
    assert t1.get("date") == ["2025-03-01T12:00:00"] and t1.get("recordId") == ["bank/t1"]
    assert proxies[t1.get("payerAccount")[0]].get("accountNumber") == ["A1"]
    assert proxies[t1.get("beneficiary")[0]].id == evil.id
    # a side without a recorded party gets a placeholder holder owning the account
    t5 = next(p for p in by_schema["Payment"] if p.get("transactionNumber") == ["t5"])
    payer = proxies[t5.get("payer")[0]]
    assert payer.get("name") == ["Unidentified holder of account X"]
    own = [o for o in by_schema["Ownership"] if o.get("owner") == [payer.id]]
    assert [o.get("asset") for o in own] == [t5.get("payerAccount")]


def test_ftm_keeps_assessments_in_notes_only(tmp_path: Path) -> None:
    r = _report()
    (path,) = r.write(tmp_path, ("ftm",))
    docs = _lines(path)
    typologies = {"fan-in", "pass", "corridor"}
    for d in docs:
        for prop, values in d["properties"].items():
            if prop == "notes":
                assert all(v.startswith(ftm_writer.ASSESSMENT_NOTE) for v in values)
                continue
            for v in values:
                assert "score" not in v and not any(t in v for t in typologies), (prop, v)
    notes = [d for d in docs if "notes" in d["properties"]]
    assert {d["schema"] for d in notes} <= {"BankAccount", "LegalEntity"}
    c = next(d for d in docs if d["properties"].get("accountNumber") == ["C"])
    assert "score 0.92" in c["properties"]["notes"][0]
    assert "typologies fan-in, pass" in c["properties"]["notes"][0]
    assert c["properties"]["publisher"] == ["bank", "mto"]
    assert "handling H2" in c["properties"]["description"][0]


def test_ftm_party_kind_and_ibans() -> None:
    r = _report()
    iban = "DE89370400440532013000"
    ents = r.entities.with_columns(
        pl.when(pl.col("key") == "PA1")
        .then(pl.lit("person"))
        .when(pl.col("key") == "PC")
        .then(pl.lit("organisation"))
        .alias("party_kind"),
        pl.when(pl.col("key") == "A1").then(pl.lit(iban)).otherwise("key").alias("key"),
    )
    r2 = LinkReport(**{**r.__dict__, "entities": ents})
    schemas = {p.schema.name for p in ftm_writer.entities(r2)}
    assert {"Person", "Company"} <= schemas
    acc = next(p for p in ftm_writer.entities(r2) if p.get("iban", quiet=True))
    assert acc.get("iban") == [iban] and not acc.get("accountNumber")


def test_ftm_pseudonymised_values_are_listed_not_lost(tmp_path: Path) -> None:
    key = tmp_path / "key"
    key.write_bytes(b"0123456789abcdef0123456789abcdef")
    r = _report(pseudonymise=key)
    docs = _lines(r.write(tmp_path / "out", ("ftm",))[0])
    ali = next(d for d in docs if d["properties"].get("idNumber"))
    assert "phone" not in ali["properties"]  # an HMAC is not a phone number
    assert (
        "phone (not a valid phone) as recorded: identifier:" in ali["properties"]["description"][0]
    )
    for d in docs:
        model.get_proxy(d).schema.validate(d)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------- goAML


def test_goaml_is_valid_escaped_and_counts_transfers(tmp_path: Path) -> None:
    r = _report(EVIL)
    (path,) = r.write(tmp_path, ("goaml",))
    raw = path.read_bytes()
    doc = etree.fromstring(raw)
    xsd = _xsd()
    assert xsd.validate(doc), xsd.error_log
    # special characters escaped by the library, read back as text; control chars replaced
    assert b"<img" not in raw and b"&lt;img src=x onerror=alert(1)&gt; &amp;" in raw
    names = doc.xpath("//t_person/last_name/text()")
    assert any("\ufffd" in n for n in names)
    people = doc.xpath("//to_account/signatory/t_person")
    assert [p.findtext("email") for p in people] == ["c@example.org"] * 3  # t1-t3 to C
    # one transaction per evidence transfer of the suspicious links
    suspicious = r.links.filter(pl.col("n_alerts") > 0)
    txs = doc.findall("transaction")
    assert len(txs) == suspicious["n_transfers"].sum() == 5
    assert [t.findtext("transactionnumber") for t in txs] == ["t1", "t2", "t3", "t4", "t5"]
    t1 = txs[0]
    assert t1.findtext("date_transaction") == "2025-03-01T12:00:00Z"
    assert t1.findtext("amount_local") == "100.00"
    assert t1.findtext("t_from/from_account/account") == "A1"
    assert t1.findtext("t_from/from_account/signatory/t_person/first_name") == "Ali"
    assert t1.findtext("t_from/from_account/signatory/t_person/id_number") == "P123"
    assert t1.findtext("t_to/to_country") == "DE"
    # assessments only in the reason; the header
    reason = doc.findtext("reason")
    assert "fan-in" in reason and "score 0.8" in reason and "fan-in on C" in reason
    for t in txs:
        assert "fan-in" not in etree.tostring(t).decode()
    assert doc.findtext("report_code") == "STR" and doc.findtext("currency_code_local") == "EUR"
    assert doc.findtext("entity_reference") == "R-test"


def test_goaml_foreign_currency_and_trace_only_links() -> None:
    r = _report()
    transfers = r.transfers.with_columns(
        pl.when(pl.col("tx_id") == "t5")
        .then(pl.lit("TRY"))
        .otherwise("currency")
        .alias("currency"),
        pl.when(pl.col("tx_id") == "t5").then(30000.0).otherwise("amount").alias("amount"),
    )
    # a link without alerts (reached by tracing only) is not reported
    links = r.links.with_columns(
        pl.when(pl.col("src_key") == "C").then(0).otherwise("n_alerts").alias("n_alerts")
    )
    doc = etree.fromstring(
        goaml_writer.to_bytes(LinkReport(**{**r.__dict__, "transfers": transfers, "links": links}))
    )
    assert _xsd().validate(doc), _xsd().error_log
    txs = doc.findall("transaction")
    assert [t.findtext("transactionnumber") for t in txs] == ["t1", "t2", "t3", "t5"]
    fx = txs[-1].find("t_from/from_foreign_currency")
    assert fx is not None and fx.findtext("foreign_currency_code") == "TRY"
    assert fx.findtext("foreign_amount") == "30000.00"
    assert fx.findtext("foreign_exchange_rate") == "0.033333"
    assert txs[-1].findtext("amount_local") == "1000.00"


def test_goaml_xsd_rejects_what_it_should() -> None:
    doc = etree.fromstring(goaml_writer.to_bytes(_report()))
    xsd = _xsd()
    bad = etree.fromstring(etree.tostring(doc))
    bad.find("transaction/amount_local").text = "1.5"
    assert not xsd.validate(bad)
    bad = etree.fromstring(etree.tostring(doc))
    bad.find("transaction/date_transaction").text = "2025-03-01T12:00:00"
    assert not xsd.validate(bad)
    bad = etree.fromstring(etree.tostring(doc))
    tx = bad.find("transaction")
    tx.remove(tx.find("t_to"))
    assert not xsd.validate(bad)


def test_empty_report_is_valid() -> None:
    from finintel.schema import ALERTS

    r = link(pl.DataFrame(schema=ALERTS), dataset=case.dataset())
    doc = etree.fromstring(goaml_writer.to_bytes(r))
    assert _xsd().validate(doc), _xsd().error_log
    assert doc.findall("transaction") == []
    assert ftm_writer.entities(r) == []


def test_rewrites_are_byte_identical(tmp_path: Path) -> None:
    a = _report(EVIL).write(tmp_path / "a", ("ftm", "goaml"))
    b = _report(EVIL).write(tmp_path / "b", ("ftm", "goaml"))
    assert [p.name for p in a] == ["entities.ftm.json", "goaml.xml"]
    for x, y in zip(a, b, strict=True):
        assert x.read_bytes() == y.read_bytes(), x.name


def test_formats_registered() -> None:
    assert parse_formats("json,ftm,goaml") == ("json", "ftm", "goaml")


@pytest.mark.slow
def test_demo_end_to_end(tmp_path: Path) -> None:
    import finintel

    root = Path(__file__).resolve().parents[2]
    demo = root / "fixtures" / "demo" / "drop"
    finintel.run(demo, root / "rules", tmp_path / "run")
    alerts = pl.read_parquet(tmp_path / "run" / "alerts.parquet")
    r = link(alerts, dataset=finintel.load(demo))
    ftm, goaml = r.write(tmp_path / "report", ("ftm", "goaml"))
    docs = _lines(ftm)
    ids = {d["id"] for d in docs}
    for d in docs:
        proxy = model.get_proxy(d)
        proxy.schema.validate(d)  # type: ignore[arg-type]
        for prop, value in proxy.itervalues():
            if prop.type.name == "entity":
                assert value in ids
    assert sum(d["schema"] == "Payment" for d in docs) == r.transfers.height
    doc = etree.parse(str(goaml)).getroot()
    assert _xsd().validate(doc), _xsd().error_log
    n = r.links.filter(pl.col("n_alerts") > 0)["n_transfers"].sum()
    assert len(doc.findall("transaction")) == n > 0
