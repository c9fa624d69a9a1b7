"""Reference code lists: ISO 4217 currencies and ISO 3166-1 alpha-2 countries."""

from __future__ import annotations

import functools

import pycountry

#: Codes in common use that ISO 3166-1 does not (yet) assign: Kosovo (user-assigned XK, used by
#: the EU, SWIFT and IBANs).
EXTRA_COUNTRIES = frozenset({"XK"})

#: Currencies that the ECB history still quotes but ISO 4217 has withdrawn (historic drops).
HISTORIC_CURRENCIES = frozenset(
    {"CYP", "EEK", "LTL", "LVL", "MTL", "ROL", "SIT", "SKK", "TRL", "HRK"}
)


@functools.cache
def currencies() -> frozenset[str]:
    """ISO 4217 alphabetic codes (current, plus the ECB's historic ones)."""
    return frozenset(c.alpha_3 for c in pycountry.currencies) | HISTORIC_CURRENCIES


@functools.cache
def countries() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes (plus XK)."""
    return frozenset(c.alpha_2 for c in pycountry.countries) | EXTRA_COUNTRIES
