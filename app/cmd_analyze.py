"""``stfmr analyze``: run folders into efficiencies, tables and the paper's figures."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

from stfmr.app.cmd_fit import add_column_options, spectrum_columns
from stfmr.app.output_files import add_force_option, check_outputs, folder_files

HELP = "analyse run folders: fits, Kittel, damping, AMR, rf current, torque efficiencies, report"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dirs", nargs="+", type=Path, metavar="RUN_DIR", help="run folder(s) of stfmr run")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--report", type=Path, metavar="OUT_DIR", help="write fits.csv, analysis.json and figures")
    parser.add_argument("--export", type=Path, metavar="FILE.nc",
                        help="write the run (every spectrum, its fits, the metadata) as an xarray NetCDF file")
    add_force_option(parser)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes for the spectrum fits (default: one per CPU, %(default)s here)")
    parser.add_argument("--window-mT", type=float, help="refit each spectrum within H_r +- window/2 (mT) (default: no refit, the whole sweep)")
    parser.add_argument("--no-slope", action="store_true", help="no background slope V_1")
    parser.add_argument("--modes", choices=("one", "auto"), default="one",
                        help="auto: fit two resonances where the BIC criterion asks for it (README: two modes)")
    parser.add_argument("--derivative", action="store_true", help="field-modulated (dV/dH) spectra")
    parser.add_argument("--g", type=float, metavar="G",
                        help="Lande g where the Kittel fit cannot determine it (default: the sample record's g, "
                             "else 2.1; README: Kittel and damping)")
    add_column_options(parser)
    parser.add_argument("--metadata", type=Path, metavar="FILE.csv",
                        help="per-file table of the settings files lack: columns 'file', 'Frequency (GHz)', "
                             "'Angle (deg)', 'Power (dBm)' (its values replace the files' own)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from stfmr.analysis.characterize import FitSettings, analyze_run
    from stfmr.analysis.run_reader import read_run

    if args.export is not None and len(args.run_dirs) != 1:
        raise ValueError("--export takes exactly one RUN_DIR")
    if args.jobs < 1:
        raise ValueError(f"--jobs must be at least 1, got {args.jobs}")
    if args.window_mT is not None and args.window_mT <= 0:
        raise ValueError(f"--window-mT must be positive, got {args.window_mT}")
    if args.g is not None and not (math.isfinite(args.g) and args.g > 0):
        raise ValueError(f"--g must be a positive number, got {args.g}")
    spec = spectrum_columns(args)  # a column without a known unit is refused before any file is read
    # nothing in an input run folder is ever overwritten; existing outputs only with --force.
    # Checked before the fits, so that a refusal costs nothing.
    inputs = [f for folder in args.run_dirs for f in folder_files(folder)]
    metadata = _metadata(args.metadata, {f.name for f in inputs})
    if args.export is not None:
        check_outputs([args.export], option="--export", force=args.force, inputs=inputs)
    if args.report is not None:
        from stfmr.analysis.figures import ALWAYS_WRITTEN

        if args.report.exists() and not args.report.is_dir():
            raise ValueError(f"--report {args.report}: is a file, not a folder")

        check_outputs([args.report / name for name in ALWAYS_WRITTEN], option="--report",
                      force=args.force, inputs=inputs)
    settings = FitSettings(window_mT=args.window_mT, slope=not args.no_slope, derivative=args.derivative,
                           modes=args.modes, g=args.g)
    show = not args.quiet and sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if show:
            sys.stderr.write(f"\r  fitting spectra: {done}/{total}")
            sys.stderr.flush()

    results = []
    for folder in args.run_dirs:
        run_data = read_run(folder, jobs=args.jobs, spectrum=spec, metadata=metadata)
        results.append(analyze_run(run_data, settings, jobs=args.jobs, progress=progress))
        if show:
            sys.stderr.write("\n")
    warned = _plausibility(results, spec.field_scale.symbol)
    for message in warned:
        print(f"stfmr analyze: warning: {message}", file=sys.stderr)
    summary = {"samples": [r.to_dict() for r in results], "warnings": warned}
    report = None
    if args.report is not None:
        from stfmr.analysis.figures import plan_report

        if show:
            sys.stderr.write(f"  drawing the report's figures for {len(results)} run folder(s) ...\n")
        report = plan_report(results, args.report, summary)  # figures drawn, nothing written yet
        check_outputs(report, option="--report", force=args.force, inputs=inputs)
        if args.export is not None and any(_same_path(args.export, p) for p in report):
            raise ValueError(f"--export {args.export} is also a file of --report {args.report}")
    if args.export is not None:
        from stfmr.analysis.export import export_netcdf

        check_outputs([args.export], option="--export", force=args.force, inputs=inputs)
        export_netcdf(results[0], args.export)
        if not args.json:
            run = results[0].run
            scans = f" and {len(run.frequency_scans)} frequency scans" if run.frequency_scans else ""
            print(f"exported {len(run.spectra)} spectra{scans} to {args.export}")
    if report is not None:
        from stfmr.analysis.figures import write_planned

        written = write_planned(report)
        if not args.json:
            print(f"report: {len(written)} files in {args.report}")
    if args.json:
        print(json.dumps(summary, indent=1))
    else:
        for r in results:
            _print_summary(r.to_dict())
    return 0


def _metadata(path: Path | None, present: set[str]):
    """The ``--metadata`` table, checked against the files of the run folders (None without the option)."""
    if path is None:
        return None
    from stfmr.analysis.metadata_table import MetadataTable

    try:
        table = MetadataTable.read(path)
    except OSError as exc:
        raise ValueError(f"--metadata {path}: {exc.strerror or exc}") from None
    table.check_files(present)
    return table


def _plausibility(results, unit: str) -> list[str]:
    """Warnings for fitted resonances that the field column's unit makes unlikely, by file and branch."""
    from stfmr.analysis.units import implausible

    return [f"{r.run.name}: {file} ({'+' if fit.polarity > 0 else '-'}H): {message}"
            for r in results for file, fits in r.fits.items() for fit in fits
            for message in implausible(fit.values["H_r"], fit.values["dH"], unit)]


def _same_path(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve()


def _fmt(q: dict | None, scale: float = 1.0, unit: str = "") -> str:
    return "n/a" if q is None else f"{q['value'] * scale:.5g} +- {q['stderr'] * scale:.2g}{unit}"


def _counts(d: dict) -> str:
    """What the run folder holds: spectra and frequency scans (a scan-only run is not "0 spectra")."""
    scans = d.get("frequency_scan_files") or len(d.get("frequency_scans") or [])
    parts = [f"{d['spectra']} spectra"] if d["spectra"] or not scans else []
    if scans:
        parts.append(f"{scans} frequency scan{'s' if scans != 1 else ''}")
    return ", ".join(parts)


def _print_summary(d: dict) -> None:
    print(f"{d['name']} ({d['folder']}): {_counts(d)}")
    rows = [  # (label, value or None, text); quantities not derived are listed on one line
        ("xi_DL^E", d["xi_DL_E"], _fmt(d["xi_DL_E"], unit=" Ohm^-1 m^-1")),
        ("xi_FL+Oe^E", d["xi_FL_Oe_E"], _fmt(d["xi_FL_Oe_E"], unit=" Ohm^-1 m^-1")),
        ("xi_DL^j", d["xi_DL_j"], _fmt(d["xi_DL_j"], 100, " %")),
        ("mu0*M_eff", d["mu0_M_eff_T"], _fmt(d["mu0_M_eff_T"], unit=" T") + _fit_quality(d.get("kittel"))),
        ("alpha", d["alpha"], _fmt(d["alpha"]) + _fit_quality(d.get("damping"), _alpha_note(d))),
        ("I_rf (peak)", d["I_rf_peak_mA"], _fmt(d["I_rf_peak_mA"], unit=" mA")),
        ("Delta_R_AMR", d["Delta_R_AMR_Ohm"], _fmt(d["Delta_R_AMR_Ohm"], unit=" Ohm")),
    ]
    for label, value, text in rows:
        if value is not None:
            print(f"  {label:<12} {text}")
    if d.get("xi_DL_E_dc_bias"):
        print(f"  xi_DL^E (dc) {_fmt(d['xi_DL_E_dc_bias'], unit=' Ohm^-1 m^-1')}  (linewidth against dc current)")
    if d.get("V_S0_V") or d.get("V_A0_V"):
        at = f" (angular fit at {d['angular_frequency_GHz']:g} GHz)" if d.get("angular_frequency_GHz") else ""
        print(f"  V_S0         {_fmt(d.get('V_S0_V'), 1e6, ' uV')}{at}")
        print(f"  V_A0         {_fmt(d.get('V_A0_V'), 1e6, ' uV')}")
    for line in _budget_lines(d.get("uncertainty_budget")):
        print(line)
    if d.get("kittel") and d["kittel"]["g"]:
        from stfmr.analysis.resonance_series import describe_g

        print(f"  g            {describe_g(d['kittel']['g'])}")
    not_derived = [label for label, value, _ in rows if value is None]
    if not_derived:
        print(f"  not derived: {', '.join(not_derived)} (see missing)" if d["missing"] else
              f"  not derived: {', '.join(not_derived)}")
    for scan in d.get("frequency_scans") or []:
        for b in scan["branches"]:
            eq = b["field_equivalent"]
            print(f"  f-scan       {scan['file']} ({'+' if b['polarity'] > 0 else '-'}H): f_r {_fmt(b['f_r'], unit=' GHz')},"
                  f" df {_fmt(b['df'], unit=' GHz')}, dH {_fmt(eq['dH'], unit=' mT')}")
    for m in d.get("two_mode_fits") or []:
        print(f"  2 modes      {m['file']} ({'+' if m['polarity'] > 0 else '-'}H): H_r = "
              + ", ".join(f"{x['H_r']['value']:.2f}" for x in m["modes"]) + f" mT; {m['reason']}")
    pairs = d.get("branch_combination") or []
    if pairs:
        worst = max(pairs, key=lambda p: abs(p["V_S_non_reversing"]["value"]) / max(p["V_S_non_reversing"]["stderr"], 1e-30))
        print(f"  +H/-H        {len(pairs)} spectra on both branches; most significant non-reversing V_S "
              f"{_fmt(worst['V_S_non_reversing'], 1e6, ' uV')} ({worst['file']})")
    for f in d["failed_fits"]:
        print(f"  not fitted: {f['file']}: {f['reason']}")
    for s in d["skipped_files"]:
        print(f"  skipped: {s['file']}: {s['reason']}")
    for m in d["missing"]:
        print(f"  missing: {m}")
    for note in d.get("notes") or []:
        print(f"  note: {note}")
    for w in d.get("warnings") or []:
        print(f"  WARNING: {w}")


def _budget_lines(budgets: dict | None) -> list[str]:
    """ "  budget of xi_DL^E (0.84 %): I_0 97.9 %, V_S0 1.2 %, ...; exact: M_s t, length" per efficiency."""
    from stfmr.analysis.budget import BUDGET_RESULTS

    lines = []
    for key, label in BUDGET_RESULTS.items():
        b = (budgets or {}).get(key)
        if not b or b["relative_stderr"] is None:
            continue
        parts = [f"{x['input']} {x['share'] * 100:.1f} %" for x in b["inputs"] if abs(x["share"]) >= 0.0005]
        exact = [x["input"] for x in b["inputs"] if x["stderr"] == 0 and x["sensitivity"] != 0]
        tail = f"; exact (no error given): {', '.join(exact)}" if exact else ""
        lines.append(f"  budget       {label} +- {b['relative_stderr'] * 100:.2g} %: {', '.join(parts)}{tail}")
    return lines


def _fit_quality(fit: dict | None, note: str = "") -> str:
    """ "  (reduced chi-square 3.5 on 3 points, errors x1.88)" of a Kittel or damping record."""
    if not fit:
        return ""
    chi = "n/a" if fit["redchi"] is None else f"{fit['redchi']:.3g}"
    scaled = f", errors x{fit['error_scale']:.3g}" if fit["error_scale"] > 1 else ""
    return f"  (reduced chi-square {chi} on {fit['points']} points{scaled}{note})"


def _alpha_note(d: dict) -> str:
    damping = d.get("damping")
    return "; excludes g's error: g fixed" if damping and not damping["alpha_stderr_includes_g"] else ""
