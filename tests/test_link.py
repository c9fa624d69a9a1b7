"""``finintel.link`` on a hand-built case: links, networks, scores, handling, pseudonyms."""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from finintel.errors import ConfigError, DataError, ErrorList, UsageError
from finintel.ingest.load import Dataset
from finintel.link import ENTITIES, LINKS, NETWORKS, SCORES, SHARED, link, noisy_or
from finintel.provenance import SourceManifest, strictest
from finintel.pseudonym import Pseudonymiser
from finintel.schema import QUARANTINE
from tests.report import case

KEY = b"shared-key-of-the-joint-team-2025"


def _report(**kw):  # type: ignore[no-untyped-def]
    return link(case.alerts(), dataset=case.dataset(), **kw)


def _by_key(frame: pl.DataFrame, col: str = "key") -> dict[str, dict]:  # type: ignore[type-arg]
    return {r[col]: r for r in frame.iter_rows(named=True)}


def test_schemas_and_sorted_output() -> None:
    r = _report()
    assert dict(r.entities.schema) == ENTITIES
    assert dict(r.links.schema) == LINKS
    assert dict(r.networks.schema) == NETWORKS
    assert dict(r.scores.schema) == SCORES
    assert r.links["link_id"].is_sorted()
    assert r.entities.select("kind", "entity_id").equals(
        r.entities.select("kind", "entity_id").sort("kind", "entity_id")
    )


def test_links_are_the_evidence_transfers_aggregated() -> None:
    r = _report()
    links = {(x["src_key"], x["dst_key"]): x for x in r.links.iter_rows(named=True)}
    assert set(links) == {("A1", "C"), ("A2", "C"), ("C", "D"), ("X", "Y")}  # t6 is no evidence
    a1c = links[("A1", "C")]
    assert (a1c["n_transfers"], a1c["total_base"], a1c["tx_ids"]) == (2, 150.0, ["t1", "t3"])
    assert (a1c["first_ts"], a1c["last_ts"]) == (case.ts(1), case.ts(3))
    # one rule contributes its best alert (fan-in a1 0.5, a3 0.8 → 0.8), not both
    assert (a1c["typologies"], a1c["alert_ids"], a1c["score"]) == (["fan-in"], ["a1", "a3"], 0.8)
    # fan-in 0.5 and pass 0.6: 1 − 0.5 × 0.4
    assert links[("A2", "C")]["score"] == 0.8
    assert links[("C", "D")]["score"] == 0.6
    assert links[("X", "Y")]["score"] == 0.3
    assert r.transfers["tx_id"].to_list() == ["t1", "t2", "t3", "t4", "t5"]
    assert r.transfers["link_id"].null_count() == 0


def test_entity_scores_and_breakdown() -> None:
    r = _report()
    ents = _by_key(r.entities)
    # C: fan-in max(0.5, 0.8) = 0.8, pass 0.6 → 1 − 0.2 × 0.4 = 0.92
    assert ents["C"]["score"] == 0.92
    assert ents["C"]["roles"] == ["collector", "mule"]
    assert ents["A1"]["score"] == 0.8
    assert ents["A2"]["score"] == 0.8  # 1 − 0.5 × 0.4
    assert ents["D"]["score"] == 0.6
    # a party inherits the alerts of the accounts it holds
    assert ents["PA1"]["score"] == 0.8 and ents["PC"]["score"] == 0.92
    assert ents["PA1"]["names"] == ["Ali Hasan", "Ali Hassan"]
    assert {"type": "phone", "value": "phone:+491701234567"} in ents["PA1"]["identifiers"]
    assert {"type": "id_number", "value": "id_number:SY:P123"} in ents["PA1"]["identifiers"]
    assert ents["A1"]["label"] == "Ali Hasan" and ents["X"]["label"] == "X"
    assert ents["A1"]["related"] == [ents["PA1"]["entity_id"]]
    rows = r.scores.filter(pl.col("subject_id") == ents["C"]["entity_id"])
    assert rows.select("typology", "contribution", "n_alerts", "best_alert_id").rows() == [
        ("fan-in", 0.8, 2, "a3"),
        ("pass", 0.6, 1, "a2"),
    ]
    assert '"alert": "a3"' in rows["metrics"][0]


def test_networks_components_roles_and_centrality() -> None:
    r = _report()
    assert r.networks.height == 2
    big, small = r.networks.row(0, named=True), r.networks.row(1, named=True)
    ents = _by_key(r.entities)
    assert big["members"] == sorted(ents[k]["entity_id"] for k in ("A1", "A2", "C", "D"))
    assert big["parties"] == sorted(ents[k]["entity_id"] for k in ("PA1", "PC"))
    assert (big["n_links"], big["n_transfers"], big["total_base"]) == (3, 4, 450.0)
    assert (big["first_ts"], big["last_ts"]) == (case.ts(1), case.ts(4))
    assert big["typologies"] == ["fan-in", "pass"] and big["score"] == 0.92
    # C receives 350 from 2 accounts, sends 100: a collector holding half of the flow
    assert big["key_players"] == [
        {
            "entity_id": ents["C"]["entity_id"],
            "key": "C",
            "role": "collector",
            "in_degree": 2,
            "out_degree": 1,
            "in_base": 350.0,
            "out_base": 100.0,
            "centrality": 0.5,
        }
    ]
    assert ents["A2"]["network_role"] == "participant"
    assert (ents["A1"]["in_degree"], ents["A1"]["out_degree"], ents["A1"]["out_base"]) == (
        0,
        1,
        150.0,
    )
    shares = r.entities.filter(
        pl.col("network_id") == big["network_id"], pl.col("kind") == "account"
    )
    assert shares.height == 4
    assert (small["total_base"], small["score"], small["key_players"]) == (1000.0, 0.3, [])
    assert ents["PC"]["network_id"] == big["network_id"]


def test_handling_is_the_strictest_of_the_sources() -> None:
    r = _report(sources=case.manifest())
    links = {(x["src_key"], x["dst_key"]): x for x in r.links.iter_rows(named=True)}
    assert links[("A1", "C")]["handling"] == "H1"
    assert links[("C", "D")]["handling"] == "H2"
    ents = _by_key(r.entities)
    assert ents["A1"]["handling"] == "H1" and ents["A1"]["sources"] == ["bank"]
    assert ents["C"]["handling"] == "H2"  # alert a2 rests on mto too
    assert r.networks["handling"].to_list() == ["H2", "H2"]
    assert r.meta["handling"] == "H2"
    src = r.sources.row(1, named=True)
    assert (
        src["source"],
        src["agency"],
        src["grade_scheme"],
        src["grade_source"],
        src["grade_information"],
    ) == ("mto", "MTO liaison", "uk-3x5x2", "2", "C")
    assert dict(zip(r.transfers["tx_id"], r.transfers["handling"], strict=False)) == {
        "t1": "H1",
        "t2": "H1",
        "t3": "H1",
        "t4": "H2",
        "t5": "H2",
    }


def test_exclude_handling_leaves_out_everything_resting_on_those_sources() -> None:
    r = _report(sources=case.manifest(), exclude_handling=("h2",))
    assert r.alerts["alert_id"].to_list() == ["a1", "a3"]
    assert sorted(r.links["src_key"] + ">" + r.links["dst_key"]) == ["A1>C", "A2>C"]
    assert set(r.entities["key"]) == {"A1", "A2", "C", "PA1", "PC"}
    every = pl.concat(
        [r.entities.select("sources"), r.links.select("sources"), r.networks.select("sources")]
    )
    assert set(every["sources"].explode().to_list()) == {"bank"}
    assert set(r.entities["handling"]) == {"H1"} and r.meta["excluded_sources"] == ["mto"]
    assert _by_key(r.entities)["C"]["score"] == 0.8  # pass (mto) is gone
    assert r.sources["source"].to_list() == ["bank"]


def test_exclusion_needs_known_codes_and_a_manifest() -> None:
    with pytest.raises(UsageError, match=r"unknown handling code 'H5'") as bad:
        _report(sources=case.manifest(), exclude_handling=("H5",))
    assert bad.value.code == "FI096"
    with pytest.raises(UsageError) as exc:
        _report(exclude_handling=("H2",))
    assert exc.value.code == "FI097"


def test_a_source_missing_from_the_manifest_is_an_error() -> None:
    m = SourceManifest.from_text(
        "sources:\n  - {source: bank, agency: X, handling: H0}\n", "s.yaml"
    )
    with pytest.raises(DataError, match="FI093 source 'mto' is not in the source manifest"):
        _report(sources=m)
    m = SourceManifest.from_text(
        "sources:\n  - {source: bank, agency: X, handling: H0}\ndefault: {agency: unknown, handling: H3}\n"
    )
    assert _report(sources=m).meta["handling"] == "H3"


def test_manifest_errors_have_positions() -> None:
    text = (
        "sources:\n"
        "  - source: bank\n"
        "    agency: X\n"
        "    handling: H5\n"
        "    grade: {scheme: europol, source: D, information: 2}\n"
        "  - source: mto\n"
        "    handlng: H1\n"
    )
    with pytest.raises(ErrorList) as exc:
        SourceManifest.from_text(text, "s.yaml")
    lines = str(exc.value).splitlines()
    assert lines[0].startswith(
        "s.yaml:4:15: FI092 'sources[0].handling' must be one of H0, H1, H2, H3; got 'H5'"
    )
    assert lines[1].startswith("s.yaml:5:38: FI092 grade source 'D' is not in the europol scheme")
    assert any(
        ln.startswith("s.yaml:6:5: FI091 missing required key 'sources[1].agency'") for ln in lines
    )
    assert any(ln.startswith("s.yaml:7:5: FI090 unknown key 'handlng'") for ln in lines)


def test_strictest_order() -> None:
    assert strictest(["H1", "H0"]) == "H1"
    assert strictest(["H3", "H2"]) == "H3"
    assert strictest([None]) is None
    assert noisy_or([0.8, 0.6]) == 0.92


def test_pseudonyms_stable_shared_by_key_different_across_keys() -> None:
    p1 = _report(pseudonymise=Pseudonymiser(KEY))
    p2 = _report(pseudonymise=Pseudonymiser(bytes(KEY)))  # a second agency with the same key
    for a, b in zip(p1.tables().values(), p2.tables().values(), strict=True):
        assert_frame_equal(a, b)
    other = _report(pseudonymise=Pseudonymiser(b"another-agency-key-0000"))
    assert set(p1.entities["entity_id"]).isdisjoint(other.entities["entity_id"])
    assert p1.meta["key_id"] == p2.meta["key_id"] != other.meta["key_id"]
    keys = set(p1.entities["key"])
    assert Pseudonymiser(KEY).value("account", "A1") in keys
    assert Pseudonymiser(KEY).value("party", "PA1") in keys
    # no clear account, party, name or identifier value survives anywhere
    text = "\n".join(str(t.to_dicts()) for t in p1.tables().values())
    for clear in ("'A1'", "PA1", "Ali Hass", "+49170", "P123", "c@example.org"):
        assert clear not in text
    # the numbers are untouched
    clear_r = _report()
    assert sorted(p1.links["score"]) == sorted(clear_r.links["score"])
    assert p1.networks["total_base"].to_list() == clear_r.networks["total_base"].to_list()


def test_short_key_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from finintel.pseudonym import load_key

    (tmp_path / "k").write_bytes(b"short\n")
    with pytest.raises(ConfigError, match="FI094"):
        load_key(tmp_path / "k")
    (tmp_path / "k").write_bytes(KEY + b"\n")
    assert load_key(tmp_path / "k").key == KEY


def test_without_dataset_entities_come_from_alert_roles() -> None:
    r = link(case.alerts())
    assert r.links.height == 0 and r.networks.height == 0
    assert set(r.entities["key"]) == {"A1", "A2", "C", "D", "X", "Y"}
    assert _by_key(r.entities)["C"]["score"] == 0.92


def test_flows_add_traced_transfers_as_facts_without_score() -> None:
    flows = pl.DataFrame({"tx_id": ["t6"], "source": ["bank"]})
    r = link(case.alerts(), flows, dataset=case.dataset())
    a3c = r.links.filter(pl.col("src_key") == "A3").row(0, named=True)
    assert (a3c["n_transfers"], a3c["total_base"], a3c["score"], a3c["typologies"]) == (
        1,
        999.0,
        0.0,
        [],
    )


def test_finintel_link_is_callable_even_after_the_module_was_imported() -> None:
    import finintel
    import finintel.link as module

    r = finintel.link(case.alerts())
    assert r.entities.height == module.link(case.alerts()).entities.height == 6


def test_flows_object_with_unknown_or_other_sources() -> None:
    class Flows:  # the shape of finintel.graph's Flows: a ``flows`` table
        flows = pl.DataFrame({"tx_id": ["t6", "t5"], "source": ["", "bank"]})

    r = link(case.alerts(), Flows(), dataset=case.dataset())
    assert "A3" in set(r.links["src_key"])  # '' matches any source
    assert r.transfers.filter(pl.col("tx_id") == "t5")["source"].to_list() == ["mto"]  # from a4
    with pytest.raises(UsageError, match="FI098"):
        link(case.alerts(), object(), dataset=case.dataset())


def _shared_case() -> pl.DataFrame:
    """The case's parties, with the collector's phone written locally: PA1 (two spellings of
    Ali Hassan) and PC (Carla Collector) share one phone; PA1's address is its own."""
    return case.parties().with_columns(
        pl.when(pl.col("party_id") == "PC")
        .then(pl.lit("0170 1234567"))
        .otherwise(pl.col("phone"))
        .alias("phone"),
        pl.when(pl.col("party_id") == "PA1").then(pl.lit("Hauptstr. 1, Berlin")).alias("address"),
    )


def test_shared_infrastructure_links_parties_under_different_names() -> None:
    ds = Dataset(case.records(), _shared_case(), pl.DataFrame(schema=QUARANTINE))
    r = link(case.alerts(), dataset=ds)
    eid = dict(r.entities.select("key", "entity_id").iter_rows())
    assert dict(r.shared.schema) == SHARED
    # the address has one name: no link; the device (two spellings) and the IP address are
    by_type = {d["type"]: d for d in r.shared.drop("shared_id").to_dicts()}
    assert sorted(by_type) == ["device_id", "ip_address", "phone"]
    for kind, value in (("device_id", "a1b2-c3d4"), ("ip_address", "2001:db8::7")):
        assert by_type[kind] == {
            "type": kind,
            "value": value,
            "n_names": 2,
            "n_parties": 2,
            "names": ["Ali Hassan", "Carla Collector"],  # the device is on one spelling only
            "parties": sorted([eid["PA1"], eid["PC"]]),
            "accounts": sorted([eid["A1"], eid["C"]]),
            "network_ids": [r.entities.filter(pl.col("key") == "C")["network_id"][0]],
            "sources": ["bank"],
            "handling": None,
        }
    row = by_type["phone"]
    assert row == {
        "type": "phone",
        "value": "+491701234567",  # "0170 1234567" of a DE party in E.164
        "n_names": 2,  # Ali Hassan and Ali Hasan are one name
        "n_parties": 2,
        "names": ["Ali Hasan", "Ali Hassan", "Carla Collector"],
        "parties": sorted([eid["PA1"], eid["PC"]]),
        "accounts": sorted([eid["A1"], eid["C"]]),
        "network_ids": [r.entities.filter(pl.col("key") == "C")["network_id"][0]],
        "sources": ["bank"],
        "handling": None,
    }
    assert r.meta["report_counts"]["shared"] == 3
    p = Pseudonymiser(KEY)
    pshared = link(case.alerts(), dataset=ds, pseudonymise=p).shared
    ps = pshared.filter(pl.col("type") == "phone").row(0, named=True)
    assert ps["value"] == p.value("identifier", "phone:+491701234567")
    assert ps["names"] == sorted(p.value("name", n) for n in row["names"])
    assert ps["n_names"] == 2 and ps["parties"] != row["parties"]
