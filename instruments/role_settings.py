"""What a role wrapper knows about its bench-file table: keys, checks, construction, and applying them.

Every role wrapper inherits :class:`RoleSettings` and overrides what its
instrument needs, so all knowledge of one driver lives in its wrapper:

- ``SETTINGS``: the keys its role table takes besides driver, resource and
  timeout_ms, with their defaults (None: optional, without a default);
- ``COMPANION``: the key of a nested role table for a second instrument that
  the wrapper drives (the field role's ``gaussmeter``), or None;
- :meth:`read_settings`: checks the values (ranges from the driver's own
  tables or the wrapper's constants) and returns every key of ``SETTINGS``;
- :meth:`from_config`: constructs the wrapper on a freshly opened driver;
- :meth:`apply_settings`: sends the settings once the instrument has answered.

:mod:`stfmr.instruments.bench_config` reads role tables and
:func:`stfmr.instruments.bench.open_role` opens them only through these hooks:
a new instrument is one wrapper plus one line in
:mod:`stfmr.instruments.registry`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from stfmr.analysis.toml_schema import Table
    from stfmr.instruments.registry import DriverSpec


class RoleSettings:
    """Mixin of the role wrappers: their bench-file settings (see the module docstring)."""

    #: key -> default of the role table's own settings (None: optional, no default)
    SETTINGS: ClassVar[dict[str, Any]] = {}
    #: key of a nested role table for a second instrument (its role in the registry has the same name)
    COMPANION: ClassVar[str | None] = None

    @classmethod
    def read_settings(cls, table: Table, spec: DriverSpec, base_dir: Path | None) -> dict[str, Any]:
        """Return the checked settings of a role table: every key of SETTINGS, defaults filled in.

        table: the role table (defaults: SETTINGS); its ``fail`` names the table
        and key. spec: the driver chosen. base_dir: folder of the bench file,
        for relative paths (None for a configuration built in code).
        """
        return {key: table.get(key) for key in cls.SETTINGS}

    @classmethod
    def from_config(
        cls, driver: Any, address: str, settings: dict[str, Any], *, role: str, instrument: str,
        companion: Any = None,
    ) -> Any:
        """Return the wrapper around an opened driver; companion: the opened COMPANION wrapper, if any."""
        return cls(driver, address, role=role, instrument=instrument)  # type: ignore[call-arg]

    def apply_settings(self, settings: dict[str, Any]) -> None:
        """Send settings (as returned by read_settings) to the instrument; called after its identity answered."""
