"""Open a past results file for the GUI without importing what its header names.

pymeasure's ``Results.load(path)`` imports the module and calls the class that the
header line ``#Procedure: <module.Class>`` names: any importable callable
(``<os.abort>`` ends the GUI). :func:`load_results` reads that line itself, accepts
only stfmr's own procedures (:data:`stfmr.procedures.registry.PROCEDURES`, by their
full dotted name, e.g. ``stfmr.procedures.field_sweep.FieldSweep``) and passes the
class to ``Results.load``, which then imports nothing: with ``procedure_class``
given, ``Results.parse_header`` instantiates that class and only reads the name.
"""

from __future__ import annotations

import re
from pathlib import Path

from pymeasure.experiment import Procedure, Results

#: the header line naming the procedure, after the comment mark (as pymeasure writes it)
_PROCEDURE_LINE = re.compile(r"^Procedure: <(?P<name>[^<>]*)>\s*$")
#: longest procedure name quoted in an error (a header may hold anything)
_QUOTED_NAME_MAX = 80


def stfmr_procedures() -> dict[str, type[Procedure]]:
    """Full dotted name -> class of every procedure stfmr writes results files for."""
    from stfmr.procedures.registry import PROCEDURES

    return {f"{cls.__module__}.{cls.__qualname__}": cls for cls in PROCEDURES.values()}


def _header(path: Path) -> list[tuple[int, str]]:
    """(line number, text without the comment mark) of the leading comment lines, as ``Results.load`` reads them."""
    lines = []
    try:
        with open(path, encoding=Results.ENCODING) as fh:
            for number, raw in enumerate(fh, start=1):
                if not raw.startswith(Results.COMMENT):
                    break
                lines.append((number, raw[len(Results.COMMENT):].rstrip("\r\n")))
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a text file; expected a results file of stfmr") from None
    return lines


def procedure_class(path: str | Path) -> type[Procedure]:
    """The stfmr procedure class a results file's header names; ValueError for any other name.

    Nothing the header names is imported: the name is looked up among stfmr's
    procedures. A header tab line must read ``<tab>Name: value`` (pymeasure's form).
    """
    path = Path(path)
    named = []
    for number, text in _header(path):
        if text.startswith("Procedure"):
            named.append((number, _PROCEDURE_LINE.match(text)))
        elif text.startswith("\t") and ": " not in text:
            raise ValueError(f"{path}: line {number}: expected a header entry '<tab>Name: value'")
    if len(named) != 1:
        raise ValueError(f"{path}: expected one '#Procedure: <...>' line at the top, found {len(named)}")
    number, match = named[0]
    if match is None:
        raise ValueError(f"{path}: line {number}: expected '#Procedure: <module.Class>'")
    name = match.group("name")
    allowed = stfmr_procedures()
    if name not in allowed:
        shown = name if len(name) <= _QUOTED_NAME_MAX else name[:_QUOTED_NAME_MAX] + "..."
        raise ValueError(f"{path}: line {number}: refused the procedure {shown!r} (not imported); "
                         f"a results file of stfmr names one of {', '.join(sorted(allowed))}")
    return allowed[name]


def load_results(path: str | Path) -> Results:
    """Load a past results file of stfmr as pymeasure ``Results``, importing nothing the file names.

    Raises ValueError (naming the file) for a header that names any class other
    than stfmr's procedures, or that pymeasure cannot parse; OSError if the file
    cannot be read.
    """
    path = Path(path)
    cls = procedure_class(path)
    try:
        return Results.load(str(path), procedure_class=cls)
    except OSError:
        raise
    except Exception as exc:  # pymeasure raises bare Exception for some header faults
        raise ValueError(f"{path}: not a readable {cls.__name__} results file: {exc}") from exc


def progress_percent(results: Results) -> float | None:
    """How far a stopped task had got (%): its rows over the points its procedure planned.

    As the live progress bar showed it (whole percent, rounded down). None for a
    procedure that does not say how many points it plans (spectra do: their
    ``field_values``, times ``frequency_values`` for a frequency scan).
    """
    procedure = results.procedure
    fields = getattr(procedure, "field_values", None)
    if fields is None:
        return None
    frequencies = getattr(procedure, "frequency_values", None)
    planned = len(fields()) * (len(frequencies()) if frequencies is not None else 1)
    if planned <= 0:
        return None
    return float(min(100, (100 * _data_rows(Path(results.data_filename))) // planned))


def _data_rows(path: Path) -> int:
    """Complete data rows of a results file (comment lines and the column line not counted)."""
    with open(path, "rb") as fh:
        comment = Results.COMMENT.encode()
        lines = sum(1 for line in fh if line.endswith(b"\n") and line.strip() and not line.startswith(comment))
    return max(0, lines - 1)
