"""``stfmr model``: the drift-diffusion model of self-induced torques in graded ferromagnets.

Examples::

    stfmr model --stack examples/stacks/graded_NiFe_typeA.toml --plot fig.png
    stfmr model --case all --json
    stfmr model --case II-A,II-B --weighting macrospin
    stfmr model --measured examples/measured_paper_t3nm.toml --fit theta_Ni,theta_Fe
    stfmr model --measured examples/measured_paper_t3nm.toml --measured-sign-convention opposite-sigma
    stfmr model --thickness-series 0,1,2,3,4,6,8 --measured analysis.json --plot fig5.png
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from stfmr.app.cli_args import input_file
from stfmr.app.output_files import add_force_option, check_outputs, existing_files

HELP = "model self-induced torques of a graded stack (drift-diffusion), the paper's cases, and fits to measurements"


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the arguments of ``stfmr model``."""
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--stack", metavar="FILE", help="stack description (TOML) to model")
    what.add_argument(
        "--case",
        metavar="CASES",
        help="paper case(s): I-A, I-B, II-A, II-B, III-A, III-B, IV-A, IV-B, II+III-A, II+III-B, "
        "comma-separated, or 'all'",
    )
    what.add_argument(
        "--thickness-series",
        metavar="NM",
        help="sink thicknesses (nm, comma-separated, 0 = no sink): type A, B and A-B against the sink "
        "thickness (the paper's Fig. 5), with --measured samples at their own thickness",
    )
    parser.add_argument("--compositions", metavar="FILE", help="composition table (TOML) replacing the shipped one")
    parser.add_argument(
        "--weighting",
        choices=("local-average", "macrospin"),
        help="how local torques add up (default: the stack's, else local-average)",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--plot", metavar="OUT.png", help="write a Fig.-4-like figure")
    parser.add_argument("--profile", metavar="NAME", help="which result's profiles the figure shows")
    add_force_option(parser)
    parser.add_argument(
        "--measured",
        metavar="FILE",
        help="measured xi values: JSON from 'stfmr analyze --json' or a TOML of [[sample]] tables",
    )
    parser.add_argument(
        "--measured-sign-convention",
        dest="measured_sign_convention",
        choices=("stfmr", "opposite-sigma"),
        default="stfmr",
        help="sign convention of the measured xi_DL: stfmr's (Pt/Py positive, default) or opposite-sigma "
        "(computed with the opposite sign of sigma); the model itself never changes",
    )
    parser.add_argument(
        "--kind",
        metavar="NAME=KIND",
        action="append",
        default=[],
        help="which model a measured sample is: A, B or reference (repeatable; default: from the sample's name)",
    )
    parser.add_argument(
        "--fit",
        metavar="PARAMS",
        help="fit these model parameters to --measured (comma-separated) out of: "
        "theta_Ni, theta_Fe, l_sf_nm, l_J_nm, l_phi_nm, sink_rho_uOhm_cm, sink_l_sf_nm, sink_theta_SH, "
        "sink_thickness_nm, Ms_scale",
    )


def _format_results(results: list) -> str:
    head = (
        f"{'name':<18} {'weighting':<13} {'T_DL/E':>10} {'T_FL/E':>10} {'T_Oe/E':>10} "
        f"{'xi_DL^E':>10} {'xi_FL^E':>10} {'xi_Oe^E':>10} {'xi_FL+Oe^E':>10}"
    )
    lines = [head, "(T/E in rad s^-1 per V m^-1, xi^E in Ohm^-1 m^-1)"]
    for r in results:
        t = r.selected
        lines.append(
            f"{r.name:<18} {r.weighting:<13} {t.T_DL_per_E:10.4g} {t.T_FL_per_E:10.4g} {t.T_Oe_per_E:10.4g} "
            f"{t.xi_DL_E:10.4g} {t.xi_FL_E:10.4g} {t.xi_Oe_E:10.4g} {t.xi_FL_Oe_E:10.4g}"
        )
    return "\n".join(lines)


def _format_comparison(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'sample':<14} {'kind':<10} {'quantity':<11} {'reported':>12} {'stderr':>9} {'as stfmr':>12} "
             f"{'model':>12}"]
    for row in rows:
        for q in ("xi_DL_E", "xi_FL_Oe_E"):
            v = row[q]
            if v["measured"] is None:
                continue
            lines.append(
                f"{row['name']:<14} {row['kind']:<10} {q:<11} {v['measured']:12.4g} {v['stderr']:9.2g} "
                f"{v['measured_stfmr']:12.4g} {v['model']:12.4g}"
            )
    return "\n".join(lines)


def _format_convention(convention: str, agreement: dict[str, dict[str, bool]]) -> str:
    from stfmr.analysis.gradient.compare import MEASURED_SIGN_CONVENTIONS

    lines = [f"measured_sign_convention = {convention}: {MEASURED_SIGN_CONVENTIONS[convention][1]}",
             "  ('as stfmr' is the measured value in stfmr's convention, the one the model is compared with)",
             "sign of the model's xi_DL against the measured one, under each convention:"]
    for name, samples in agreement.items():
        shown = ", ".join(f"{s} {'agrees' if ok else 'OPPOSITE'}" for s, ok in samples.items())
        lines.append(f"  {name:<15} {shown}" + ("   <- chosen" if name == convention else ""))
    return "\n".join(lines)


def _format_fit(fit) -> str:
    stats = (f"chi2 = {fit.chisqr:.4g} for {fit.dof} degrees of freedom, reduced chi-square {fit.redchi:.4g}"
             if fit.dof > 0 else f"chi2 = {fit.chisqr:.4g}, no degrees of freedom")
    lines = [f"fit of {', '.join(fit.names)} ({fit.weighting}, measured_sign_convention = "
             f"{fit.measured_sign_convention}): {stats}, {fit.ndata} data",
             f"  verdict: {fit.verdict}"]
    for n in fit.names:
        err = fit.stderr[n]
        text = f"  {n:<20} = {fit.values[n]:.6g}" + (f" +- {err:.2g}" if err is not None else " (no stderr)")
        if err is not None and fit.error_scale > 1:
            text += f" (scaled x{fit.error_scale:.3g})"
        for flag in fit.flags:
            if flag.name == n:
                text += f"  <- {flag.problem.upper()} ({flag.low:g} to {flag.high:g})"
        lines.append(text)
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Run the model and print (or write) the results; returns the exit status."""
    from stfmr.analysis.gradient.cases import parse_cases, run_cases
    from stfmr.analysis.gradient.compare import comparison_table, fit_parameters, load_measured, sign_agreement
    from stfmr.analysis.gradient.conclusions import format_conclusions, robust_conclusions
    from stfmr.analysis.gradient.compositions import load_compositions
    from stfmr.analysis.gradient.stack import load_stack
    from stfmr.analysis.gradient.torques import evaluate

    if not (args.stack or args.case or args.measured or args.thickness_series):
        raise ValueError("nothing to model: give --stack FILE, --case CASES, --thickness-series NM or --measured FILE")
    if args.thickness_series and args.fit:
        raise ValueError("--fit applies to samples of one sink thickness, not to --thickness-series")
    if args.fit and not args.measured:
        raise ValueError("--fit needs --measured FILE")
    if args.stack and args.compositions:
        raise ValueError("--compositions applies to --case and --measured, not to --stack")
    for option in ("--stack", "--compositions", "--measured"):
        input_file(getattr(args, option[2:]), option)
    if args.plot:
        check_outputs([args.plot], option="--plot", force=args.force,
                      inputs=existing_files([args.stack, args.compositions, args.measured]))
    table = load_compositions(args.compositions) if (args.case or args.measured or args.thickness_series) else None
    kinds = {}
    for item in args.kind:
        name, sep, kind = item.rpartition("=")
        if not sep or not name:
            raise ValueError(f"--kind {item!r}: use NAME=KIND, e.g. --kind 'sample 7=A'")
        kinds[name] = kind
    if kinds and not args.measured:
        raise ValueError("--kind needs --measured FILE")
    series_points = None
    if args.thickness_series:
        from stfmr.analysis.gradient.thickness import load_points, parse_thicknesses

        thicknesses = parse_thicknesses(args.thickness_series)
        series_points = load_points(args.measured, kinds=kinds) if args.measured else []
        if series_points:
            from dataclasses import replace

            from stfmr.analysis.gradient.compare import in_stfmr_convention

            series_points = [replace(p, sample=in_stfmr_convention([p.sample], args.measured_sign_convention)[0])
                             for p in series_points]
    measured = load_measured(args.measured, kinds=kinds) if args.measured and series_points is None else []
    fit_names = [n.strip() for n in args.fit.split(",") if n.strip()] if args.fit else []
    weighting = args.weighting

    results = []
    if args.stack:
        stack = load_stack(args.stack)
        results = [evaluate(stack, weighting=weighting or stack.weighting)]
    elif args.case:
        assert table is not None  # loaded for --case
        results = run_cases(parse_cases(args.case), table, weighting=weighting or "local-average")

    fit = None
    out: dict[str, Any] = {"cases": [r.to_dict() for r in results]}
    text: list[str] = []
    if results:
        text.append(_format_results(results))
    if series_points is not None:
        from stfmr.analysis.gradient.thickness import format_series, plot_series, thickness_series

        assert table is not None  # loaded for --thickness-series
        series = thickness_series(table, thicknesses, series_points, weighting=weighting or "local-average")
        series["measured_sign_convention"] = args.measured_sign_convention
        out["thickness_series"] = series
        text.append(format_series(series))
        if args.plot:
            text.append(f"figure written to {plot_series(series, args.plot)}")
    if measured:
        assert table is not None  # loaded for --measured
        w = weighting or "local-average"
        convention = args.measured_sign_convention
        fit = fit_parameters(measured, table, fit_names, weighting=w,
                             measured_sign_convention=convention) if fit_names else None
        rows = comparison_table(measured, table, weighting=w, measured_sign_convention=convention)
        agreement = sign_agreement(rows)
        conclusions = robust_conclusions(table)
        out["measured_sign_convention"] = convention
        out["comparison"] = rows
        out["sign_agreement"] = agreement
        out["conclusions"] = [c.to_dict() for c in conclusions]
        text.append(_format_convention(convention, agreement))
        text.append("model (composition table" + (", before the fit" if fit else "") + ") against measurement:")
        text.append(_format_comparison(rows))
        text.append(format_conclusions(conclusions))
        if fit is not None:
            out["fit"] = fit.to_dict()
            out["comparison_after_fit"] = comparison_table(measured, fit.table, weighting=w,
                                                           measured_sign_convention=convention)
            text.append(_format_fit(fit))
            text.append("model after the fit against measurement:")
            text.append(_format_comparison(out["comparison_after_fit"]))
    if args.plot and series_points is None:
        from stfmr.analysis.gradient.cases import sample_stack

        shown = results
        if not shown:  # --measured alone: plot the sample models
            src = fit.table if fit is not None else table
            assert src is not None  # nothing to show without --stack or --case means --measured: table loaded
            shown = [
                evaluate(sample_stack(k, src), weighting=weighting or "local-average", name=f"model {k}")
                for k in sorted({s.kind for s in measured})
            ]
        from stfmr.analysis.gradient.plot import plot_model

        from stfmr.analysis.gradient.compare import in_stfmr_convention

        convention = args.measured_sign_convention
        path = plot_model(shown, args.plot, profile=args.profile,
                          measured=in_stfmr_convention(measured, convention),
                          title=f"measured xi_DL shown in stfmr's convention (reported as {convention})" if measured
                          else None)
        text.append(f"figure written to {path}")
    if args.json:
        json.dump(out, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        print("\n\n".join(text))
    return 0
