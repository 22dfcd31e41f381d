"""Versioned SQL migrations: files (discovery, checksums), the ledger runner, and the one-off task path."""
