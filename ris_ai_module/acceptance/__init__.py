"""The on-site acceptance kit (验收): ``ris-ai-module acceptance``. Items and their evidence (``runner``), the
journal of what it writes (``journal``), undoing it (``cleanup``) and the signed record (``record``)."""
