//! JSON Schema validation of runbooks and inventories against schemas/.
