"""``init-demo --fhir URL``: the ``[fhir]`` section of the demo configuration."""

from __future__ import annotations

import json

from ris_ai_module.errors import ConfigError


def demo_section(url: str) -> str:
    """TOML text switching the FHIR delivery on against ``url`` (empty when no URL is given)."""
    if not url:
        return ""
    if not url.startswith(("http://", "https://")):
        raise ConfigError("--fhir", f"expected an http:// or https:// FHIR base URL, got {url!r}")
    return ("\n[fhir]\n# 结果以 FHIR R4 事务 Bundle 发往此服务器。 The results as FHIR R4 transaction Bundles.\n"
            f"base_url = {json.dumps(url)}\n")
