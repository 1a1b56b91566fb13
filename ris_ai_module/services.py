"""What a part of the module needs from its host to work: the database engine and the configuration.

A structural type, so that parts below the composition root (``report``, ``dicom``, ``health``, ``web``)
name what they use without importing the service context: ``runtime``'s AppContext fits it, and so does
any host object of the public API (``ris_ai_module.api``) that carries an engine and a Config.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.engine import Engine

from ris_ai_module.config.schema import Config


class Services(Protocol):
    @property
    def config(self) -> Config: ...

    @property
    def engine(self) -> Engine: ...
