"""An exam's result for the outbound interfaces: the read model, the outbox files, HL7 ORU^R01 over MLLP."""
