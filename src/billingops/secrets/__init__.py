"""Secret seeding: where values come from (sources), what would change (plan), and applying it (seed)."""
