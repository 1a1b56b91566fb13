"""Alembic migrations of the RAI_* tables; shipped as the package ``ris_ai_module.migrations``."""
