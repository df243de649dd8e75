"""The virtual bench: a physical model of the sample and instruments that speak the real command sets."""
