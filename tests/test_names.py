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
