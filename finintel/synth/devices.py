"""The device and IP address an MTO order was initiated from (``sender_device_id``, ``sender_ip``).

Recorded for orders sent online or in the app: each such sender has one device and one home
connection (a few written as full upper-case IPv6, as some exports do); some of their orders
come through one of a few public networks (a station Wi-Fi, a carrier-grade NAT) that many
unrelated senders share — the innocent sharing a rule must not take for evidence. Orders a
smuggling facilitator pre-staged (skeleton ``s_device``) carry the facilitator's device and
IP address, whatever their channel.

Every value is a hash of the customer, the order or the facilitator code with a salt of its own
random stream (:func:`salt`), so adding these columns changes no other value of the drop.
"""

from __future__ import annotations

import numpy as np
import polars as pl

#: The seed stream of the device salt (after the drop's, the identities' streams).
STREAM = 0xD3F1CE
#: Public networks used by many unrelated senders (a station Wi-Fi, mobile carriers' NAT).
PUBLIC_IPS: tuple[str, ...] = ("100.64.18.7", "100.72.3.41", "185.52.113.9")
#: Share (percent) of an online sender's orders sent through a public network.
PUBLIC_PERCENT = 15
_FIRST_OCTETS = (31, 37, 46, 62, 77, 78, 79, 80, 81, 82, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93,
                 94, 95, 109, 151, 176, 178, 188, 212, 213, 217)  # fmt: skip
_FACILITATOR = 1 << 40  # facilitator codes hash apart from customer indexes


def salt(seed: int) -> int:
    """The salt of the device columns: a random stream of its own."""
    return int(np.random.default_rng(np.random.SeedSequence([seed, STREAM])).integers(1, 2**31))


def _h(values: pl.Expr, salt: int) -> pl.Expr:
    return (values.cast(pl.UInt64) * 0x9E3779B97F4A7C15 + salt).hash(seed=salt)


def _hex(h: pl.Expr, digits: int, alphabet: str = "0123456789abcdef") -> pl.Expr:
    """The low ``digits`` hexadecimal digits of ``h``."""
    return pl.concat_str(
        [
            ((h // (16**k)) % 16).replace_strict(
                list(range(16)), list(alphabet), return_dtype=pl.String
            )
            for k in reversed(range(digits))
        ]
    )


def _device(key: pl.Expr, salt: int) -> pl.Expr:
    """A 16-hex-digit device id (an Android id's form)."""
    return _hex(_h(key, salt), 16)


def _ipv4(key: pl.Expr, salt: int) -> pl.Expr:
    h = _h(key, salt + 1)
    first = (h % len(_FIRST_OCTETS)).replace_strict(
        list(range(len(_FIRST_OCTETS))), list(map(str, _FIRST_OCTETS)), return_dtype=pl.String
    )
    octets = [((h // (256**k)) % 254 + 1).cast(pl.String) for k in (1, 2, 3)]
    return pl.concat_str([first, *octets], separator=".")


def _ipv6(key: pl.Expr, salt: int) -> pl.Expr:
    """A home IPv6 address written in full, in capitals (``2A02:8108:…:0:0:0:7``)."""
    h = _h(key, salt + 2)
    return pl.concat_str(
        pl.lit("2A02:8108:"), _hex(h, 4, "0123456789ABCDEF"), pl.lit(":"),
        _hex(h // 65536, 4, "0123456789ABCDEF"), pl.lit(":0:0:0:7"),
    )  # fmt: skip


def device_columns(salt: int) -> tuple[pl.Expr, pl.Expr]:
    """``sender_device_id`` and ``sender_ip`` over a skeleton with its sender's customer index."""
    online = pl.col("channel").is_in([1, 2])
    facilitator = pl.col("s_device").is_not_null()
    cust = pl.col("sender").cast(pl.Int64)
    fac = pl.col("s_device").cast(pl.Int64) + _FACILITATOR
    public = (_h(pl.col("seq"), salt + 3) % 100) < PUBLIC_PERCENT
    which = (_h(pl.col("seq"), salt + 4) % len(PUBLIC_IPS)).replace_strict(
        list(range(len(PUBLIC_IPS))), list(PUBLIC_IPS), return_dtype=pl.String
    )
    home = pl.when(_h(cust, salt + 5) % 7 == 0).then(_ipv6(cust, salt)).otherwise(_ipv4(cust, salt))
    device = pl.when(facilitator).then(_device(fac, salt)).when(online).then(_device(cust, salt))
    ip = (
        pl.when(facilitator)
        .then(_ipv4(fac, salt))
        .when(online & public)
        .then(which)
        .when(online)
        .then(home)
    )
    return device.alias("sender_device_id"), ip.alias("sender_ip")
