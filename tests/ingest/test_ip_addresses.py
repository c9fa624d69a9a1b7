"""ip_addresses: the vectorised path for plain IPv4 agrees with ip_text on every value."""

from __future__ import annotations

import polars as pl

from finintel.identifiers import ip_addresses, ip_text

VALUES = [
    "192.168.1.10",
    "255.255.255.255",
    "0.0.0.0",
    "100.200.250.199",
    "192.168.001.10",  # leading zeros: not an address
    "01.2.3.4",
    "256.1.1.1",
    "1.2.3",
    "1.2.3.4.5",
    " 10.0.0.1",
    "10.0.0.1\n",
    "10.0.0.7:8080",
    "١.2.3.4",  # Arabic-Indic digit
    "::1",
    "2001:DB8::1",
    "[::ffff:10.0.0.1]:443",
    "n/a",
    None,
]


def test_ip_addresses_equal_ip_text_of_each_value() -> None:
    got = ip_addresses(pl.Series("ip", VALUES))
    assert got.name == "ip"
    assert got.to_list() == [None if v is None else ip_text(v) for v in VALUES]
    assert got.to_list()[:5] == [
        "192.168.1.10",
        "255.255.255.255",
        "0.0.0.0",
        "100.200.250.199",
        None,
    ]
