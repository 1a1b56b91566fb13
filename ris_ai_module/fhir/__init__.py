"""FHIR R4 delivery of an exam's result: a transaction Bundle (DiagnosticReport + Observations)."""
