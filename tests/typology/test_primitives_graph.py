"""The graph kinds (cycle, scatter_gather, gather_scatter, bipartite, stack, layering_chain):
hand-built graphs with near misses, the windows/evidence contract, hub caps, and whole rules
(example YAML, written here only) through the loader and the engine."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from finintel.graph.tgraph import GraphCache
from finintel.schema import TRANSFERS
from finintel.typology.engine import detect
from finintel.typology.loader import load_rules
from finintel.typology.primitives.base import REGISTRY, Plan, RunContext
from finintel.typology.primitives.bipartite import Bipartite
from finintel.typology.primitives.cycle import Cycle
from finintel.typology.primitives.gather_scatter import GatherScatter
from finintel.typology.primitives.layering_chain import LayeringChain
from finintel.typology.primitives.scatter_gather import ScatterGather
from finintel.typology.primitives.stack import Stack
from finintel.typology.primitives.windows import as_duration

T0 = datetime(2025, 1, 31, 8, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)
DAY0 = datetime(2025, 2, 3, tzinfo=UTC)  # date-only exports: every ts at midnight

CY, SG, GS, BP, ST, LC = (
    Cycle(),
    ScatterGather(),
    GatherScatter(),
    Bipartite(),
    Stack(),
    LayeringChain(),
)


def tx(tx_id: str, ts: datetime, src: str, dst: str, amount: float) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(TRANSFERS)
    row.update(
        tx_id=tx_id, ts=ts, src_account=src, dst_account=dst, amount=amount, amount_base=amount,
        currency="EUR", channel="bank", source="s", status="completed",
    )  # fmt: skip
    return row


def frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=TRANSFERS, orient="row")


def run(
    prim: Any, rows: list[dict[str, Any]], params: Mapping[str, Any] | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    params = {k: as_duration(v) if k in ("window", "min_hop_delay", "max_dwell") else v
              for k, v in (params or {}).items()}  # fmt: skip
    plan: Plan = prim.plan(frame(rows).lazy(), params, RunContext())
    windows, evidence = pl.collect_all([plan.windows, plan.evidence])
    assert dict(windows.schema) == {
        "focus": pl.String(),
        "start": pl.Datetime("us", "UTC"),
        "end": pl.Datetime("us", "UTC"),
        **prim.metrics(params),
    }
    assert evidence.columns == ["focus", "ts", "tx_id", "source", "account", "role", "amount_base"]
    return windows.filter(prim.condition(params).fill_null(False)), evidence


def roles(evidence: pl.DataFrame, focus: str) -> set[tuple[str, str]]:
    return set(evidence.filter(pl.col("focus") == focus).select("account", "role").rows())


def test_all_graph_kinds_are_registered_with_focus_kinds() -> None:
    for prim in (CY, SG, GS, BP, ST, LC):
        assert type(REGISTRY[prim.kind]) is type(prim)
        assert prim.group_by == ("account",)
        assert prim.lookback({"window": as_duration("7d")}) == 7 * D
    assert CY.focus_kind == "motif" and GS.focus_kind == "account"


# cycle ------------------------------------------------------------------------------------------

ROUND = [tx("1", T0, "b", "c", 1000.0), tx("2", T0 + H, "c", "a", 990.0),
         tx("3", T0 + 2 * H, "a", "b", 985.0), tx("n", T0, "x", "y", 5.0)]  # fmt: skip
BACKWARD = [tx("1", T0 + 2 * H, "b", "c", 1000.0), tx("2", T0 + H, "c", "a", 990.0),
            tx("3", T0, "a", "b", 985.0)]  # fmt: skip


def test_cycle_round_trip_metrics_evidence_and_explanation() -> None:
    windows, evidence = run(CY, ROUND, {"window": "7d"})
    w = windows.row(0, named=True)
    assert windows.height == 1 and w["focus"] == "cycle:a>b>c"
    assert (w["start"], w["end"], w["length"], w["amount"]) == (T0, T0 + 2 * H, 3, 2975.0)
    assert w["min_max_ratio"] == pytest.approx(0.985) and w["span_seconds"] == 7200.0
    assert roles(evidence, "cycle:a>b>c") == {("b", "source"), ("c", "intermediary"),
                                              ("a", "intermediary")}  # fmt: skip
    line = CY.explain(w, {"window": as_duration("7d")}, 2 * H, 2975.0, "EUR")
    assert line == (
        "cycle of 3 accounts (2..4), hops in time order within 2h (< 7d), 2,975 EUR, "
        "amounts within 2%, 100% of a member's turnover"
    )


def test_cycle_flow_shares_count_each_members_business_around_the_cycle() -> None:
    other = [
        tx("o1", T0 + 3 * H, "a", "z", 2025.0),  # a does other business: 1975 of 4000
        tx("o2", T0 - 7 * D - H, "b", "q", 7000.0),  # before start - window: not counted
        tx("o3", T0 + 2 * H + 7 * D, "c", "q", 100.0),  # at end + window (ties included)
        tx("o4", T0 + 2 * H + 7 * D, "c", "w", 50.0),
        tx("o5", T0 - 7 * D, "c", "w", 10.0),  # at start - window
        tx("o6", T0 + 2 * H + 7 * D + H, "c", "w", 999.0),  # after: not counted
    ]
    w = run(CY, ROUND + other, {"window": "7d"})[0].row(0, named=True)
    assert w["flow_share_min"] == pytest.approx(1975 / 4000)
    assert w["flow_share_max"] == 1.0  # b: 1985 of 1985
    # Transfers with accounts left out of the search still count as the members' business.
    no_z = run(CY, ROUND + other, {"window": "7d", "exclude": ["z"]})[0].row(0, named=True)
    assert no_z["flow_share_min"] == pytest.approx(1975 / 4000)
    only_c = run(CY, ROUND + other[1:], {"window": "7d"})[0].row(0, named=True)
    assert only_c["flow_share_min"] == pytest.approx(1990 / 2150)  # c: 1990 of 2150


def test_cycle_backward_in_time_is_a_ring_not_a_round_trip() -> None:
    assert run(CY, BACKWARD, {"window": "7d"})[0].height == 0
    windows, evidence = run(CY, BACKWARD, {"window": "7d", "order": "any"})
    assert windows.get_column("focus").to_list() == ["cycle:a>b>c"]
    assert set(evidence.get_column("role")) == {"member"}


def test_cycle_window_and_tolerance_near_misses() -> None:
    assert run(CY, ROUND, {"window": "2h"})[0].height == 0  # span 2h is not < 2h
    assert run(CY, ROUND, {"window": "3h", "amount_tolerance": 0.005})[0].height == 0
    assert run(CY, ROUND, {"window": "3h", "amount_tolerance": 0.011})[0].height == 1
    assert run(CY, ROUND, {"window": "3h", "max_length": 2})[0].height == 0


def test_cycle_date_only_ties_are_in_order_unless_min_hop_delay() -> None:
    rows = [tx("1", DAY0, "a", "b", 500.0), tx("2", DAY0, "b", "a", 500.0)]
    assert run(CY, rows, {"window": "1d"})[0].height == 1
    assert run(CY, rows, {"window": "1d", "min_hop_delay": "1s"})[0].height == 0
    later = [tx("1", DAY0, "a", "b", 500.0), tx("2", DAY0 + D, "b", "a", 500.0)]
    assert run(CY, later, {"window": "2d", "min_hop_delay": "1s"})[0].height == 1


def test_hub_over_max_degree_is_excluded_and_reported() -> None:
    hub = [tx(f"h{i}", T0 + i * H, f"x{i}", "HUB", 10.0) for i in range(8)]
    ring = [tx("r1", T0, "HUB", "z", 10.0), tx("r2", T0 + H, "z", "HUB", 10.0)]
    assert run(CY, hub + ring, {"window": "7d"})[0].height == 1
    windows, _ = run(CY, hub + ring + ROUND, {"window": "7d", "max_degree": 5})
    assert windows.get_column("focus").to_list() == ["cycle:a>b>c"]
    assert windows.get_column("skipped_accounts").to_list() == [1]
    assert run(CY, ROUND, {"window": "7d", "exclude": ["c"]})[0].height == 0


def test_cycle_validate_rejects_min_over_max() -> None:
    [err] = CY.validate({"min_length": 5, "max_length": 3})
    assert err.code == "FI113" and "exceeds max_length" in err.message


# scatter_gather / gather_scatter ----------------------------------------------------------------


def scatter(gap: timedelta) -> list[dict[str, Any]]:
    rows = []
    for i in range(3):
        rows += [tx(f"s{i}", T0 + i * gap, "S", f"i{i}", 1000.0),
                 tx(f"g{i}", T0 + i * gap + H, f"i{i}", "T", 980.0)]  # fmt: skip
    return rows


def test_scatter_gather_hit_and_spread_beyond_the_window() -> None:
    windows, evidence = run(SG, scatter(2 * H), {"window": "1d"})
    assert windows.height == 1
    w = windows.row(0, named=True)
    assert (w["focus"], w["n_intermediaries"], w["in_amount"], w["out_amount"]) == (
        "sg:S>T", 3, 3000.0, 2940.0)  # fmt: skip
    assert (w["start"], w["end"]) == (T0, T0 + 5 * H)
    assert roles(evidence, "sg:S>T") == {("S", "source"), ("T", "sink"), ("i0", "intermediary"),
                                         ("i1", "intermediary"), ("i2", "intermediary")}  # fmt: skip
    assert run(SG, scatter(D), {"window": "1d"})[0].height == 0
    assert run(SG, scatter(2 * H), {"window": "1d", "amount_tolerance": 0.01})[0].height == 0
    assert "3 intermediaries (≥ 3)" in SG.explain(w, {}, 5 * H, 5940.0, "EUR")


def test_gather_scatter_hub() -> None:
    rows = [tx(f"i{k}", T0 + k * H, f"a{k}", "HUB", 1000.0) for k in range(3)]
    rows += [tx(f"o{k}", T0 + (4 + k) * H, "HUB", f"z{k}", 990.0) for k in range(3)]
    windows, evidence = run(GS, rows, {"window": "1d"})
    assert windows.height == 1
    w = windows.row(0, named=True)
    assert (w["focus"], w["n_sources"], w["n_sinks"], w["start"], w["end"]) == (
        "HUB", 3, 3, T0, T0 + 6 * H)  # fmt: skip
    assert ("a0", "source") in roles(evidence, "HUB") and ("z2", "sink") in roles(evidence, "HUB")
    assert run(GS, rows, {"window": "1d", "amount_tolerance": 0.001})[0].height == 0
    assert run(GS, rows, {"window": "1d", "amount_tolerance": 0.02})[0].height == 1
    early = [r | {"ts": T0 - (10 - i) * H} if r["tx_id"].startswith("o") else r
             for i, r in enumerate(rows)]  # fmt: skip
    assert run(GS, early, {"window": "1d"})[0].height == 0  # outflows before the inflows


def test_run_keeps_evidence_of_alerting_foci_only() -> None:
    """With all the run's transfers (``complete``) evidence is kept only for foci with a
    window meeting the condition; on a time chunk for every focus."""
    rows = [tx(f"i{k}", T0 + k * H, f"a{k}", "HUB", 1000.0) for k in range(3)]
    rows += [tx(f"o{k}", T0 + (4 + k) * H, "HUB", f"z{k}", 990.0) for k in range(3)]
    rows += [tx("i9", T0, "b", "SMALL", 50.0), tx("o9", T0 + H, "SMALL", "c", 50.0)]
    params = {"window": as_duration("1d")}
    foci = []
    for ctx in (RunContext(graphs=GraphCache(), complete=True), RunContext(graphs=GraphCache())):
        plan: Plan = GS.plan(frame(rows).lazy(), params, ctx)
        windows, evidence = pl.collect_all([plan.windows, plan.evidence])
        assert set(windows.get_column("focus")) >= {"HUB", "SMALL"}
        foci.append(sorted(set(evidence.get_column("focus"))))
    assert foci == [["HUB"], ["HUB", "SMALL"]]


# bipartite, stack, layering_chain ------------------------------------------------------------


def test_bipartite_group() -> None:
    rows = [tx(f"{s}{r}", T0 + k * H, s, r, 300.0)
            for k, (s, r) in enumerate((s, r) for s in ("x1", "x2", "x3") for r in ("y1", "y2", "y3"))]  # fmt: skip
    windows, evidence = run(BP, rows, {"window": "1d"})
    assert windows.get_column("focus").to_list() == ["bip:x1,x2,x3>y1,y2,y3"]
    assert windows.row(0, named=True)["n_transfers"] == 9
    assert ("x1", "sender") in roles(evidence, "bip:x1,x2,x3>y1,y2,y3")
    assert run(BP, rows[:-1], {"window": "1d"})[0].height == 0  # one pair missing
    assert run(BP, rows, {"window": "8h"})[0].height == 0  # spread beyond the window


def test_stack_two_layers() -> None:
    rows = []
    for k in range(3):
        rows += [tx(f"a{k}", T0, "S", f"l1_{k}", 1000.0),
                 tx(f"b{k}", T0 + H, f"l1_{k}", f"l2_{k}", 990.0),
                 tx(f"c{k}", T0 + 2 * H, f"l2_{k}", "T", 980.0)]  # fmt: skip
    windows, evidence = run(ST, rows, {"window": "1d", "min_width": 3})
    w = windows.row(0, named=True)
    assert (windows.height, w["focus"], w["layers"], w["width"], w["n_paths"]) == (
        1, "stack:S>T", 2, 3, 3)  # fmt: skip
    assert ("l2_1", "intermediary") in roles(evidence, "stack:S>T")
    assert run(ST, rows, {"window": "1d", "min_width": 4})[0].height == 0
    assert run(ST, rows, {"window": "1d", "max_dwell": "30m"})[0].height == 0


def test_layering_chain_dwell_and_tolerance() -> None:
    rows = [tx(str(k), T0 + k * 2 * H, "abcde"[k], "abcde"[k + 1], 1000.0 - 10 * k)
            for k in range(4)]  # fmt: skip
    windows, evidence = run(LC, rows, {"window": "2d"})
    w = windows.row(0, named=True)
    assert (windows.height, w["focus"], w["hops"], w["max_dwell_seconds"]) == (
        1, "chain:a>b>c>d>e", 4, 7200.0)  # fmt: skip
    assert roles(evidence, "chain:a>b>c>d>e") >= {("a", "source"), ("e", "sink")}
    assert run(LC, rows, {"window": "2d", "max_dwell": "1h"})[0].height == 0
    assert run(LC, rows, {"window": "2d", "amount_tolerance": 0.001})[0].height == 0
    assert run(LC, rows, {"window": "2d", "min_hops": 5})[0].height == 0


def test_empty_input_gives_empty_frames() -> None:
    for prim in (CY, SG, GS, BP, ST, LC):
        windows, evidence = run(prim, [])
        assert windows.height == 0 and evidence.height == 0


# whole rules ----------------------------------------------------------------------------------

RULES = {
    "round-tripping.yaml": """\
id: gen-round-tripping
version: 1
title: Money going round a ring of accounts
family: cycle
severity: high
description: The same money returns to its sender through two to five accounts within 30 days.
pattern:
  kind: cycle
  order: temporal
  max_length: 5
  window: 30d
  amount_tolerance: 0.1
  max_degree: 500
having: "amount >= 1000"
""",
    "circular-invoicing.yaml": """\
id: gen-payment-ring
version: 1
title: Colluding accounts paying each other in a ring
family: cycle
severity: medium
description: Three or more accounts pay each other round a ring within 30 days, in any order.
pattern:
  kind: cycle
  order: any
  min_length: 3
  window: 30d
""",
    "scatter-gather.yaml": """\
id: gen-scatter-gather
version: 1
title: One source, many intermediaries, one sink
family: scatter_gather
severity: high
description: A source pays at least three intermediaries who pass the money on to one sink.
pattern:
  kind: scatter_gather
  min_intermediaries: 3
  window: 7d
  amount_tolerance: 0.05
""",
}


def test_example_rules_through_the_loader_and_the_engine(tmp_path: Path) -> None:
    for name, text in RULES.items():
        (tmp_path / name).write_text(text)
    rules = load_rules(tmp_path)
    alerts = detect(frame(ROUND + BACKWARD_ELSEWHERE + scatter(2 * H)), rules).table
    got = {(a["typology"], a["focus"]) for a in alerts.iter_rows(named=True)}
    assert got == {
        ("gen-round-tripping", "cycle:a>b>c"),
        ("gen-payment-ring", "cycle:a>b>c"),
        ("gen-payment-ring", "cycle:p>q>r"),
        ("gen-scatter-gather", "sg:S>T"),
    }
    rt = alerts.filter(pl.col("typology") == "gen-round-tripping").row(0, named=True)
    assert rt["tx_ids"] == ["1", "2", "3"] and rt["focus_kind"] == "motif"
    assert {"account": "b", "role": "source"} in rt["roles"]
    assert rt["explanation"].startswith("cycle of 3 accounts (2..5), hops in time order within 2h")


MORE_RULES = {
    "gather-scatter.yaml": """\
id: gen-gather-scatter
version: 1
title: Many sources, one hub, many sinks
family: gather_scatter
severity: high
description: At least three senders pay one hub that then pays at least three receivers.
pattern:
  kind: gather_scatter
  window: 2d
  min_sources: 3
  min_sinks: 3
  amount_tolerance: 0.05
""",
    "layering-chain.yaml": """\
id: gen-layering-chain
version: 1
title: Money passed along a chain of accounts
family: layering
severity: medium
description: Four or more hops of similar amounts, each within a day of the previous one.
pattern:
  kind: layering_chain
  min_hops: 4
  max_dwell: 1d
  window: 7d
""",
    "stack.yaml": """\
id: gen-stack
version: 1
title: Layered chains between one source and one sink
family: stack
severity: high
description: Two layers of at least three accounts each pass similar amounts on.
pattern:
  kind: stack
  min_width: 3
  window: 7d
""",
    "bipartite.yaml": """\
id: gen-bipartite
version: 1
title: A group of senders all paying a group of receivers
family: bipartite
severity: medium
description: Three senders each pay all of three receivers within a week.
pattern:
  kind: bipartite
  window: 7d
""",
}


def test_more_example_rules_through_the_engine(tmp_path: Path) -> None:
    for name, text in MORE_RULES.items():
        (tmp_path / name).write_text(text)
    rules = load_rules(tmp_path)
    rows = [tx(f"i{k}", T0 + k * H, f"a{k}", "HUB", 1000.0) for k in range(3)]
    rows += [tx(f"o{k}", T0 + (4 + k) * H, "HUB", f"z{k}", 990.0) for k in range(3)]
    rows += [tx(f"c{k}", T0 + k * 2 * H, "cdefg"[k], "cdefg"[k + 1], 500.0 - k) for k in range(4)]
    for k in range(3):
        rows += [tx(f"sa{k}", T0, "S", f"l1_{k}", 800.0),
                 tx(f"sb{k}", T0 + H, f"l1_{k}", f"l2_{k}", 790.0),
                 tx(f"sc{k}", T0 + 2 * H, f"l2_{k}", "T", 780.0)]  # fmt: skip
    rows += [tx(f"b{s}{r}", T0 + H, f"x{s}", f"y{r}", 50.0) for s in range(3) for r in range(3)]
    alerts = detect(frame(rows), rules).table
    got = {(a["typology"], a["focus"]) for a in alerts.iter_rows(named=True)}
    assert got == {
        ("gen-gather-scatter", "HUB"),
        ("gen-layering-chain", "chain:c>d>e>f>g"),
        ("gen-stack", "stack:S>T"),
        ("gen-bipartite", "bip:x0,x1,x2>y0,y1,y2"),
    }
    hub = alerts.filter(pl.col("typology") == "gen-gather-scatter").row(0, named=True)
    assert {"account": "HUB", "role": "hub"} in hub["roles"] and hub["focus_kind"] == "account"
    assert hub["tx_ids"] == ["i0", "i1", "i2", "o0", "o1", "o2"]


BACKWARD_ELSEWHERE = [tx("p1", T0 + 2 * H, "q", "r", 10.0), tx("p2", T0 + H, "r", "p", 10.0),
                      tx("p3", T0, "p", "q", 10.0)]  # fmt: skip


def test_graph_rules_on_the_same_transfers_share_one_graph(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import finintel.typology.primitives.cycle as cycle_module

    built: list[int] = []
    original = cycle_module.build

    def counting_build(transfers: pl.DataFrame) -> Any:
        built.append(transfers.height)
        return original(transfers)

    monkeypatch.setattr(cycle_module, "build", counting_build)
    for name, text in {**RULES, **MORE_RULES}.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "mto-ring.yaml").write_text(
        RULES["circular-invoicing.yaml"].replace("gen-payment-ring", "gen-mto-ring")
        + "scope:\n  channels: [mto]\n"
    )
    rows = ROUND + BACKWARD_ELSEWHERE + scatter(2 * H)
    alerts = detect(frame(rows), load_rules(tmp_path)).table
    # seven graph rules on all transfers (caps of their own) and one on the (empty) mto scope
    assert sorted(built) == [0, len(rows)]
    got = {(a["typology"], a["focus"]) for a in alerts.iter_rows(named=True)}
    assert got == {
        ("gen-round-tripping", "cycle:a>b>c"),
        ("gen-payment-ring", "cycle:a>b>c"),
        ("gen-payment-ring", "cycle:p>q>r"),
        ("gen-scatter-gather", "sg:S>T"),
    }
