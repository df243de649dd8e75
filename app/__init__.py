"""Command line and operator GUI."""
