"""Identifier normalisation that needs reference data: phone numbers to E.164.

``phonenumbers`` (Google's libphonenumber data) parses local forms with the holder's country as
the region (``0542 049512`` in AE → ``+971542049512``), and ``00`` international prefixes.
Only distinct (phone, country) pairs are parsed, so the cost is per distinct number, not per
row.

>>> import polars as pl
>>> df = pl.DataFrame({"phone": ["0542 049512", "00971542049512", "+971 542 049512", "n/a"],
...                    "country": ["AE", "DE", None, "AE"]})
>>> e164(df, "phone", "country").to_list()
['+971542049512', '+971542049512', '+971542049512', None]
"""

from __future__ import annotations

import phonenumbers
import polars as pl

#: Shorter national numbers are service or extension numbers, not a person's phone.
MIN_DIGITS = 6


def _parse(phone: str, region: str | None) -> str | None:
    text = phone.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region if region else None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number) or len(str(number.national_number)) < MIN_DIGITS:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def e164(frame: pl.DataFrame, phone: str, country: str | None = None) -> pl.Series:
    """The E.164 form of ``frame[phone]`` (null when it cannot be read), region from ``country``."""
    region = pl.col(country) if country else pl.lit(None, pl.String)
    pairs = frame.select(
        pl.col(phone).cast(pl.String).alias("p"), region.cast(pl.String).alias("r")
    )
    distinct = pairs.filter(pl.col("p").is_not_null()).unique()
    parsed = [_parse(p, r) for p, r in distinct.iter_rows()]
    lookup = distinct.with_columns(pl.Series("e", parsed, dtype=pl.String))
    return pairs.join(lookup, on=["p", "r"], how="left", nulls_equal=True, maintain_order="left")[
        "e"
    ].alias(phone)
