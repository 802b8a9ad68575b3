//! zczk-conformance: behaviour tests written once against `Store`, run against every backend.
