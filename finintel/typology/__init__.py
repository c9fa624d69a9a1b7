"""Typologies: YAML rule loading with positions, the typed rule model, compilation to polars."""
