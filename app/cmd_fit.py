"""``stfmr fit FILE``: fit the ST-FMR spectrum (every field branch) of one data file.

Without ``--json`` it prints a readable table per branch; with ``--json`` one
JSON object {"branches": [{"polarity", "H_r": {"value", "stderr"}, "dH",
"V_S", "V_A", "V_0", "V_1", "redchi"}]} with fields in mT and voltages in V.
A spectrum that cannot be fitted ends with a message saying why and exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings

HELP = "fit an ST-FMR spectrum file (V_S, V_A, H_r, dH of every field branch)"

DEFAULT_FIELD_COLUMN = "Field (mT)"
DEFAULT_VOLTAGE_COLUMN = "V_FMR (V)"

#: unit shown beside each parameter in the table (derivative mode: see --derivative help)
_UNITS = {"H_r": "mT", "dH": "mT", "V_S": "V", "V_A": "V", "V_0": "V", "V_1": "V/mT"}
_UNITS_DERIVATIVE = {**_UNITS, "V_0": "V/mT", "V_1": "V/mT^2"}


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the arguments of ``stfmr fit``."""
    parser.add_argument("file", metavar="FILE", help="pymeasure Results file or CSV with a header line")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument(
        "--field-column", default=DEFAULT_FIELD_COLUMN, metavar="NAME",
        help=f"column of mu0*H in mT (default: {DEFAULT_FIELD_COLUMN!r})",
    )
    parser.add_argument(
        "--voltage-column", default=DEFAULT_VOLTAGE_COLUMN, metavar="NAME",
        help=f"column of the dc-equivalent mixing voltage in V (default: {DEFAULT_VOLTAGE_COLUMN!r})",
    )
    parser.add_argument(
        "--derivative", action="store_true",
        help="field-modulated data: fit dS/dH and dA/dH (voltage column in V/mT gives V_S, V_A in V)",
    )
    parser.add_argument("--no-slope", action="store_true", help="fit a constant background only (V_1 = 0)")
    parser.add_argument(
        "--engine", choices=("fast", "lmfit"), default="fast",
        help="fast core (variable projection, default) or lmfit from the same automatic start",
    )
    parser.add_argument(
        "--report", action="store_true", help="also print lmfit's fit report of every branch"
    )


def _table(path: str, fits, derivative: bool, columns: tuple[str, str]) -> str:
    units = _UNITS_DERIVATIVE if derivative else _UNITS
    lines = [f"{path}: {columns[1]} against {columns[0]}" + (" (derivative lineshape)" if derivative else "")]
    for fit in fits:
        sign = "positive" if fit.polarity > 0 else "negative"
        lo, hi = fit.field_range_mT
        lines.append(
            f"{sign} field branch: {fit.npoints} points, {lo:g} to {hi:g} mT,"
            f" reduced chi-square {fit.redchi:.3g}"
        )
        lines.append(f"  {'param':<5} {'value':>13}   {'stderr':>10}  unit")
        for name in ("H_r", "dH", "V_S", "V_A", "V_0", "V_1"):
            value, err = fit.values[name], fit.stderr[name]
            fmt = ".4f" if name in ("H_r", "dH") else ".4e"
            efmt = ".4f" if name in ("H_r", "dH") else ".2e"
            lines.append(f"  {name:<5} {value:>13{fmt}} +- {err:<10{efmt}}  {units[name]}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Fit the file and print the result; return the exit status."""
    from stfmr.analysis.datafile import read_datafile
    from stfmr.analysis.spectrum_fit import fit_branches, lmfit_result

    data = read_datafile(args.file)
    field = data.column(args.field_column)
    voltage = data.column(args.voltage_column)
    kw = {"derivative": args.derivative, "slope": not args.no_slope}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fits = fit_branches(field, voltage, engine=args.engine, **kw)
    for w in caught:
        print(f"stfmr fit: warning: {w.message}", file=sys.stderr)
    if args.json:
        print(json.dumps({"branches": [fit.to_dict() for fit in fits]}, indent=2))
    else:
        print(_table(args.file, fits, args.derivative, (args.field_column, args.voltage_column)))
    if args.report:
        for fit in fits:
            lo, hi = sorted(fit.field_range_mT)
            mask = (field >= lo) & (field <= hi)
            result = lmfit_result(field[mask], voltage[mask], **kw)
            out = sys.stderr if args.json else sys.stdout
            print(f"\nlmfit report, {'positive' if fit.polarity > 0 else 'negative'} branch:", file=out)
            print(result.fit_report(), file=out)
    return 0
