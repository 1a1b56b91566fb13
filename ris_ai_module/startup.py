"""Checks of a loaded configuration that need a part's own knowledge, run by every entry point.

``config`` checks syntax, types and keys and imports none of the parts (the layering in .importlinter);
what only a part can judge (is this a UCUM unit of the SR engine's table, does the hospital's catalog
overlay load) is checked here, right after loading, by the CLI, ``run`` and the public API: a bad value
still stops start-up naming its key, not at the first SR hours later.
"""

from __future__ import annotations

import os

from ris_ai_module.errors import ConfigError, InvalidInput
from ris_ai_module.settings import Config, load_config


def load_checked(path: str | os.PathLike[str] | None) -> Config:
    """The configuration file loaded strictly and checked by the parts; ConfigError naming --config without one."""
    if not path:
        raise ConfigError("--config", "no configuration file given (ris-ai-module --config FILE COMMAND)")
    return check_config(load_config(path))


def check_config(config: Config) -> Config:
    """Raise ConfigError naming the key at fault; returns the config for chaining."""
    from ris_ai_module.sr.catalog import load_catalog
    from ris_ai_module.sr.units import lookup

    for key, unit in config.report.units.items():
        if lookup(unit) is None:
            raise ConfigError(f"report.units.{key}", f"{unit!r} is not a UCUM unit of the unit table")
    if config.sr.catalog_overlay:
        try:
            load_catalog(config.sr.catalog_overlay)
        except InvalidInput as exc:
            raise ConfigError("sr.catalog_overlay", str(exc)) from None
    return config
