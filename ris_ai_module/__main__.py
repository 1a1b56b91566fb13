"""Allows ``python -m ris_ai_module``."""

from ris_ai_module.cli.main import main

raise SystemExit(main())
