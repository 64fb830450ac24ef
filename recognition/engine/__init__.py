"""Pure face inference engine (no Django below this package)."""
