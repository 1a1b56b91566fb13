"""达梦 DM8 through 达梦's own SQLAlchemy dialect (dmSQLAlchemy) and driver (dmPython, or the pure-Python
dmpython-pure where DM's client libraries are not installed).

Both dmSQLAlchemy and dmpython-pure declare an SQLAlchemy dialect named ``dm``; which one a ``dm://`` URL
gets would depend on the order the entry points are read. The module wants 达梦's own (its DDL options,
types and reflection are the maintained ones), so it registers that one explicitly.
dmSQLAlchemy 2.0.x supports SQLAlchemy 2.0 only (it imports names that 2.1 removed): the ``dm`` extra
pins ``sqlalchemy<2.1``.
"""

from __future__ import annotations

from sqlalchemy.dialects import registry

#: The URL schemes that select 达梦's dialect.
SCHEMES = ("dm", "dm.dmPython")


def register() -> None:
    """Make ``dm://`` and ``dm+dmPython://`` URLs resolve to dmSQLAlchemy's dialect (idempotent)."""
    for scheme in SCHEMES:
        registry.register(scheme, "dmSQLAlchemy.dmpython", "DMDialect_dmPython")
