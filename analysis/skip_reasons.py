"""Why a file of a run folder is left out of the analysis, as records rather than bare strings.

A file is *skipped* when it cannot be used at all (:class:`Skipped`: a
:class:`SkipKind` for programs and a reason for people), and a spectrum *not
fitted* when it was read but no fit converged (:class:`FailedFit`). Both go
into ``stfmr analyze`` (text and ``--json``: ``skipped_files`` entries
``{"file", "kind", "reason"}``, ``failed_fits`` entries ``{"file", "reason"}``, plus
``"polarity"`` when one field branch failed and the other was used).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class SkipKind(Enum):
    """What makes a file unusable; the value is the ``kind`` of ``stfmr analyze --json``."""

    UNREADABLE = "unreadable"  #: not a table that can be read
    NOT_A_MEASUREMENT = "not_a_measurement"  #: lacks the columns of every measurement the analysis reads
    AUTOPHASE = "autophase"  #: an autophase step's spectrum, measured before the lock-in phase was set
    TRUNCATED = "truncated"  #: fewer rows than its own parameters promise
    NO_ROWS = "no_rows"  #: a header without data
    NOT_COMPLETE = "not_complete"  #: the manifest marks its task incomplete, failed, aborted or running
    MISSING = "missing"  #: listed in the manifest but not in the folder
    NOT_IN_MANIFEST = "not_in_manifest"  #: in the folder but not indexed by its manifest
    REPEATED_FIELDS = "repeated_fields"  #: several readings at one field, and no --repeats rule to combine them


@dataclass(frozen=True)
class Unusable:
    """Why one file cannot be used (what reading it gives instead of a measurement)."""

    kind: SkipKind
    reason: str


@dataclass(frozen=True)
class Skipped:
    """A file of a run folder left out of the analysis, and why."""

    file: str
    kind: SkipKind
    reason: str

    @classmethod
    def of(cls, file: str, why: Unusable) -> Skipped:
        return cls(file, why.kind, why.reason)

    def to_dict(self) -> dict[str, str]:
        """The ``skipped_files`` entry of ``stfmr analyze --json``."""
        return {"file": self.file, "kind": self.kind.value, "reason": self.reason}


@dataclass(frozen=True)
class FailedFit:
    """A spectrum or frequency scan (or one field branch of it) that was read but could not be fitted, and why."""

    file: str
    reason: str
    #: +1 or -1 when only that field branch failed (the other is used), None for the whole file
    polarity: int | None = None

    def to_dict(self) -> dict[str, str | int]:
        """The ``failed_fits`` entry of ``stfmr analyze --json`` (with ``polarity`` for one branch)."""
        out: dict[str, str | int] = {"file": self.file, "reason": self.reason}
        if self.polarity is not None:
            out["polarity"] = self.polarity
        return out


__all__ = ["FailedFit", "SkipKind", "Skipped", "Unusable"]
