"""``generate``: a seeded synthetic drop (bank statements, credit transfers, MTO orders,
parties) with injected ground-truth cases, written atomically."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from finintel.atomic import atomic_dir
from finintel.errors import UsageError
from finintel.ingest.fx import ecb_rates
from finintel.synth import background as bg
from finintel.synth import cases_bank, cases_graph, cases_mto, devices
from finintel.synth import skeleton as sk
from finintel.synth.casebook import BT, MTO, ST, CaseBook, Ctx
from finintel.synth.fxrates import PEG_TABLE_START, RateBook, peg_rates
from finintel.synth.identities import identity_persons, write_identities
from finintel.synth.output import (
    MTO_COLUMNS,
    STATEMENT_COLUMNS,
    TRANSFER_COLUMNS,
    IdMaker,
    mto_rows,
    statement_rows,
    transfer_rows,
    with_balance,
    write_parties,
    write_slices,
    write_table,
)
from finintel.synth.reference import USD_PEGS
from finintel.synth.thresholds import DEFAULT_THRESHOLDS
from finintel.synth.world import World

PARTIES = "drop/parties.parquet"
#: Rows reserved per complicit-agent case (the injection depends on the realised network).
COMPLICIT_RESERVE = 16


@dataclass
class GenerateSummary:
    """What ``generate`` wrote."""

    out_dir: Path
    files: dict[str, int]  # path relative to out_dir → rows
    cases: int
    truth_rows: int
    seed: int
    transfers: int  # requested
    cases_per_family: dict[str, dict[str, int]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data."""
        d = asdict(self)
        d["out_dir"] = str(self.out_dir)
        return d


def cases_per_family(transfers: int) -> int:
    """Cases per family: 6 at 50k transfers, growing with the square root of the drop size."""
    return max(6, round(6 * math.sqrt(transfers / 50_000)))


def _check(transfers: int, start: date, days: int) -> None:
    """Refuse parameters the generator cannot honour (UsageError FI070, exit code 2)."""
    last = ecb_rates()["date"].max()
    assert isinstance(last, date)
    first_ok = PEG_TABLE_START + timedelta(days=14)
    problem = None
    if transfers < 1_000:
        problem = f"--transfers must be at least 1000 (got {transfers})"
    elif days < 60:
        problem = f"the period must be at least 60 days: cases span up to 40 days (got {days})"
    elif start < first_ok or start + timedelta(days=days - 1) > last:
        problem = (
            f"the period must lie within the FX history, {first_ok} to {last} "
            f"(got {start} + {days} days)"
        )
    if problem is not None:
        raise UsageError("FI070", problem)


def generate(
    out_dir: str | Path,
    transfers: int = 50_000,
    seed: int = 7,
    start: date = date(2025, 1, 1),
    days: int = 182,
) -> GenerateSummary:
    """Write a synthetic drop with ground truth into ``out_dir`` (replaced atomically).

    ``transfers`` is the number of movement rows over the three provider files (within a few
    per mille: complicit-agent injections depend on the realised network, layering chains come
    on top). The same ``seed`` gives byte-identical files. ``identities/`` (entity-resolution
    variants with truth, one person per 10 transfers) comes from its own random stream. Raises
    ``UsageError`` (FI070) for parameters it cannot honour.
    """
    _check(transfers, start, days)
    n_graph = len(cases_graph.BUILDERS) + len(cases_graph.ON_TOP)
    streams = np.random.SeedSequence(seed).spawn(20 + n_graph)
    rng = [np.random.default_rng(s) for s in streams]
    world = World(rng[0], start, days, RateBook(list(sk.CURRENCIES), start, days))
    world.make_agents(rng[1], bg.agent_volumes(round(transfers * 0.38)))

    n = cases_per_family(transfers)
    book = CaseBook()
    ctx = Ctx(world, book, n)
    builders = [
        cases_mto.structuring, cases_bank.fan_in, cases_bank.fan_out, cases_bank.pass_through,
        cases_mto.corridor, cases_bank.funnel_account, cases_mto.agent_hopping,
        cases_mto.many_payout_agents, cases_mto.shared_identifier, cases_mto.smuggling_network,
    ]  # fmt: skip
    for i, build in enumerate(builders):
        build(ctx, rng[5 + i])
    case_rows = sum(book.next_seq.values()) + COMPLICIT_RESERVE * n
    bt_before = book.next_seq[BT]
    for i, build in enumerate(cases_graph.BUILDERS):  # streams 20+ (the first 20 unchanged)
        build(ctx, rng[20 + i])
    # the graph cases are credit transfers: their rows come out of that file's background only
    # (but for the ON_TOP families', added to it)
    graph_rows = book.next_seq[BT] - bt_before
    for i, build in enumerate(cases_graph.ON_TOP, start=20 + len(cases_graph.BUILDERS)):
        build(ctx, rng[i])
    budget = bg.Budget.split(max(0, transfers - case_rows))
    econ = bg.Economy.build(world, rng[17], budget)
    st_bg = bg.statements(world, rng[2], econ, budget.statements)
    bt_bg = bg.transfers(world, rng[3], econ, max(0, budget.transfers - graph_rows))
    mto_bg = bg.mto(world, rng[4], budget.mto)
    cases_mto.complicit_agent(ctx, rng[16], pl.concat([mto_bg, book.frame(MTO, sk.MTO_SCHEMA)]))
    world.finalize()

    def numbered(file: str, background: pl.DataFrame, order: list[str]) -> pl.DataFrame:
        """Case rows and background rows of a file, numbered, in time order."""
        base = book.next_seq[file]
        background = background.with_columns(
            seq=pl.int_range(base, base + background.height, dtype=pl.Int64)
        )
        return pl.concat([book.frame(file, background.schema), background]).sort(order)

    mto = numbered(MTO, mto_bg, ["t_send", "seq"])
    del mto_bg
    median = cases_mto.label_complicit(ctx, mto)
    make = IdMaker(
        salt=int(np.random.default_rng(streams[19]).integers(1, 2**31)),
        device_salt=devices.salt(seed),
    )

    out = Path(out_dir)
    with atomic_dir(out) as tmp:
        # one file at a time, freeing each skeleton once written (bounded memory)
        files: dict[str, int] = {}
        statements = with_balance(numbered(ST, st_bg, ["t", "seq"]), salt=seed)
        del st_bg
        files[ST] = write_slices(tmp / ST, statements,
                                 lambda s: statement_rows(world, s, make, seed), STATEMENT_COLUMNS)  # fmt: skip
        del statements
        transfers_sk = numbered(BT, bt_bg, ["t", "seq"])
        del bt_bg
        files[BT] = write_slices(tmp / BT, transfers_sk,
                                 lambda s: transfer_rows(world, s, make, seed), TRANSFER_COLUMNS)  # fmt: skip
        del transfers_sk
        files[MTO] = write_slices(tmp / MTO, mto, lambda s: mto_rows(world, s, make), MTO_COLUMNS)
        files[PARTIES] = write_parties(tmp / PARTIES, world)
        fx = drop_fx(mto, start, days)
        fx.write_csv(tmp / "fx.csv", date_format="%Y-%m-%d")
        files["fx.csv"] = fx.height
        truth = book.truth(world, make.by_file())
        write_table(tmp / "truth.parquet", truth)
        files["truth.parquet"] = truth.height
        # identity variants with truth (own RNG stream: the files above do not change)
        identity_files = write_identities(tmp, identity_persons(transfers), seed)
        counts = book.counts()
        manifest = {
            "generator": "finintel.synth",
            "seed": seed,
            "transfers_requested": transfers,
            "transfers_written": files[ST] + files[BT] + files[MTO],
            "period": {
                "start": start.isoformat(),
                "end": (start + timedelta(days=days)).isoformat(),
                "end_exclusive": True,
                "days": days,
            },
            "files": dict(sorted(files.items())),
            "cases": counts,
            "truth_rows": truth.height,
            "thresholds": DEFAULT_THRESHOLDS,
            "complicit_agent_median_share": round(median, 6),
            "timestamps": {
                "bank_statements.booking_time": "naive local time, Europe/Berlin",
                "mto.send_time/payout_time": "naive UTC",
                "bank_transfers.settlement_time": "UTC",
            },
            "cash_bookings": (
                "remittance_info 'CASH DEPOSIT <branch code> <city>' or 'CASH WITHDRAWAL <branch "
                "code> <city>'; counterparty_iban is the branch's cash account, counterparty_name "
                "the depositor"
            ),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return GenerateSummary(
        out_dir=out,
        files=dict(sorted({**files, **identity_files}.items())),
        cases=sum(c["cases"] for c in counts.values()),
        truth_rows=truth.height,
        seed=seed,
        transfers=transfers,
        cases_per_family=counts,
    )


def drop_fx(mto: pl.DataFrame, start: date, days: int) -> pl.DataFrame:
    """The peg-table rows for the non-ECB currencies the MTO orders use, over the period
    (with two weeks before it, so that the first days have a rate)."""
    codes = np.union1d(mto["send_ccy"].unique().to_numpy(), mto["payout_ccy"].unique().to_numpy())
    used = sorted(sk.CURRENCIES[int(c)] for c in codes if sk.CURRENCIES[int(c)] in USD_PEGS)
    return peg_rates().filter(
        pl.col("currency").is_in(used),
        pl.col("date") >= start - timedelta(days=14),
        pl.col("date") < start + timedelta(days=days),
    )
