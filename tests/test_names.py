"""Name keys and phone normalisation used to compare recorded identities."""

from __future__ import annotations

import polars as pl
import pytest

from finintel.identifiers import e164
from finintel.names import name_key


def _key(name: str | None) -> str | None:
    return pl.select(name_key(pl.lit(name, dtype=pl.String))).item()


@pytest.mark.parametrize(
    "variants",
    [
        ["Mohammed Ali", "Muhammad Ali", "Mohamed Ali", "MOHAMED  ALI", "Ali Mohammed"],
        ["Aisha Al-Obaidi", "AISHA AL OBAIDI", "Aicha Al Obaidi", "Aïsha al Obaidi"],
        ["Oleksandr Tkachenko", "Olexandr Tkatschenko", "OLEKSANDR TKACHENKO"],
        ["Youssef Ben Salah", "Yusuf Salah", "Yousef bin Salah"],
        ["Ahmed El-Hassan", "Ahmad el Hassan", "Ahmed Hasan"],
        ["Xasan Axmed", "Hassan Ahmed", "HASAN AHMED"],
        ["Cumar Jaamac", "Omar Jama"],
        ["Cabdullahi Cali", "Abdullahi Ali"],
        ["Mehmet Aydın", "Mehmed Aydin", "MEHMET AYDIN"],
        ["Dawit", "Dawid"],
        ["Luwam", "Luam"],
        ["Maxamed", "Mohamed"],
    ],
)
def test_transliteration_variants_share_a_key(variants: list[str]) -> None:
    keys = {_key(v) for v in variants}
    assert len(keys) == 1, keys


@pytest.mark.parametrize(
    ("a", "b"),
    [("Mohammed Ali", "Fatima Ali"), ("Abdi Hassan", "Ion Popescu"), ("Sara Lind", "Karl Muster"),
     ("Aleksandr Petrov", "Sandr Petrov")],
)  # fmt: skip
def test_different_names_differ(a: str, b: str) -> None:
    assert _key(a) != _key(b)


def test_blank_names_have_no_key() -> None:
    assert _key("  - ") is None
    assert _key(None) is None


def test_phones_to_e164_with_the_holders_country() -> None:
    df = pl.DataFrame(
        {
            "phone": [
                "0151 0000001",
                "+49 151 0000001",
                "0049 1510000001",
                "0542 049512",
                "12",
                None,
            ],
            "country": ["DE", None, "FR", "AE", "DE", "DE"],
        }
    )
    assert e164(df, "phone", "country").to_list() == [
        "+491510000001", "+491510000001", "+491510000001", "+971542049512", None, None,
    ]  # fmt: skip


def test_phone_prefilter_keeps_every_number_that_reads_as_a_wanted_one() -> None:
    """``could_be_phone`` is exact: no written form of a wanted number is filtered out
    (checked against the parser on the generator's phones and on awkward forms)."""
    from finintel.identifiers import could_be_phone
    from finintel.synth.identities import identities

    parties = identities(400, seed=5).parties.select("phone", "country")
    awkward = pl.DataFrame(
        {
            "phone": [
                "+44 (0)20 7946 0958",
                "(020) 7946-0958",
                "020.7946.0958 ext. 12",
                "0151 0000001 / 0170 7654321",
                "+39 06 1234 5678",
                "06 12345678",
                "\uff10\uff11\uff15\uff11 0000001",  # full-width digits
                "  +971-54-204-9512  ",
                "00971542049512",
                "tel: 0542 049512",
            ],
            "country": ["GB", "GB", "GB", "DE", None, "IT", "DE", None, "DE", "AE"],
        }
    )
    df = pl.concat([parties, awkward])
    df = df.with_columns(e164(df, "phone", "country").alias("e"))
    read = df.filter(pl.col("e").is_not_null())
    assert read.height > 300 and read.filter(pl.col("phone").str.contains("[^0-9 +]")).height
    wanted = read.get_column("e").unique().to_list()
    kept = df.filter(could_be_phone(pl.col("phone"), wanted))
    assert kept.filter(pl.col("e").is_not_null()).height == read.height
    # and it does filter: one wanted number keeps only its own forms (and unplain text)
    one = df.filter(could_be_phone(pl.col("phone"), ["+442079460958"]))
    plain = one.filter(pl.col("phone").str.contains(r"^\s*\+?[0-9 ().\-]*$"))
    assert set(plain.get_column("e").drop_nulls()) == {"+442079460958"}
    assert one.height < 10


def test_phones_parsed_in_slices_read_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    import finintel.identifiers as identifiers
    from finintel.synth.identities import identities

    parties = identities(300, seed=8).parties.select("phone", "country")
    whole = e164(parties, "phone", "country")
    monkeypatch.setattr(identifiers, "PARSE_BATCH", 7)
    identifiers._parse.cache_clear()
    assert e164(parties, "phone", "country").to_list() == whole.to_list()
    assert whole.drop_nulls().len() > 100
