"""The core library: pure logic, no web framework, ORM or CLI library (a test checks it)."""
