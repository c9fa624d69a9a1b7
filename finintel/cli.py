"""The ``finintel`` command line: thin click commands over the public API.

Exit codes: 0 success; 1 the run could not complete (bad data, rules or profiles; with
``--strict`` also any quarantined row); 2 usage error. ``--json`` prints one JSON object on
stdout; errors go to stderr as one line each (``file:line:col: FIxxx message``), never a
traceback.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

import click

from finintel.errors import EXIT_FAILURE, EXIT_NEW_ALERTS, EXIT_USAGE, FinintelError

F = TypeVar("F", bound=Callable[..., Any])


def _emit_error(err: FinintelError, as_json: bool) -> None:
    errors = getattr(err, "errors", [err])
    if as_json:
        click.echo(json.dumps({"ok": False, "errors": [e.to_dict() for e in errors]}))
    for e in errors:
        click.echo(f"error: {e}", err=True)


def api_call(func: F) -> F:
    """Turn FinintelError into a clean message and its exit code; unexpected errors into exit 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        as_json = bool(kwargs.get("as_json"))
        try:
            return func(*args, **kwargs)
        except FinintelError as err:
            _emit_error(err, as_json)
            sys.exit(err.exit_code)
        except KeyboardInterrupt:
            click.echo("error: interrupted", err=True)
            sys.exit(EXIT_FAILURE)
        except click.exceptions.Exit:
            raise
        except click.ClickException:
            raise
        except Exception as exc:
            click.echo(
                f"error: internal error ({type(exc).__name__}: {exc}); please report it", err=True
            )
            sys.exit(EXIT_FAILURE)

    return wrapper  # type: ignore[return-value]


def json_option(func: F) -> F:
    return click.option(
        "--json", "as_json", is_flag=True, help="Print the summary as one JSON object."
    )(func)


def rules_option(func: F) -> F:
    """``--rules``: the typology folders or files of a run."""
    return click.option(
        "--rules",
        "rules_paths",
        multiple=True,
        default=("rules",),
        show_default=True,
        type=click.Path(),
        help="Rule folder(s) or files; repeatable.",
    )(func)


LOAD_OPTIONS = (
    "profile", "source", "timezone", "fx", "base_currency", "max_fx_staleness", "profiles_dir",
    "strict",
)  # fmt: skip


def load_options(func: F) -> F:
    """Options shared by every command that reads input drops.

    The command receives them as one ``load`` mapping of keyword arguments for
    ``finintel.load`` / ``ingest_to_store`` / ``run`` (``max_fx_staleness`` as a timedelta).
    """

    @functools.wraps(func)
    def bundled(*args: Any, **kwargs: Any) -> Any:
        load = {name: kwargs.pop(name) for name in LOAD_OPTIONS}
        load["max_fx_staleness"] = timedelta(days=load["max_fx_staleness"])
        return func(*args, load=load, **kwargs)

    options = [
        click.option("--profile", help="Source profile name or YAML file (default: recognise by columns)."),
        click.option("--source", help="Who supplied the data (default: <profile>:<file stem>)."),
        click.option("--timezone", help="Zone of naive timestamps, e.g. Europe/Berlin (overrides the profile)."),
        click.option("--fx", "fx", multiple=True, type=click.Path(dir_okay=False),
                     help="Extra FX table CSV (date,currency,rate per 1 EUR); repeatable."),
        click.option("--base-currency", default="EUR", show_default=True, help="Currency of amount_base."),
        click.option("--max-fx-staleness", default=10, show_default=True, type=click.IntRange(0),
                     help="Days an FX rate may be older than the transfer."),
        click.option("--profiles-dir", type=click.Path(file_okay=False),
                     help="Folder of source profiles (default: rules/sources)."),
        click.option("--strict", is_flag=True, help="Fail (exit 1) if any row is quarantined."),
    ]  # fmt: skip
    wrapped: Any = bundled
    for option in reversed(options):
        wrapped = option(wrapped)
    return wrapped  # type: ignore[no-any-return]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="finintel")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Logs on stderr as text or as JSON lines (for cron and log shippers).",
)
@click.option("-v", "--verbose", count=True, help="More logging (quiet by default without a TTY).")
def main(log_format: str, verbose: int) -> None:
    """finintel: find money-laundering and smuggling-finance patterns in bank and MTO drops."""
    from finintel.logs import setup

    setup(log_format, verbose)


def _print_ingest_table(files: list[dict[str, Any]], totals: dict[str, int]) -> None:
    header = f"{'file':<44} {'profile':<22} {'rows_in':>9} {'accepted':>9} {'duplicate':>9} {'quarant.':>9}"
    click.echo(header)
    for f in files:
        click.echo(
            f"{_tail(str(f['file']), 44):<44} {f['profile']!s:<22} {f['rows_in']:>9} "
            f"{f['rows_accepted']:>9} {f['rows_duplicate']:>9} {f['rows_quarantined']:>9}"
        )
    click.echo(
        f"{'total':<44} {'':<22} {totals['rows_in']:>9} {totals['rows_accepted']:>9} "
        f"{totals['rows_duplicate']:>9} {totals['rows_quarantined']:>9}"
    )


class _Progress:
    """Progress bars (per drop, then per typology) shown only on a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None
        self.stages = iter(("drops", "typologies"))

    def __call__(self, done: int, total: int, label: str) -> None:
        if not self.enabled or total == 0:
            return
        if self.bar is None:
            stage = next(self.stages, "")
            self.bar = click.progressbar(length=total, label=stage, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.bar.pos, label or None)
        if done >= total:
            self.bar.__exit__(None, None, None)
            self.bar = None


def _progress(as_json: bool) -> _Progress:
    return _Progress(sys.stderr.isatty() and not as_json)


def _tail(text: str, width: int) -> str:
    return text if len(text) <= width else "…" + text[-(width - 1) :]


@main.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@click.option(
    "--store",
    required=True,
    type=click.Path(file_okay=False),
    help="The store folder (Delta tables).",
)
@load_options
@json_option
@api_call
def ingest(
    inputs: tuple[str, ...],
    store: str,
    load: dict[str, Any],
    as_json: bool,
) -> None:
    """Canonicalise INPUT files/folders into the store (files already ingested are skipped).

    Every file's rows are accounted for: rows_in = accepted + duplicate + quarantined.
    """
    import finintel

    summary = finintel.ingest_to_store(
        list(inputs),
        store,
        **load,
        progress=_progress(as_json),
    )
    data = summary.to_dict()
    if as_json:
        click.echo(json.dumps({"ok": True, **data}, default=str))
        return
    files = data["files"]
    assert isinstance(files, list)
    if files:
        _print_ingest_table(files, summary.totals())
    for name in summary.skipped:
        click.echo(f"skipped (already ingested): {name}")
    q = summary.totals()["rows_quarantined"]
    click.echo(f"store {store} at version {summary.store_version}")
    if q:
        click.echo(f"{q} row(s) quarantined with their reasons: {Path(store) / 'quarantine'}")


@main.command()
@click.option(
    "--out", required=True, type=click.Path(file_okay=False), help="Folder to write the drop into."
)
@click.option(
    "--transfers", "n_transfers", default=50_000, show_default=True, type=click.IntRange(1000)
)
@click.option("--seed", default=7, show_default=True, type=int)
@click.option("--start", default="2025-01-01", show_default=True, help="First day (YYYY-MM-DD).")
@click.option("--days", default=182, show_default=True, type=click.IntRange(7))
@json_option
@api_call
def generate(out: str, n_transfers: int, seed: int, start: str, days: int, as_json: bool) -> None:
    """Write a synthetic drop (bank statement, bank transfer and MTO files) with ground truth."""
    import finintel

    try:
        first = date.fromisoformat(start)
    except ValueError:
        raise click.BadParameter(
            f"{start!r} is not a date like 2025-01-01", param_hint="--start"
        ) from None
    summary = finintel.generate(out, transfers=n_transfers, seed=seed, start=first, days=days)
    data = summary.to_dict()
    if as_json:
        click.echo(json.dumps({"ok": True, **data}, default=str))
        return
    for name, rows in sorted(summary.files.items()):
        click.echo(f"{rows:>10}  {Path(out) / name}")
    click.echo(f"{summary.cases} injected cases in {Path(out) / 'truth.parquet'}")


@main.command("run")
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@rules_option
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False),
    help="Output folder (replaced as a whole).",
)
@click.option(
    "--store",
    type=click.Path(file_okay=False),
    help="Ingest into (and read from) this Delta store; the run holds its lock.",
)
@click.option(
    "--incremental",
    is_flag=True,
    help="Cron mode: ingest only new drops; OUT gets the alerts new or updated since the last run.",
)
@click.option("--as-of", type=click.IntRange(0), help="Rerun against this earlier store version.")
@click.option("--run-id", help="Name the run (default: a hash of the inputs and rules).")
@click.option(
    "--deterministic",
    is_flag=True,
    help="Leave times and durations out of report.json: reruns write identical files.",
)
@click.option(
    "--alert-exit-code",
    is_flag=True,
    help="Exit 3 (instead of 0) when the run found new or updated alerts.",
)
@click.option(
    "--format",
    "formats",
    default="json,parquet,html",
    show_default=True,
    help="Report formats, comma-separated: json, parquet, html, csv, graphml, gexf, ftm, goaml.",
)
@click.option(
    "--sources",
    type=click.Path(dir_okay=False),
    help="Source manifest (YAML): agency, country, handling code and grade per source.",
)
@click.option(
    "--exclude-handling",
    multiple=True,
    help="Leave out everything resting on a source with this handling code (H0-H3); repeatable.",
)
@click.option(
    "--pseudonymise",
    type=click.Path(dir_okay=False),
    help="Key file: replace account, party and identifier values by keyed HMACs.",
)
@click.option(
    "--decisions",
    type=click.Path(dir_okay=False),
    help="Analyst decisions (YAML: same, not_same, split): the run's parties are resolved with "
    "them (group_by: entity, watchlist resolve, the report's persons).",
)
@click.option(
    "--engine",
    type=click.Choice(["polars", "spark"]),
    default="polars",
    show_default=True,
    help="Detect locally (polars) or on Apache Spark (needs finintel[spark] and Java 17+).",
)
@click.option("--spark-master", help="Spark master URL, e.g. local[4], spark://host:7077, yarn.")
@click.option(
    "--spark-shards", type=click.IntRange(1), help="Focus shards (default: 2 × executor cores)."
)
@click.option(
    "--spark-chunk-windows",
    type=click.IntRange(2),
    help="Time-chunk length of graph typologies, in lookbacks [default: 4].",
)
@click.option(
    "--spark-time-buckets",
    type=click.IntRange(1),
    help="Split each focus shard into N time buckets (long histories) [default: 1].",
)
@click.option(
    "--time-chunks",
    metavar="N|auto",
    help="Local engine: detect the history in N time chunks, one after the other, in bounded "
    "memory (the same alerts); 'auto': one chunk per 3M transfers.",
)
@load_options
@json_option
@api_call
def run_command(
    inputs: tuple[str, ...],
    rules_paths: tuple[str, ...],
    out: str,
    store: str | None,
    incremental: bool,
    as_of: int | None,
    run_id: str | None,
    deterministic: bool,
    alert_exit_code: bool,
    formats: str,
    sources: str | None,
    exclude_handling: tuple[str, ...],
    pseudonymise: str | None,
    decisions: str | None,
    engine: str,
    spark_master: str | None,
    spark_shards: int | None,
    spark_chunk_windows: int | None,
    spark_time_buckets: int | None,
    time_chunks: str | None,
    load: dict[str, Any],
    as_json: bool,
) -> None:
    """The whole batch: validate rules, ingest INPUT, detect, write OUT.

    OUT gets report.json, alerts/entities/links/networks.parquet (and the other --format
    files), and quarantine.parquet.
    """
    import finintel

    summary = finintel.run(
        list(inputs),
        list(rules_paths),
        out,
        store=store,
        incremental=incremental,
        as_of=as_of,
        run_id=run_id,
        deterministic=deterministic,
        progress=_progress(as_json),
        **load,
        formats=formats,
        sources=sources,
        exclude_handling=[c for v in exclude_handling for c in v.split(",") if c.strip()],
        pseudonymise=pseudonymise,
        decisions=decisions,
        engine=engine,
        spark_master=spark_master,
        spark_shards=spark_shards,
        spark_chunk_windows=spark_chunk_windows,
        spark_time_buckets=spark_time_buckets,
        time_chunks=time_chunks,
    )
    changed = summary.new_alerts + summary.updated_alerts
    if as_json:
        click.echo(json.dumps({"ok": True, **summary.to_dict()}, default=str))
    else:
        _print_run(summary, out)
    if alert_exit_code and changed:
        sys.exit(EXIT_NEW_ALERTS)


def _print_run(summary: Any, out: str) -> None:
    if summary.inputs:
        _print_ingest_table(summary.inputs, summary.totals)
    for name in summary.skipped:
        click.echo(f"skipped (already ingested): {name}")
    line = f"{summary.alerts} alert(s)"
    if summary.store:
        line += f", {summary.new_alerts} new, {summary.updated_alerts} updated"
        line += f" (store {summary.store} at version {summary.store_version})"
    click.echo(line + ":")
    for typology, n in sorted(summary.alerts_by_typology.items()):
        click.echo(f"  {n:>6}  {typology}")
    h = summary.highlights
    if h:
        click.echo(f"{h['networks']} network(s), {h['links']} link(s), {h['entities']} entities")
        for n in h["top_networks"]:
            click.echo(
                f"  network {n['network_id']}: {n['members']} members, "
                f"{n['total_base']:,.0f} {'EUR'}, score {n['score']:.2f}, {', '.join(n['typologies'])}"
            )
        for link in h["top_links"]:
            click.echo(
                f"  link {link['src']} -> {link['dst']}: {link['transfers']} transfer(s), "
                f"{link['total_base']:,.0f}, score {link['score'] or 0:.2f}"
            )
    main_file = Path(out) / (
        "report.html" if (Path(out) / "report.html").exists() else "report.json"
    )
    click.echo(f"results: {main_file} (tables and the other formats beside it)")


@main.command("watch")
@click.argument("inbox", type=click.Path(file_okay=False))
@click.option("--store", required=True, type=click.Path(file_okay=False), help="The store folder.")
@click.option(
    "--out", required=True, type=click.Path(file_okay=False), help="Output folder of each run."
)
@rules_option
@click.option(
    "--interval",
    default=60.0,
    show_default=True,
    type=click.FloatRange(0.1),
    help="Seconds between looks at the inbox.",
)
@click.option(
    "--max-runs", type=click.IntRange(1), help="Stop after this many runs (default: never)."
)
@click.option(
    "--max-polls", type=click.IntRange(1), help="Stop after this many looks (default: never)."
)
@json_option
@api_call
def watch_command(
    inbox: str,
    store: str,
    out: str,
    rules_paths: tuple[str, ...],
    interval: float,
    max_runs: int | None,
    max_polls: int | None,
    as_json: bool,
) -> None:
    """Poll INBOX and run incrementally whenever files not yet in the store appear.

    With --json, each run's summary is printed as one JSON object per line.
    """
    from finintel.batch import watch

    for summary in watch(inbox, list(rules_paths), out, store=store, interval=interval,
                         max_runs=max_runs, max_polls=max_polls):  # fmt: skip
        if as_json:
            click.echo(json.dumps({"ok": True, **summary.to_dict()}, default=str))
            continue
        click.echo(
            f"{summary.run_id}: {summary.new_alerts} new, {summary.updated_alerts} updated "
            f"alert(s) -> {Path(out) / 'alerts.parquet'}"
        )


@main.command("trace")
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@click.option(
    "--seed", "seeds", multiple=True, required=True, help="Seed account (or party); repeatable."
)
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False),
    help="Output folder (replaced as a whole).",
)
@click.option(
    "--seed-kind", type=click.Choice(["account", "party"]), default="account", show_default=True
)
@click.option(
    "--policy",
    "policies",
    multiple=True,
    help="poison, proportional, fifo or lifo; repeatable or comma-separated (default: all four).",
)
@click.option(
    "--direction", type=click.Choice(["forward", "backward"]), default="forward", show_default=True
)
@click.option("--max-hops", default=4, show_default=True, type=click.IntRange(1))
@click.option("--window", default="30d", show_default=True, help="Overall time window, e.g. 30d.")
@click.option(
    "--max-hop-delay", default="7d", show_default=True, help="Longest stay on an account, e.g. 7d."
)
@click.option(
    "--lookback",
    help="How far back earlier funds count as unknown origin (default: the hop delay).",
)
@click.option("--min-amount", default=0.0, show_default=True, type=click.FloatRange(0))
@click.option("--start", help="Trace money moving from this time on (ISO 8601).")
@click.option(
    "--max-degree",
    default=10_000,
    show_default=True,
    type=click.IntRange(0),
    help="Do not trace through accounts with more transfers (hubs); 0: no cap.",
)
@click.option(
    "--exclude",
    "exclude",
    multiple=True,
    help="An account not to trace through (a clearing account); repeatable.",
)
@click.option(
    "--engine",
    type=click.Choice(["polars", "spark"]),
    default="polars",
    show_default=True,
    help="Expand the frontier locally or on Apache Spark (then trace the reduction locally).",
)
@click.option("--spark-master", help="Spark master URL, e.g. local[4], spark://host:7077, yarn.")
@load_options
@json_option
@api_call
def trace_command(
    inputs: tuple[str, ...],
    seeds: tuple[str, ...],
    out: str,
    seed_kind: str,
    policies: tuple[str, ...],
    direction: str,
    max_hops: int,
    window: str,
    max_hop_delay: str,
    lookback: str | None,
    min_amount: float,
    start: str | None,
    max_degree: int,
    exclude: tuple[str, ...],
    engine: str,
    spark_master: str | None,
    load: dict[str, Any],
    as_json: bool,
) -> None:
    """Follow money from seed accounts, hop by hop in time order, under each tracing policy.

    OUT gets flows.parquet, endpoints.parquet and report.json.
    """
    import finintel

    ds = finintel.load(
        list(inputs),
        **load,
    )
    chosen = [p.strip() for text in policies for p in text.split(",") if p.strip()] or None
    flows = finintel.trace(
        ds,
        list(seeds),
        direction="backward" if direction == "backward" else "forward",
        max_hops=max_hops,
        window=window,
        policy=chosen,
        max_hop_delay=max_hop_delay,
        min_amount=min_amount,
        seed_kind="party" if seed_kind == "party" else "account",
        start=start,
        lookback=lookback,
        max_degree=max_degree or None,
        exclude=list(exclude),
        engine=engine,
        spark_master=spark_master,
    )
    flows.write(out)
    summary = flows.summary()
    if as_json:
        click.echo(json.dumps({"ok": True, "out": out, **summary}, default=str))
        return
    click.echo(json.dumps(summary, indent=2, default=str))
    click.echo(f"results: {Path(out) / 'endpoints.parquet'} (flows.parquet, report.json beside it)")


@main.command("xref")
@click.argument("report_a", type=click.Path(exists=True))
@click.argument("report_b", type=click.Path(exists=True))
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False),
    help="Output folder (replaced as a whole): matches.parquet and matches.json.",
)
@click.option(
    "--min-score", default=0.5, show_default=True, type=click.FloatRange(0, 1),
    help="Least combined score of a kept match.",
)  # fmt: skip
@click.option(
    "--min-name-score", default=0.85, show_default=True, type=click.FloatRange(0, 1),
    help="Least similarity of two plain names.",
)  # fmt: skip
@json_option
@api_call
def xref_command(
    report_a: str, report_b: str, out: str, min_score: float, min_name_score: float, as_json: bool
) -> None:
    """Match the entities of two finintel reports (folders or report.json files): exact on
    (pseudonymised) identifiers, fuzzy on names where present, with scores and reasons."""
    import finintel

    result = finintel.xref(report_a, report_b, min_score=min_score, min_name_score=min_name_score)
    result.write(out)
    if as_json:
        click.echo(json.dumps({"ok": True, "out": out, **result.to_dict()}, default=str))
        return
    counts = result.meta["counts"]
    click.echo(
        f"{counts['matches']} matches between {counts['entities_a']} and "
        f"{counts['entities_b']} entities"
    )
    for m in result.to_dict()["top"]:
        click.echo(f"  {m['score']:.3f}  {m['label_a']}  ~  {m['label_b']}")
    click.echo(f"results: {Path(out) / 'matches.parquet'} (matches.json beside it)")


@main.command("eval")
@click.option(
    "--truth", required=True, type=click.Path(dir_okay=False), help="Ground truth (truth.parquet)."
)
@click.option(
    "--alerts",
    "alerts_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="alerts.parquet of a run.",
)
@json_option
@api_call
def eval_command(truth: str, alerts_path: str, as_json: bool) -> None:
    """Precision and recall per typology family against ground truth (back-testing)."""
    from finintel.backtest import evaluate_files

    result = evaluate_files(truth, alerts_path)
    if as_json:
        click.echo(json.dumps({"ok": True, **result.to_dict()}))
        return
    click.echo(result.table())


@main.command("status")
@click.option("--store", required=True, type=click.Path(file_okay=False), help="The store folder.")
@click.argument("inboxes", nargs=-1, type=click.Path())
@json_option
@api_call
def status_command(store: str, inboxes: tuple[str, ...], as_json: bool) -> None:
    """Show the store's drops and runs, the last outcome, and files of INBOXES not yet ingested."""
    from finintel.batch import status

    data = status(store, list(inboxes)).to_dict()
    if as_json:
        click.echo(json.dumps({"ok": True, **data}, default=str))
        return
    click.echo(f"store {data['store']} at version {data['store_version']}")
    click.echo(
        f"{data['drops']} drop(s), {data['rows']} rows accepted, {data['alerts']} current alert(s)"
    )
    click.echo(f"{data['runs']} run(s); last outcome: {data['last_outcome'] or 'no run yet'}")
    for r in data["recent_runs"]:
        click.echo(f"  {r['started_at']}  {r['run_id']}  {r['outcome']}")
    click.echo(f"{len(data['pending'])} pending file(s)")
    for p in data["pending"]:
        click.echo(f"  {p}")


@main.group()
def rules() -> None:
    """Validate, list and describe typology rule files."""


@rules.command("check")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--fail-on-issues", is_flag=True, help="Also fail (exit 1) on warning-level lint issues."
)
@click.option(
    "--data-resolution",
    help="Time resolution of the data, e.g. 1d for date-only exports: shorter windows are reported.",
)
@json_option
@api_call
def rules_check(
    paths: tuple[str, ...], fail_on_issues: bool, data_resolution: str | None, as_json: bool
) -> None:
    """Validate rule files (default: the rules/ library); exit 1 when any is invalid."""
    from finintel.paths import default_rules_dir
    from finintel.typology.loader import check_rules
    from finintel.yamlpos import parse_duration

    resolution = None
    if data_resolution is not None:
        try:
            resolution = parse_duration(data_resolution)
        except ValueError:
            raise click.BadParameter(
                f"{data_resolution!r} is not a duration like 1d or 1h",
                param_hint="--data-resolution",
            ) from None
    report = check_rules(list(paths) or [default_rules_dir()], data_resolution=resolution)
    errors = [e for err in report.errors for e in getattr(err, "errors", [err])]
    issues = list(report.issues)
    failed = report.failed("warning" if fail_on_issues else "error")
    if as_json:
        click.echo(json.dumps({"ok": not failed, **report.to_dict()}, default=str))
    else:
        for e in errors:
            click.echo(f"error: {e}", err=True)
        for i in issues:
            click.echo(f"{i}", err=True)
        click.echo(
            f"{report.rules} rule(s) checked: {len(errors)} error(s), {len(issues)} issue(s)"
        )
    if failed:
        sys.exit(EXIT_FAILURE)


@rules.command("list")
@click.argument("paths", nargs=-1, type=click.Path())
@json_option
@api_call
def rules_list(paths: tuple[str, ...], as_json: bool) -> None:
    """List the typologies: id, family, severity, title."""
    from finintel.paths import default_rules_dir
    from finintel.typology.loader import load_rules

    ruleset = load_rules(list(paths) or [default_rules_dir()])
    rows = [
        {
            "id": r.id,
            "version": r.version,
            "family": r.family,
            "kind": r.kind,
            "severity": r.severity,
            "title": r.title,
        }
        for r in ruleset.rules
    ]
    if as_json:
        click.echo(json.dumps({"ok": True, "rules": rows}))
        return
    for r in rows:
        click.echo(f"{r['id']:<40} {r['family']:<20} {r['severity']:<9} {r['title']}")


@rules.command("schema")
@json_option
def rules_schema(as_json: bool) -> None:
    """Print the JSON Schema of rule files (for yaml-language-server and other editors).

    With --json it is printed on one line.
    """
    from finintel.typology.jsonschema import rules_json_schema

    click.echo(json.dumps(rules_json_schema(), indent=None if as_json else 2))


def run() -> None:  # pragma: no cover - console entry point alias
    main(standalone_mode=True)


if __name__ == "__main__":  # pragma: no cover
    try:
        main()
    except SystemExit as exc:
        sys.exit(exc.code if isinstance(exc.code, int) else EXIT_USAGE)
