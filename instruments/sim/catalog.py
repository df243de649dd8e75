"""Simulated instrument models by name: "module:Class", imported only when used."""

from __future__ import annotations

import importlib
from typing import Any

_PKG = "stfmr.instruments.sim"

#: model name (as in bench files and fault files) -> "module:Class"
MODELS: dict[str, str] = {
    "SR830": f"{_PKG}.lockins:SimSR830",
    "SR860": f"{_PKG}.lockins:SimSR860",
    "Keithley2182": f"{_PKG}.nanovoltmeter:SimKeithley2182",
    "Agilent8257D": f"{_PKG}.rf_sources:SimAgilent8257D",
    "AnritsuMG3692C": f"{_PKG}.rf_sources:SimAnritsuMG3692C",
    "SMB100A": f"{_PKG}.rf_sources:SimSMB100A",
    "KepcoBOP3612": f"{_PKG}.supply:SimKepcoBOP3612",
    "LakeShore421": f"{_PKG}.gaussmeters:SimLakeShore421",
    "LakeShore425": f"{_PKG}.gaussmeters:SimLakeShore425",
    "ESP300": f"{_PKG}.stage_esp300:SimESP300",
    "Keithley2400": f"{_PKG}.sourcemeters:SimKeithley2400",
    "Keithley2450": f"{_PKG}.sourcemeters:SimKeithley2450",
}


class UnknownModelError(ValueError):
    """No simulator exists for the model name."""


def simulator_class(model: str) -> Any:
    """Import and return the simulator class for model."""
    try:
        target = MODELS[model]
    except KeyError:
        raise UnknownModelError(f"no simulator for model {model!r}; known: {', '.join(MODELS)}") from None
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def available_models() -> list[str]:
    """Models whose simulator can be imported now (all of them in a complete install)."""
    out = []
    for model in MODELS:
        try:
            simulator_class(model)
        except (ImportError, AttributeError):
            continue
        out.append(model)
    return out
