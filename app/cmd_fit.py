"""``stfmr fit FILE``: fit the ST-FMR spectrum (every field branch) of one data file.

Without ``--json`` it prints a readable table per branch (voltages in uV,
each value rounded to its standard error); with ``--json`` one JSON object
{"branches": [{"polarity", "H_r": {"value", "stderr"}, "dH", "V_S", "V_A",
"V_0", "V_1", "redchi", "noise_V", "chi2_noise", "npoints", "field_range_mT",
"warnings"}], "failed_branches": [{"polarity", "reason", "npoints",
"field_range_mT"}]} with fields in mT and voltages in V. Each branch is fitted
on its own: a branch that cannot be fitted is reported with its reason, and
the file succeeds when one branch fits. A file with no branch that can be
fitted ends with a message saying why and exit 2. ``--plot OUT.png`` draws
each branch: data, fit, its S and A parts, and the residuals.
The columns' units come from their names (``Field (Oe)``) or
``--field-unit``/``--voltage-unit`` (:mod:`stfmr.analysis.units`); a resonance
implausible for that unit is warned about (stderr and the JSON's "warnings").

A frequency scan (a ``Frequency (GHz)`` column that varies at a fixed field, as
``FrequencyScan`` records it) is fitted in frequency instead, branch by branch,
and reported with its field-equivalent line (see
:mod:`stfmr.analysis.frequency_scan`); ``--json`` then prints
{"sweep": "frequency", "branches": [{"polarity", "f_r", "df", "V_S", "V_A",
"V_0", "V_1", "redchi", "npoints", "g", "field_equivalent": {"H_r", "dH", "V_S",
"V_A", "df_dH_GHz_per_mT", "mu0_Meff_T"}}]}, frequencies in GHz.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from pathlib import Path

from stfmr.analysis import columns as col
from stfmr.analysis.spectrum_fit import BranchFailure, branch_name

HELP = "fit an ST-FMR spectrum file (V_S, V_A, H_r, dH of every field branch)"

DEFAULT_FIELD_COLUMN = col.FIELD
SET_FIELD_COLUMN = col.FIELD_SET
DEFAULT_VOLTAGE_COLUMN = col.V_FMR

#: unit shown beside each parameter in the table (derivative mode: see --derivative help)
_UNITS = {"H_r": "mT", "dH": "mT", "V_S": "uV", "V_A": "uV", "V_0": "uV", "V_1": "uV/mT"}
_UNITS_DERIVATIVE = {**_UNITS, "V_0": "uV/mT", "V_1": "uV/mT^2"}
#: factor from the fit's units (mT, V) to the table's
_SCALE = {"H_r": 1.0, "dH": 1.0, "V_S": 1e6, "V_A": 1e6, "V_0": 1e6, "V_1": 1e6}


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the arguments of ``stfmr fit``."""
    parser.add_argument("file", metavar="FILE", help="pymeasure Results file or CSV with a header line")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    add_column_options(parser)
    parser.add_argument(
        "--derivative", action="store_true",
        help="field-modulated data: fit dS/dH and dA/dH (voltage column in V/mT gives V_S, V_A in V)",
    )
    parser.add_argument("--no-slope", action="store_true", help="fit a constant background only (V_1 = 0)")
    parser.add_argument(
        "--raw-field", action="store_true",
        help=f"fit against the gaussmeter readings as recorded (default with a {col.FIELD_SET!r} column: "
             "the readings smoothed against the set field, see README)",
    )
    parser.add_argument(
        "--engine", choices=("fast", "lmfit"), default="fast",
        help="fast core (variable projection, default) or lmfit from the same automatic start",
    )
    parser.add_argument(
        "--report", action="store_true", help="also print lmfit's fit report of every branch"
    )
    parser.add_argument(
        "--plot", metavar="OUT.png", default=None,
        help="draw every branch (data, fit, its S and A parts, residuals) into this image (.png, .pdf, .svg)",
    )
    parser.add_argument(
        "--modes", choices=("one", "auto"), default="one",
        help="auto: fit one and two resonances per branch and keep what the BIC criterion picks",
    )
    parser.add_argument(
        "--g", type=float, default=None, metavar="G",
        help="frequency scans: Lande g of the Kittel slope df/dH (default: the file's, else 2.1)",
    )
    parser.add_argument(
        "--meff", type=float, default=None, metavar="T",
        help="frequency scans: mu0*M_eff (T) of the Kittel slope (default: from the fitted f_r)",
    )


def add_column_options(parser: argparse.ArgumentParser) -> None:
    """The options naming a spectrum's columns, their units and the rule for repeats (``fit`` and ``analyze``)."""
    from stfmr.analysis.spectrum_columns import REPEATS

    parser.add_argument(
        "--field-column", default=DEFAULT_FIELD_COLUMN, metavar="NAME",
        help=f"column of the field, its unit in parentheses: mT, T, Oe, G, kOe, A/m (default: {DEFAULT_FIELD_COLUMN!r})",
    )
    parser.add_argument(
        "--field-unit", metavar="UNIT",
        help="unit of the field column where its name has none (or a wrong one): mT, T, Oe, G, kOe, A/m, "
             "or a magnet current's coil constant such as '25 mT/A'",
    )
    parser.add_argument(
        "--voltage-column", default=DEFAULT_VOLTAGE_COLUMN, metavar="NAME",
        help="column of the dc-equivalent mixing voltage, its unit in parentheses: V, mV, uV, nV "
             f"(default: {DEFAULT_VOLTAGE_COLUMN!r})",
    )
    parser.add_argument("--voltage-unit", metavar="UNIT",
                        help="unit of the voltage column where its name has none: V, mV, uV, nV")
    parser.add_argument(
        "--repeats", choices=REPEATS, default=None,
        help="combine readings repeated at one field by their mean or median (default: refuse such files)",
    )


def spectrum_columns(args: argparse.Namespace):
    """The :class:`~stfmr.analysis.spectrum_columns.SpectrumColumns` of the options; a unit error names the option."""
    from stfmr.analysis.spectrum_columns import SpectrumColumns

    return SpectrumColumns(field=args.field_column, voltage=args.voltage_column, field_unit=args.field_unit,
                           voltage_unit=args.voltage_unit, repeats=args.repeats, derivative=args.derivative)


def with_error(value: float, err: float) -> str:
    """'32320 +- 190': the standard error to two significant digits, the value rounded to the same place."""
    if not (math.isfinite(err) and err > 0 and math.isfinite(value)):
        return f"{value:.6g} +- {err:g}" if math.isfinite(err) and err > 0 else f"{value:.6g}"
    decimals = 1 - math.floor(math.log10(err))
    if round(err, decimals) >= 10 ** (2 - decimals):  # 99.6 rounds to 100: one digit fewer
        decimals -= 1
    if decimals > 0:
        return f"{value:.{decimals}f} +- {err:.{decimals}f}"
    return f"{round(value, decimals):.0f} +- {round(err, decimals):.0f}"


def _table(path: str, result, derivative: bool, columns: tuple[str, str]) -> str:
    units = _UNITS_DERIVATIVE if derivative else _UNITS
    lines = [f"{path}: {columns[1]} against {columns[0]}" + (" (derivative lineshape)" if derivative else "")]
    entries = sorted([(f.polarity, f) for f in result.fits] + [(f.polarity, f) for f in result.failures],
                     key=lambda e: -e[0])
    for _, fit in entries:
        lo, hi = fit.field_range_mT
        head = f"{branch_name(fit.polarity)} field branch: {fit.npoints} points, {lo:g} to {hi:g} mT"
        if isinstance(fit, BranchFailure):
            lines.append(f"{head}: NOT FITTED: {fit.reason}")
            continue
        lines.append(head)
        for name in ("H_r", "dH", "V_S", "V_A", "V_0", "V_1"):
            value, _, err = with_error(fit.values[name] * _SCALE[name], fit.stderr[name] * _SCALE[name]).partition(" +- ")
            lines.append(f"  {name:<5} {value:>12} +- {err:<9}  {units[name]}")
        noise_unit = "uV/mT" if derivative else "uV"
        lines.append(f"  reduced chi-square {fit.chi2_noise:.3g} x the point-to-point noise"
                     f" ({fit.noise_V * 1e6:.3g} {noise_unit})")
        lines.extend(f"  warning: {w}" for w in fit.warnings)
    return "\n".join(lines)


def _frequency_table(path: str, fits) -> str:
    lines = [f"{path}: V_FMR (V) against Frequency (GHz) at fixed field (frequency scan)"]
    units = {"f_r": "GHz", "df": "GHz", "V_S": "V", "V_A": "V", "V_0": "V", "V_1": "V/GHz"}
    for fit in fits:
        lo, hi = fit.frequency_range_GHz
        lines.append(f"{'positive' if fit.polarity > 0 else 'negative'} field branch at {fit.field_mT:.2f} mT:"
                     f" {fit.npoints} points, {lo:g} to {hi:g} GHz, reduced chi-square {fit.redchi:.3g}")
        lines.append(f"  {'param':<5} {'value':>13}   {'stderr':>10}  unit")
        for name, unit in units.items():
            fmt = ".5f" if unit == "GHz" else ".4e"
            lines.append(f"  {name:<5} {fit.values[name]:>13{fmt}} +- {fit.stderr[name]:<10.2e}  {unit}")
        q, e = fit.equivalent, fit.equivalent_stderr
        lines.append(f"  as a field sweep at f_r (g = {fit.g:g}, df/dH = {q['df_dH_GHz_per_mT'] * 1e3:.3f} GHz/T,"
                     f" mu0*M_eff = {q['mu0_Meff_T']:.4f} T{' given' if fit.meff_given else ' from f_r'}):")
        lines.append(f"  dH    {q['dH']:>13.4f} +- {e['dH']:<10.2e}  mT")
        lines.append(f"  V_S   {q['V_S']:>13.4e} +- {e['V_S']:<10.2e}  V")
        lines.append(f"  V_A   {q['V_A']:>13.4e} +- {e['V_A']:<10.2e}  V (sign as in a field sweep)")
    return "\n".join(lines)


def _run_frequency_scan(args: argparse.Namespace, data) -> int:
    """Fit a frequency-scan file in frequency and print it with its field-equivalent line."""
    from stfmr.analysis.frequency_scan import fit_datafile

    if args.derivative:
        raise ValueError(f"{args.file}: --derivative is for field-modulated field sweeps, not frequency scans")
    if args.modes != "one" or args.engine != "fast":
        raise ValueError(f"{args.file}: --modes and --engine are for field sweeps; a frequency scan is fitted "
                         "with one line by lmfit")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fits = fit_datafile(data, g=args.g, mu0_Meff_T=args.meff, slope=not args.no_slope,
                            voltage_column=args.voltage_column)
    for w in caught:
        print(f"stfmr fit: warning: {w.message}", file=sys.stderr)
    if args.json:
        print(json.dumps({"sweep": "frequency", "branches": [fit.to_dict() for fit in fits]}, indent=2))
    else:
        print(_frequency_table(args.file, fits))
    if args.report:
        out = sys.stderr if args.json else sys.stdout
        for fit in fits:
            print(f"\nlmfit report, {'positive' if fit.polarity > 0 else 'negative'} branch:", file=out)
            print(fit.report, file=out)
    return 0


def _run_modes(args: argparse.Namespace, field, voltage, kw, unit: str) -> int:
    """Fit one and two resonances per branch; print the modes the BIC criterion keeps."""
    from stfmr.analysis.modes import CRITERION, fit_each_branch_modes
    from stfmr.analysis.spectrum_fit import SpectrumFitError
    from stfmr.analysis.units import implausible

    selections, failures = fit_each_branch_modes(field, voltage, **kw)
    if not selections:
        raise SpectrumFitError("; ".join(f.message for f in failures))
    for failure in failures:
        print(f"stfmr fit: warning: {failure.message} (the other branch is reported)", file=sys.stderr)
    warned = [f"{branch_name(sel.polarity)} field branch, mode {k}: {message}"
              for sel in selections for k, mode in enumerate(sel.modes, start=1)
              for message in implausible(mode.values["H_r"], mode.values["dH"], unit)]
    for message in warned:
        print(f"stfmr fit: warning: {message}", file=sys.stderr)
    if args.json:
        print(json.dumps({"branches": [s.to_dict() for s in selections],
                          "failed_branches": [f.to_dict() for f in failures], "warnings": warned}, indent=2))
        return 0
    print(f"{args.file}: {args.voltage_column} against {args.field_column}; {CRITERION}")
    for failure in failures:
        print(f"{branch_name(failure.polarity)} field branch: NOT FITTED: {failure.reason}")
    for sel in selections:
        sign = "positive" if sel.polarity > 0 else "negative"
        print(f"{sign} field branch: {sel.n_modes} mode{'s' if sel.n_modes > 1 else ''} ({sel.reason})")
        for k, mode in enumerate(sel.modes, start=1):
            v, e = mode.values, mode.stderr
            print(f"  mode {k}: H_r {with_error(v['H_r'], e['H_r'])} mT, dH {with_error(v['dH'], e['dH'])} mT, "
                  f"V_S {with_error(v['V_S'] * 1e6, e['V_S'] * 1e6)} uV, "
                  f"V_A {with_error(v['V_A'] * 1e6, e['V_A'] * 1e6)} uV")
    return 0


def _plausibility(fits, unit: str) -> list[str]:
    """Warnings for a resonance field or linewidth that the field column's unit makes unlikely."""
    from stfmr.analysis.units import implausible

    return [f"{'positive' if fit.polarity > 0 else 'negative'} field branch: {message}"
            for fit in fits for message in implausible(fit.values["H_r"], fit.values["dH"], unit)]


def _check_plot_path(path: str) -> None:
    """Refuse a plot path matplotlib cannot write, before any fitting."""
    from matplotlib.figure import Figure

    target = Path(path)
    suffix = target.suffix.lstrip(".").lower()
    if suffix not in Figure().canvas.get_supported_filetypes():
        raise ValueError(f"--plot {path}: unknown image type {target.suffix or '(none)'!r}; use .png, .pdf or .svg")
    if not target.parent.is_dir():
        raise ValueError(f"--plot {path}: folder {str(target.parent)!r} does not exist")


def _plot(args: argparse.Namespace, field, voltage, result) -> None:
    from stfmr.analysis.fit_figure import spectrum_fit_figure

    fig = spectrum_fit_figure(field, voltage, result, title=Path(args.file).name, derivative=args.derivative)
    fig.savefig(args.plot, dpi=120)
    print(f"stfmr fit: wrote {args.plot}", file=sys.stderr)


def _is_frequency_scan(columns) -> bool:
    """:func:`~stfmr.analysis.frequency_scan.is_frequency_scan`, importing that module only for a file it can be."""
    if col.FREQUENCY not in columns:
        return False
    from stfmr.analysis.frequency_scan import is_frequency_scan

    return is_frequency_scan(columns)


def run(args: argparse.Namespace) -> int:
    """Fit the file and print the result; return the exit status. Every refusal names the file."""
    try:
        return _fit_and_print(args)
    except ValueError as exc:
        if str(args.file) in str(exc):
            raise
        raise ValueError(f"{args.file}: {exc}") from exc


def _fit_and_print(args: argparse.Namespace) -> int:
    """Fit the file and print the result; return the exit status."""
    from stfmr.analysis.datafile import read_datafile
    from stfmr.analysis.field_axis import field_axis
    from stfmr.analysis.spectrum_fit import SpectrumFitError, fit_each_branch, lmfit_result

    if args.plot is not None:
        _check_plot_path(args.plot)
    spec = spectrum_columns(args)  # a unit missing from a column's name is refused before reading
    # only the columns used: a 10^6-row file then costs its two or three columns, not every column
    data = read_datafile(args.file, columns={*spec.wanted(), col.FIELD, col.FREQUENCY, col.V_FMR})
    if args.field_column == DEFAULT_FIELD_COLUMN and _is_frequency_scan(data.columns):
        if args.plot is not None:
            raise ValueError(f"{args.file}: --plot draws field sweeps; this is a frequency scan")
        return _run_frequency_scan(args, data)
    arrays = spec.arrays(data, where=args.file)
    field, voltage = arrays.field_mT, arrays.voltage_V
    if args.field_column == DEFAULT_FIELD_COLUMN and SET_FIELD_COLUMN in data.columns and not args.raw_field:
        field = field_axis(arrays.set_field_mT, field)
    del data
    if arrays.repeated_rows:
        print(f"stfmr fit: {arrays.repeated_rows} repeated reading(s) combined by their {args.repeats} (--repeats)",
              file=sys.stderr)
    kw = {"derivative": args.derivative, "slope": not args.no_slope}
    if args.modes == "auto":
        if args.plot is not None:
            raise ValueError("--plot draws one-mode fits: leave out --modes auto")
        return _run_modes(args, field, voltage, kw, spec.field_scale.symbol)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fit_each_branch(field, voltage, engine=args.engine, **kw)
    for w in caught:
        print(f"stfmr fit: warning: {w.message}", file=sys.stderr)
    if not result.fits:
        raise SpectrumFitError(result.error_message())
    fits = result.fits
    warned = _plausibility(fits, spec.field_scale.symbol)
    for message in warned:
        print(f"stfmr fit: warning: {message}", file=sys.stderr)
    if args.json:
        print(json.dumps({"branches": [fit.to_dict() for fit in fits],
                          "failed_branches": [f.to_dict() for f in result.failures], "warnings": warned}, indent=2))
    else:
        print(_table(args.file, result, args.derivative, (args.field_column, args.voltage_column)))
    for failure in result.failures:
        print(f"stfmr fit: warning: {failure.message} (the other branch is reported)", file=sys.stderr)
    if args.plot is not None:
        _plot(args, field, voltage, result)
    if args.report:
        for fit in fits:
            lo, hi = sorted(fit.field_range_mT)
            mask = (field >= lo) & (field <= hi)
            result = lmfit_result(field[mask], voltage[mask], **kw)
            out = sys.stderr if args.json else sys.stdout
            print(f"\nlmfit report, {'positive' if fit.polarity > 0 else 'negative'} branch:", file=out)
            print(result.fit_report(), file=out)
    return 0
