"""Identifier normalisation: phone numbers to E.164, IP addresses, account keys.

``phonenumbers`` (Google's libphonenumber data) parses local forms with the holder's country as
the region (``0542 049512`` in AE → ``+971542049512``), and ``00`` international prefixes.
Only distinct (phone, country) pairs are parsed, so the cost is per distinct number, not per
row; parses are remembered (up to 2^20 pairs), so the kinds and steps of one run that read the
same parties' phones (``shared_identifier``, ``watchlist``, resolution, cross-references) parse
each number once.

>>> import polars as pl
>>> df = pl.DataFrame({"phone": ["0542 049512", "00971542049512", "+971 542 049512", "n/a"],
...                    "country": ["AE", "DE", None, "AE"]})
>>> e164(df, "phone", "country").to_list()
['+971542049512', '+971542049512', '+971542049512', None]
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from functools import lru_cache

import phonenumbers
import polars as pl

#: Shorter national numbers are service or extension numbers, not a person's phone.
MIN_DIGITS = 6

#: Distinct numbers parsed per slice by :func:`e164`.
PARSE_BATCH = 500_000


@lru_cache(maxsize=1 << 20)  # the rules and link steps of one run parse the same numbers
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
    lookup = distinct.with_columns(e164_rows(distinct, "p", "r").alias("e"))
    return pairs.join(lookup, on=["p", "r"], how="left", nulls_equal=True, maintain_order="left")[
        "e"
    ].alias(phone)


#: A phone number written with digits, blanks, ``().-`` and a leading ``+`` only: its digits
#: end with its national number's (an extension or a second number needs other characters).
_PLAIN_PHONE = r"^\s*\+?[0-9 ().\-]*$"


def could_be_phone(phone: pl.Expr, numbers: Sequence[str]) -> pl.Expr:
    """Whether ``phone`` may read (:func:`e164`) as one of the E.164 ``numbers``: an exact
    filter before parsing. A read number's national part has at least :data:`MIN_DIGITS`
    digits, and a plain written number ends with them, so its last ones must be a number's;
    any other text is kept (it is parsed to be sure).

    >>> df = pl.DataFrame({"p": ["0151 0000001", "+49 151 0000002", "0151 0000001 ext. 9", None]})
    >>> df.select(could_be_phone(pl.col("p"), ["+491510000001"])).to_series().to_list()
    [True, False, True, False]
    """
    tails = sorted({n[-MIN_DIGITS:] for n in numbers})
    text = phone.cast(pl.String)
    digits = text.str.replace_all(r"[^0-9]", "")
    plain = text.str.contains(_PLAIN_PHONE)
    return text.is_not_null() & (~plain | digits.str.slice(-MIN_DIGITS).is_in(tails))


def e164_rows(frame: pl.DataFrame, phone: str, country: str) -> pl.Series:
    """:func:`e164` of each row of ``frame`` as it is (no de-duplication: for rows already
    distinct, e.g. the distinct numbers of a large table, which need no join back)."""
    # parsed a slice at a time: tens of millions of numbers as Python strings at once would
    # take several times the memory of the column they become
    pairs = frame.select(pl.col(phone).cast(pl.String), pl.col(country).cast(pl.String))
    parsed = [
        pl.Series(phone, [_parse(p, r) if p is not None else None for p, r in part.iter_rows()])
        for part in pairs.iter_slices(PARSE_BATCH)
    ]
    found = pl.concat(parsed) if parsed else pl.Series(phone, [], dtype=pl.String)
    return found.cast(pl.String)


def ip_text(text: str) -> str | None:
    """The normal text of an IP address (stdlib :mod:`ipaddress`), or None when it is not one.

    IPv6 is written compressed in lower case; an IPv4-mapped IPv6 address is its IPv4 address;
    a port or brackets around an IPv6 address are dropped.

    >>> ip_text(" 192.168.001.10 "), ip_text("2001:DB8:0:0:0:0:0:1"), ip_text("[::ffff:10.0.0.1]:443")
    (None, '2001:db8::1', '10.0.0.1')
    >>> ip_text("10.0.0.7:8080"), ip_text("300.1.1.1"), ip_text("n/a")
    ('10.0.0.7', None, None)
    """
    value = text.strip()
    if value.startswith("["):
        value = value[1:].split("]", 1)[0]
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return address.compressed


#: An IPv4 address already in its normal text (no blanks, no leading zeros): it is its own
#: :func:`ip_text`.
_PLAIN_IPV4 = r"^(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$"


def ip_addresses(values: pl.Series) -> pl.Series:
    """:func:`ip_text` of each value (null stays null): plain IPv4 addresses are recognised
    in polars, every other distinct value goes through :func:`ip_text` once."""
    plain = values.str.contains(_PLAIN_IPV4).fill_null(False)
    others = values.filter(~plain).drop_nulls().unique().to_list()
    lookup = {v: ip_text(v) for v in others}
    converted = values.replace_strict(lookup, default=None, return_dtype=pl.String)
    return values.zip_with(plain, converted).alias(values.name)


_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _bech32_ok(text: str) -> bool:
    """A Bitcoin segwit address (``bc1…``) with a valid bech32 / bech32m checksum."""
    hrp, _, data = text.rpartition("1")
    if hrp != "bc" or len(data) < 6 or any(c not in _BECH32 for c in data):
        return False
    values = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    values += [_BECH32.index(c) for c in data]
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i, g in enumerate((0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)):
            chk ^= g if (top >> i) & 1 else 0
    return chk in (1, 0x2BC830A3)


def _base58_ok(text: str) -> bool:
    """A legacy Bitcoin address (``1…`` / ``3…``) with a valid base58check checksum."""
    import hashlib

    if not 25 <= len(text) <= 35 or text[0] not in "13" or any(c not in _BASE58 for c in text):
        return False
    n = 0
    for c in text:
        n = n * 58 + _BASE58.index(c)
    raw = n.to_bytes(25, "big")
    return hashlib.sha256(hashlib.sha256(raw[:-4]).digest()).digest()[:4] == raw[-4:]


def account_key(account: str) -> str | None:
    """The strong-identifier key of an account number: ``iban:…`` for an IBAN whose check
    digits and national format are valid (``python-stdnum``), ``wallet:…`` for an Ethereum
    address or a Bitcoin address with a valid checksum; None for anything else (MTO customer
    ids, card numbers, mistyped IBANs), which never links parties.

    >>> account_key("de89 3704 0044 0532 0130 00"), account_key("DE88370400440532013000")
    ('iban:DE89370400440532013000', None)
    >>> account_key("0x52908400098527886E0F7030069857D2E4169EE7")
    'wallet:0x52908400098527886e0f7030069857d2e4169ee7'
    >>> account_key("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"), account_key("MTO123")
    ('wallet:bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq', None)
    """
    from stdnum import iban

    text = "".join(account.split())
    if iban.is_valid(text):
        return "iban:" + iban.compact(text)
    low = text.lower()
    if len(low) == 42 and low.startswith("0x") and all(c in "0123456789abcdef" for c in low[2:]):
        return "wallet:" + low
    if low.startswith("bc1") and (text == low or text == text.upper()) and _bech32_ok(low):
        return "wallet:" + low
    if _base58_ok(text):
        return "wallet:" + text
    return None


def account_keys(accounts: pl.Series) -> pl.Series:
    """:func:`account_key` of each value (computed once per distinct value)."""
    distinct = accounts.drop_nulls().unique()
    lookup = dict(
        zip(distinct.to_list(), [account_key(a) for a in distinct.to_list()], strict=True)
    )
    return accounts.replace_strict(lookup, default=None, return_dtype=pl.String)
