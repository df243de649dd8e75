"""Helpers shared by the tests (on sys.path through pytest's ``pythonpath = ["tests"]``).

- :mod:`support.runs`: small sequences and checks of the simulator's recorded history
  (ramp rates, the safe end);
- :mod:`support.spectra`: synthetic spectra from the exact LLG linear response.
"""
