"""Vectorised identifiers: IBANs with valid check digits, control numbers, UUIDs.

Unique ids come from bijections of a running sequence number (``(a * seq + b) mod 10**k`` with
``a`` coprime to ``10**k``), so they look random yet never collide.

>>> iban_check_digits(np.array([list(b"370400440532013000")], dtype=np.uint8), "DE")
array([89])
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl

IntArray = npt.NDArray[np.int64]
U8Matrix = npt.NDArray[np.uint8]

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def _char_values(chars: U8Matrix) -> IntArray:
    """ASCII digits → 0..9, capital letters → 10..35 (the IBAN alphabet)."""
    v = chars.astype(np.int64)
    return np.where(v >= ord("A"), v - ord("A") + 10, v - ord("0"))


def mod97(values: IntArray) -> IntArray:
    """Row-wise remainder mod 97 of the IBAN numeric expansion of a matrix of char values."""
    r = np.zeros(values.shape[0], dtype=np.int64)
    for j in range(values.shape[1]):  # loop over character positions, vectorised over rows
        v = values[:, j]
        r = (r * np.where(v >= 10, 100, 10) + v) % 97
    return r


def iban_check_digits(bban: U8Matrix, country: str) -> IntArray:
    """The two IBAN check digits (ISO 13616 / ISO 7064 mod 97-10) of each BBAN row."""
    tail = np.frombuffer((country + "00").encode(), dtype=np.uint8)
    full = np.concatenate([bban, np.broadcast_to(tail, (bban.shape[0], 4))], axis=1)
    return 98 - mod97(_char_values(full))


def iban_valid(iban: str) -> bool:
    """Plain-Python reference check of an IBAN's mod-97 checksum."""
    s = iban[4:] + iban[:4]
    digits = "".join(str(int(ch, 36)) for ch in s)
    return int(digits) % 97 == 1


def _digits(rng: np.random.Generator, n: int, width: int) -> U8Matrix:
    return rng.integers(ord("0"), ord("9") + 1, size=(n, width), dtype=np.uint8)


def _letters(rng: np.random.Generator, n: int, width: int) -> U8Matrix:
    return rng.integers(ord("A"), ord("Z") + 1, size=(n, width), dtype=np.uint8)


def fill_template(rng: np.random.Generator, template: str, n: int) -> U8Matrix:
    """``n`` random strings (as a uint8 matrix) shaped like ``template`` (n digit, a letter)."""
    out = np.empty((n, len(template)), dtype=np.uint8)
    for j, ch in enumerate(template):
        if ch == "n":
            out[:, j] = _digits(rng, n, 1)[:, 0]
        elif ch == "a":
            out[:, j] = _letters(rng, n, 1)[:, 0]
        else:
            out[:, j] = ord(ch)
    return out


def _national_checks(bban: U8Matrix, country: str) -> None:
    """Fix the national check digits the common validators test (BE, FR, ES), in place."""
    d = bban.astype(np.int64) - ord("0")

    def number(lo: int, hi: int) -> IntArray:
        acc = np.zeros(d.shape[0], dtype=np.int64)
        for j in range(lo, hi):
            acc = acc * 10 + d[:, j]
        return acc

    def put(col: int, width: int, value: IntArray) -> None:
        for k in range(width):
            bban[:, col + k] = (value // 10 ** (width - 1 - k)) % 10 + ord("0")

    if country == "BE":  # last two digits: first ten mod 97 (97 for 0)
        r = number(0, 10) % 97
        put(10, 2, np.where(r == 0, 97, r))
    elif country == "FR":  # RIB key over bank, branch, account
        key = 97 - (89 * number(0, 5) + 15 * number(5, 10) + 3 * number(10, 21)) % 97
        put(21, 2, key)
    elif country == "ES":  # two control digits (bank+branch, account)
        w = np.array([1, 2, 4, 8, 5, 10, 9, 7, 3, 6], dtype=np.int64)

        def ctrl(v: IntArray) -> IntArray:
            c = 11 - (v * w[-v.shape[1] :]).sum(axis=1) % 11
            return np.where(c == 11, 0, np.where(c == 10, 1, c))

        put(8, 1, ctrl(d[:, 0:8]))
        put(9, 1, ctrl(d[:, 10:20]))


def make_ibans(
    rng: np.random.Generator,
    country: str,
    template: str,
    bank_span: tuple[int, int],
    bank_codes: U8Matrix,
) -> pl.Series:
    """One IBAN per row of ``bank_codes`` (the bank code of that account's bank)."""
    n = bank_codes.shape[0]
    bban = fill_template(rng, template, n)
    lo, hi = bank_span
    bban[:, lo:hi] = bank_codes
    _national_checks(bban, country)
    check = iban_check_digits(bban, country)
    text = np.frombuffer(bban.tobytes(), dtype=f"S{bban.shape[1]}").astype(str)
    checks = np.char.zfill(check.astype(str), 2)
    return pl.Series("iban", np.char.add(np.char.add(country, checks), text), dtype=pl.String)


def permuted(seq: IntArray, modulus: int, rng_a: int, rng_b: int) -> IntArray:
    """A bijection of ``0..modulus-1`` (``modulus`` a power of ten): looks random, never collides."""
    a = rng_a | 1
    if a % 5 == 0:
        a += 2
    return (a * (seq % modulus) + rng_b) % modulus


def format_ids(prefix: str, numbers: IntArray, width: int) -> pl.Series:
    """``prefix`` + zero-padded numbers, as a String series."""
    if numbers.shape[0] < 5_000:  # numpy is quicker on small arrays, polars on large ones
        text = np.char.add(prefix, np.char.zfill(numbers.astype(np.int64).astype(str), width))
        return pl.Series("id", text, dtype=pl.String)
    padded = pl.Series("id", numbers.astype(np.int64)).cast(pl.String).str.zfill(width)
    return pl.select(pl.concat_str(pl.lit(prefix), pl.lit(padded))).to_series().alias("id")


def _splitmix(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """The splitmix64 finaliser: a bijection on 64-bit integers."""
    z = x.copy()
    z ^= z >> np.uint64(30)
    z *= np.uint64(0xBF58476D1CE4E5B9)
    z ^= z >> np.uint64(27)
    z *= np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return z & _MASK64


def uuids(seq: IntArray, salt: int) -> pl.Series:
    """Version-4-shaped UUIDs, unique per ``seq`` (the low 64 bits are a bijection of it)."""
    with np.errstate(over="ignore"):
        s = seq.astype(np.uint64) ^ np.uint64(salt & 0xFFFFFFFFFFFFFFFF)
        lo = _splitmix(s)
        hi = _splitmix(lo ^ np.uint64(0x9E3779B97F4A7C15))
    hi = (hi & np.uint64(0xFFFFFFFFFFFF0FFF)) | np.uint64(0x0000000000004000)  # version 4
    lo = (lo & np.uint64(0x3FFFFFFFFFFFFFFF)) | np.uint64(0x8000000000000000)  # variant 10
    raw = np.empty((seq.shape[0], 2), dtype=">u8")
    raw[:, 0] = hi
    raw[:, 1] = lo
    octets = raw.view(np.uint8).reshape(-1, 16)
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    hexes = np.empty((octets.shape[0], 32), dtype=np.uint8)
    hexes[:, 0::2] = digits[octets >> 4]
    hexes[:, 1::2] = digits[octets & 15]
    dash = np.full((octets.shape[0], 1), ord("-"), dtype=np.uint8)
    parts = [hexes[:, 0:8], dash, hexes[:, 8:12], dash, hexes[:, 12:16], dash, hexes[:, 16:20],
             dash, hexes[:, 20:32]]  # fmt: skip
    text = np.ascontiguousarray(np.concatenate(parts, axis=1))
    return pl.Series("uuid", text.view("S36").ravel().astype(str), dtype=pl.String)
