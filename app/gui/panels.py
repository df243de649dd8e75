"""The GUI's plot panels, as pymeasure TabWidgets so the browser drives them.

- :class:`SpectrumPanel`: every spectrum of the series overlaid in its own
  colour (one pymeasure ResultsCurve each, updated as points arrive; the -H
  branch in a darker shade of it, with triangles), the running fit over the
  newest one and its V_S, V_A, H_r, dH read out;
- :class:`AngularPanel`: V_S(phi), V_A(phi) of each field branch (+H blue, -H
  red) with error bars, the cos^2(phi)*sin(phi) and general fits, and xi_DL^E,
  xi_FL+Oe^E once the calibrations exist;
- :class:`FrequencyPanel`: H_r(f) with the Kittel fit, dH(f) with the damping fit;
- :class:`ModelPanel`: the measured efficiencies beside the gradient model's
  cases (the paper's Fig. 4h), stack composition table and weighting selectable.

Legends sit in a row of their own under each plot, never over the data.
Large series stay fast: curves clip to the view and downsample (peak mode).
Every number shown comes from the analysis core (stfmr.analysis), so the GUI
and ``stfmr analyze`` agree by construction.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from pymeasure.display.curves import ResultsCurve
from pymeasure.display.widgets import TabWidget
from PyQt6 import QtCore, QtGui, QtWidgets

from stfmr.analysis import columns as col
from stfmr.analysis.angular import fit_angular
from stfmr.analysis.fit_common import FitInputError
from stfmr.analysis.characterize import SampleAnalysis

FIELD, FIELD_SET, VOLTAGE = col.FIELD, col.FIELD_SET, col.V_FMR


def _sweep_column(procedure) -> str:
    """The column a spectrum is plotted against: the field, or the frequency of a frequency scan."""
    return getattr(procedure, "SWEEP_COLUMN", FIELD)
#: above this many points a spectrum is drawn as a line only: symbols cost ~5x more to paint
SYMBOL_LIMIT = 1000
#: how the two field branches are told apart wherever both are plotted (+1: +H, -1: -H)
BRANCH_COLOURS = {1: "b", -1: "r"}
BRANCH_SYMBOLS = {1: "o", -1: "t"}
BRANCH_NAMES = {1: "+H", -1: "−H"}
#: a spectrum's -H branch is drawn this much darker than its +H branch (Qt's darker(): 200 = half the value)
NEGATIVE_BRANCH_DARKER = 200


def _fmt(q: dict | None, unit: str = "", scale: float = 1.0) -> str:
    if q is None:
        return "n/a"
    return f"{q['value'] * scale:.5g} ± {q['stderr'] * scale:.2g}{unit}"


def fast_curve(item: pg.PlotDataItem) -> pg.PlotDataItem:
    """Clip to the view and downsample, so a 100,000-point series redraws in milliseconds."""
    item.setClipToView(True)
    item.setDownsampling(auto=True, method="peak")
    return item


def export_plot(plot: pg.PlotWidget, path_stem: Path) -> list[Path]:
    """Write a plot as PNG and SVG; return the paths.

    The SVG is rendered by Qt's QSvgGenerator: pyqtgraph's SVGExporter cannot
    parse the path data Qt 6.11 writes (it fails on every plot).
    """
    from pyqtgraph.exporters import ImageExporter
    from PyQt6 import QtGui, QtSvg

    paths = [path_stem.with_suffix(".png"), path_stem.with_suffix(".svg")]
    ImageExporter(plot.getPlotItem()).export(str(paths[0]))
    generator = QtSvg.QSvgGenerator()
    generator.setFileName(str(paths[1]))
    size = plot.size()
    generator.setSize(size)
    generator.setViewBox(QtCore.QRect(0, 0, size.width(), size.height()))
    generator.setTitle(path_stem.name)
    painter = QtGui.QPainter(generator)
    try:
        plot.render(painter)
    finally:
        painter.end()
    return paths


def legend_below(plot: pg.PlotWidget, columns: int = 4) -> pg.LegendItem:
    """A legend in a row of its own under the plot's bottom axis, so it never covers data.

    Plot items created with a ``name`` join it, as they would join ``addLegend``'s;
    it is part of the plot, so exported images carry it.
    """
    item = plot.getPlotItem()
    legend = pg.LegendItem(offset=None, colCount=columns, frame=False, labelTextSize="8pt")
    item.layout.addItem(legend, 4, 1)
    item.layout.setAlignment(legend, QtCore.Qt.AlignmentFlag.AlignHCenter)
    item.legend = legend
    return legend


def negative_branch_colour(colour) -> QtGui.QColor:
    """The colour of a spectrum's -H branch: a darker shade of its (+H) colour, so each branch differs
    while the spectrum keeps its hue (the browser's swatch)."""
    return pg.mkColor(colour).darker(NEGATIVE_BRANCH_DARKER)


def draw_spectrum(curve: pg.PlotDataItem, negative: pg.PlotDataItem, x: np.ndarray, voltage_V: np.ndarray,
                  field_mT: np.ndarray | None = None, positive_shown: int = -1) -> int:
    """Set a spectrum's data: the +H branch on ``curve``, the -H branch on ``negative`` (its own colour).

    x: the swept quantity (the field, or the frequency of a frequency scan);
    field_mT: the (set) field per point, whose sign tells the branch; default x.
    A -0.0 set field (the -H branch of a sweep from 0 mT) counts as -H.
    positive_shown: +H points already on ``curve`` from these same rows (a file's rows
    never change, only grow): if there are still that many, ``curve`` is left as it is,
    so measuring the -H branch redraws only that. Returns the +H points shown.
    """
    field = x if field_mT is None else field_mT
    on_negative = np.signbit(field)
    if len(x) > SYMBOL_LIMIT:
        for item in (curve, negative):
            if item.opts["symbol"] is not None:
                item.setSymbol(None)
    if not on_negative.any():
        if len(x) != positive_shown:
            curve.setData(x, voltage_V)
        if negative.xData is not None and len(negative.xData):
            negative.setData([], [])
        return len(x)
    on_positive = ~on_negative
    positive = int(np.count_nonzero(on_positive))
    if positive != positive_shown:
        curve.setData(x[on_positive], voltage_V[on_positive])
    negative.setData(x[on_negative], voltage_V[on_negative])
    return positive


def _readable(procedure) -> bool:
    """False while a file cannot be read whole: queued, or running while pymeasure rewrites its header
    with the Metadata (a read torn by that rewrite poisons the Results' cache)."""
    if procedure.status == procedure.QUEUED:
        return False
    return not (procedure.status == procedure.RUNNING and not getattr(procedure, "measuring", False))


class RowTail:
    """The complete rows of a Results file being written, read incrementally.

    Only whole lines (ending in a line break) are taken: the row being written
    at that moment is left for the next read, so a read never sees half a
    number. (pymeasure's ``Results.data`` parses whatever is on disk, and a torn
    last row poisons its cache.) Only the columns asked for are kept.
    """

    def __init__(self, path: str | Path, columns: list[str]) -> None:
        self.path = Path(path)
        self.wanted = list(columns)
        self.offset = 0
        self.index: list[int] | None = None
        self.data = np.empty((0, len(self.wanted)))

    def read(self) -> int:
        """Take the rows written since the last read; return how many rows there are in all."""
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                chunk = fh.read()
        except OSError:
            return len(self.data)
        end = chunk.rfind(b"\n")
        if end < 0:
            return len(self.data)
        self.offset += end + 1
        new: list[list[float]] = []
        lines = (line for line in chunk[:end].decode("utf-8", errors="replace").splitlines()
                 if line and not line.startswith("#"))
        for cells in csv.reader(lines):
            if self.index is None:
                if all(c in cells for c in self.wanted):
                    self.index = [cells.index(c) for c in self.wanted]
                continue
            try:
                new.append([float(cells[i]) for i in self.index])
            except (ValueError, IndexError):
                continue  # not a data row of this file
        if new:
            self.data = np.concatenate([self.data, np.asarray(new, dtype=float)])
        return len(self.data)

    def column(self, k: int) -> np.ndarray:
        return self.data[:, k]


class SpectrumCurve(ResultsCurve):
    """A spectrum's ResultsCurve (its +H branch), with its -H branch in :attr:`negative`.

    Always drawn with :func:`draw_spectrum`; the panel adds and removes both items together.
    """

    def __init__(self, results, **kwargs) -> None:
        super().__init__(results, **kwargs)
        self.negative = pg.PlotDataItem(symbol=BRANCH_SYMBOLS[-1], symbolSize=4, symbolPen=None)
        self.style_negative(self.color)

    def style_negative(self, colour) -> None:
        """Draw the -H branch in the darker shade of ``colour`` (the +H branch's colour)."""
        dark = negative_branch_colour(colour)
        self.negative.setPen(pg.mkPen(color=dark, width=1))
        if self.negative.opts["symbol"] is not None:
            self.negative.setSymbolBrush(dark)

    def redraw(self, force: bool = False) -> None:
        """Redraw if the file has grown (complete rows only, read incrementally), or always with ``force``."""
        x = _sweep_column(self.results.procedure)
        tail = getattr(self, "_tail", None)
        if tail is None:
            has_set = FIELD_SET in self.results.procedure.DATA_COLUMNS
            tail = self._tail = RowTail(self.results.data_filename, [x, VOLTAGE] + ([FIELD_SET] if has_set else []))
        rows = tail.read()
        if rows == 0 or (not force and getattr(self, "_shown_rows", -1) == rows):
            return
        branch_field = tail.column(2) if len(tail.wanted) == 3 else None  # the set field's sign: no noise
        self._shown_positive = draw_spectrum(self, self.negative, tail.column(0), tail.column(1), branch_field,
                                             -1 if force else getattr(self, "_shown_positive", -1))
        self._shown_rows = rows

    def update_data(self) -> None:
        """pymeasure's own refresh (its Manager calls it when a run ends): the same drawing."""
        self.redraw(force=True)


class SpectrumPanel(TabWidget, QtWidgets.QWidget):
    """Live V_FMR(H) traces with the running fit of the newest spectrum (frequency scans: V_FMR(f))."""

    def __init__(self, name: str = "Spectra", parent=None) -> None:
        TabWidget.__init__(self, name, parent)  # pymeasure's TabWidget (untyped) takes the tab name first
        self.plot = pg.PlotWidget(background="w")
        self.plot.setLabel("bottom", FIELD)
        self.plot.setLabel("left", VOLTAGE)
        legend_below(self.plot)
        key = pg.mkColor("#606060")
        self.plot.plot(pen=pg.mkPen(key), symbol=BRANCH_SYMBOLS[1], symbolSize=5, symbolPen=None, symbolBrush=key,
                       name="+H: the spectrum's colour")
        dark = negative_branch_colour(key)
        self.plot.plot(pen=pg.mkPen(dark), symbol=BRANCH_SYMBOLS[-1], symbolSize=5, symbolPen=None, symbolBrush=dark,
                       name="−H: a darker shade of it")
        self.fit_curves = [self.plot.plot(pen=pg.mkPen("k", width=2, style=QtCore.Qt.PenStyle.DashLine))
                           for _ in range(2)]
        self.readout = QtWidgets.QLabel("fit: waiting for a resonance")
        self.readout.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.plot)
        layout.addWidget(self.readout)
        self.curves: list[SpectrumCurve] = []
        self.latest_fits: list = []

    # -- the TabWidget interface the browser uses -------------------------------------------

    def new_curve(self, results, color=pg.intColor(0), **kwargs):
        if VOLTAGE not in results.procedure.DATA_COLUMNS:
            return None
        curve = SpectrumCurve(results, x=_sweep_column(results.procedure), y=VOLTAGE, pen=pg.mkPen(color=color, width=1),
                             symbol=BRANCH_SYMBOLS[1], symbolSize=3, symbolPen=None, symbolBrush=color, wdg=self)
        return curve

    def load(self, curve) -> None:
        if curve is None or curve in self.curves:
            return
        self.plot.addItem(curve)
        self.plot.addItem(curve.negative)
        self.plot.setLabel("bottom", _sweep_column(curve.results.procedure))
        fast_curve(curve)  # clip/downsample need the curve inside the plot's ViewBox
        fast_curve(curve.negative)
        self.curves.append(curve)
        if _readable(curve.results.procedure):
            self._update(curve)

    def remove(self, curve) -> None:
        if curve in self.curves:
            self.plot.removeItem(curve)
            self.plot.removeItem(curve.negative)
            self.curves.remove(curve)

    def set_color(self, curve, color) -> None:
        if curve is not None:
            curve.setPen(pg.mkPen(color=color, width=1))
            curve.setSymbolBrush(color)
            curve.color = pg.mkColor(color)
            curve.style_negative(color)

    # -- live updates --------------------------------------------------------------------------

    def refresh(self) -> None:
        """Pull new points of the curve being measured, and a finished curve's last points once (GUI timer).

        Queued and settled curves are not polled: every poll of a pymeasure
        Results re-opens and parses its file.
        """
        for curve in self.curves:
            procedure = curve.results.procedure
            if getattr(curve, "_settled", False) or not _readable(procedure):
                continue
            shown = getattr(curve, "_shown_rows", -1)
            self._update(curve)
            if procedure.status != procedure.RUNNING and getattr(curve, "_shown_rows", -1) == shown:
                # settled only once a poll after the end finds nothing new: pymeasure reports
                # the end before its recorder has flushed the last rows
                curve._settled = True

    @staticmethod
    def _update(curve: SpectrumCurve) -> None:
        curve.redraw()

    def show_fits(self, fits: list) -> None:
        """Draw the running fit over the newest spectrum and read out its parameters."""
        self.latest_fits = fits
        lines = []
        for k, curve in enumerate(self.fit_curves):
            if k < len(fits):
                fit = fits[k]
                lo, hi = fit.field_range_mT
                h = np.linspace(lo, hi, 400)
                curve.setData(h, fit.evaluate(h))
                v, e = fit.values, fit.stderr
                lines.append(
                    f"{'+' if fit.polarity > 0 else '−'} branch:  V_S = {v['V_S'] * 1e6:.4g} ± {e['V_S'] * 1e6:.2g} µV   "
                    f"V_A = {v['V_A'] * 1e6:.4g} ± {e['V_A'] * 1e6:.2g} µV   "
                    f"H_r = {v['H_r']:.3f} ± {e['H_r']:.3f} mT   dH = {v['dH']:.3f} ± {e['dH']:.3f} mT")
            else:
                curve.setData([], [])
        self.readout.setText("\n".join(lines) if lines else "fit: waiting for a resonance")


class AngularPanel(TabWidget, QtWidgets.QWidget):
    """V_S and V_A against phi with the paper's and the general fit, and the efficiencies."""

    def __init__(self, name: str = "Angular", parent=None) -> None:
        TabWidget.__init__(self, name, parent)  # pymeasure's TabWidget (untyped) takes the tab name first
        self.plots = {}
        layout = QtWidgets.QVBoxLayout(self)
        row = QtWidgets.QHBoxLayout()
        for comp in ("S", "A"):
            plot = pg.PlotWidget(background="w", title=f"V_{comp}(φ)")
            plot.setLabel("bottom", "Angle (deg)")
            plot.setLabel("left", f"V_{comp} (V)")
            legend_below(plot)
            branches = {}
            for polarity, colour in BRANCH_COLOURS.items():
                errors = pg.ErrorBarItem(x=np.array([]), y=np.array([]), height=np.array([]),
                                         pen=pg.mkPen(colour, width=1), beam=4.0)
                plot.addItem(errors)
                points = plot.plot(pen=None, symbol=BRANCH_SYMBOLS[polarity], symbolSize=7, symbolPen=None,
                                   symbolBrush=colour, name=BRANCH_NAMES[polarity])
                branches[polarity] = {"points": points, "errors": errors}
            self.plots[comp] = {
                "widget": plot,
                "branches": branches,
                "paper": plot.plot(pen=pg.mkPen("k", width=2), name="cos²φ sinφ"),
                "general": plot.plot(pen=pg.mkPen("m", width=1, style=QtCore.Qt.PenStyle.DashLine), name="general"),
            }
            row.addWidget(plot)
        layout.addLayout(row)
        self.efficiencies = QtWidgets.QLabel("efficiencies: need an angle sweep, AMR, rf calibration and Kittel fit")
        self.efficiencies.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.efficiencies)
        self.general_fit = None

    def show_analysis(self, analysis: SampleAnalysis) -> None:
        fit = analysis.angular
        f = analysis.angular_frequency_GHz
        phi, vs, va = [], [], []
        fitted = []  # (phi in degrees, the branch's fit)
        for s in analysis.run.spectra:  # a dc-biased spectrum belongs to the DC bias tab
            if f is not None and abs(s.frequency_GHz - f) < 1e-6 and s.file in analysis.fits and s.dc_current_mA == 0:
                for branch in analysis.fits[s.file]:
                    phi.append((s.angle_deg if branch.polarity == 1 else s.angle_deg + 180.0) % 360)
                    vs.append(branch.values["V_S"])
                    va.append(branch.values["V_A"])
                    fitted.append((phi[-1], branch))
        fine = np.linspace(0, 360, 361)
        self.general_fit = None
        if len(phi) >= 8:
            try:
                self.general_fit = fit_angular(phi, vs, va, form="general", fit_offset=True)
            except FitInputError:
                self.general_fit = None
        for comp in ("S", "A"):
            p = self.plots[comp]
            for polarity, drawn in p["branches"].items():
                mine = [(angle, fit) for angle, fit in fitted if fit.polarity == polarity]
                x = np.array([angle for angle, _ in mine], dtype=float)
                y = np.array([fit.values[f"V_{comp}"] for _, fit in mine], dtype=float)
                error = np.array([fit.stderr[f"V_{comp}"] for _, fit in mine], dtype=float)
                drawn["points"].setData(x, y)
                drawn["errors"].setData(x=x, y=y, height=2 * error)  # +- one standard error
            p["paper"].setData(fine, fit.evaluate(fine, comp) if fit is not None else [])
            p["general"].setData(fine, self.general_fit.evaluate(fine, comp) if self.general_fit is not None else [])
        d = analysis.to_dict()
        if d["xi_DL_E"] is not None:
            self.efficiencies.setText(
                f"at {f:g} GHz:  ξ_DL^E = {_fmt(d['xi_DL_E'], ' Ω⁻¹m⁻¹')}    ξ_FL+Oe^E = {_fmt(d['xi_FL_Oe_E'], ' Ω⁻¹m⁻¹')}"
                f"    ξ_DL^j = {_fmt(d['xi_DL_j'], ' %', 100)}")
        elif analysis.missing:
            self.efficiencies.setText("efficiencies: " + "; ".join(analysis.missing[:2]))

    def export(self, folder: Path) -> list[Path]:
        return [p for comp in ("S", "A") for p in export_plot(self.plots[comp]["widget"], folder / f"angular_V{comp}")]


class FrequencyPanel(TabWidget, QtWidgets.QWidget):
    """H_r(f) with the Kittel fit and dH(f) with the damping fit."""

    def __init__(self, name: str = "Frequency", parent=None) -> None:
        TabWidget.__init__(self, name, parent)  # pymeasure's TabWidget (untyped) takes the tab name first
        layout = QtWidgets.QHBoxLayout(self)
        self.kittel = pg.PlotWidget(background="w", title="Kittel")
        self.kittel.setLabel("bottom", "Frequency (GHz)")
        self.kittel.setLabel("left", "H_r (mT)")
        self.damping = pg.PlotWidget(background="w", title="Damping")
        self.damping.setLabel("bottom", "Frequency (GHz)")
        self.damping.setLabel("left", "dH (mT)")
        self.items = {
            "hr": self.kittel.plot(pen=None, symbol="o", symbolBrush="b"),
            "hr_fit": self.kittel.plot(pen=pg.mkPen("k", width=2)),
            "dh": self.damping.plot(pen=None, symbol="o", symbolBrush="b"),
            "dh_fit": self.damping.plot(pen=pg.mkPen("k", width=2)),
        }
        layout.addWidget(self.kittel)
        layout.addWidget(self.damping)

    def show_analysis(self, analysis: SampleAnalysis) -> None:
        f, hr, dh = [], [], []
        for s in analysis.run.spectra:
            for fit in analysis.fits.get(s.file, []):
                if fit.polarity == 1 and s.dc_current_mA == 0:
                    f.append(s.frequency_GHz)
                    hr.append(fit.values["H_r"])
                    dh.append(fit.values["dH"])
        self.items["hr"].setData(f, hr)
        self.items["dh"].setData(f, dh)
        if f and analysis.kittel is not None:
            fine = np.linspace(min(f) * 0.9, max(f) * 1.05, 200)
            self.items["hr_fit"].setData(fine, analysis.kittel.resonance_field_mT(fine))
            self.kittel.setTitle(f"Kittel: μ0M_eff = {analysis.kittel.values['mu0_Meff_T']:.4g} T, "
                                 f"g = {analysis.kittel.values['g']:.4g}")
            if analysis.damping is not None:
                self.items["dh_fit"].setData(fine, analysis.damping.linewidth_mT(fine))
                self.damping.setTitle(f"Damping: α = {analysis.damping.values['alpha']:.4g}")

    def export(self, folder: Path) -> list[Path]:
        return export_plot(self.kittel, folder / "kittel") + export_plot(self.damping, folder / "damping")


class DcBiasPanel(TabWidget, QtWidgets.QWidget):
    """dH against I_dc on each field branch with the fitted odd and even parts, and xi_DL^E from the slope."""

    COLOURS = BRANCH_COLOURS

    def __init__(self, name: str = "DC bias", parent=None) -> None:
        TabWidget.__init__(self, name, parent)  # pymeasure's TabWidget (untyped) takes the tab name first
        self.plot = pg.PlotWidget(background="w", title="Linewidth against dc current")
        self.plot.setLabel("bottom", "I_dc (mA)")
        self.plot.setLabel("left", "dH (mT)")
        legend_below(self.plot)
        self.items = {}
        for polarity, colour in self.COLOURS.items():
            sign = "+" if polarity > 0 else "−"
            self.items[polarity] = (
                self.plot.plot(pen=None, symbol="o", symbolSize=7, symbolBrush=colour, name=f"{sign}H"),
                self.plot.plot(pen=pg.mkPen(colour, width=2)),
            )
        self.result = QtWidgets.QLabel("dc bias: needs spectra at 3 or more dc currents of both signs (and AMR for R)")
        self.result.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.plot)
        layout.addWidget(self.result)

    def show_analysis(self, analysis: SampleAnalysis) -> None:
        for points, curve in self.items.values():
            points.setData([], [])
            curve.setData([], [])
        if not analysis.dc_bias:
            return
        group = analysis.dc_bias[0]
        for branch in group.branches:
            points, curve = self.items[branch.polarity]
            points.setData(branch.I_dc_mA, branch.dH_mT)
            i = np.linspace(branch.I_dc_mA.min(), branch.I_dc_mA.max(), 100)
            v = branch.fit.values
            curve.setData(i, v["dH_at_0_mT"] + v["slope_mT_per_mA"] * i + v["curvature_mT_per_mA2"] * i**2)
        xi = analysis.dc_bias_xi()
        slopes = "   ".join(f"{'+' if b.polarity > 0 else '−'}H: dα/dI = {b.damping_slope_per_A.nominal_value:.3g}"
                           f" ± {b.damping_slope_per_A.std_dev:.2g} A⁻¹" for b in group.branches)
        self.result.setText(f"at {group.frequency_GHz:g} GHz, {group.angle_deg:g} deg:  {slopes}\n"
                            + (f"ξ_DL^E (dc bias) = {_fmt(xi, ' Ω⁻¹m⁻¹')}" if xi is not None
                               else "ξ_DL^E needs R from an AMR measurement and the sample record"))

    def export(self, folder: Path) -> list[Path]:
        return export_plot(self.plot, folder / "dc_bias")


class ModelPanel(TabWidget, QtWidgets.QWidget):
    """Measured xi_DL^E beside the gradient model's cases: the paper's Fig. 4h, live.

    Measured points are drawn in stfmr's sign convention, converted from the chosen
    ``measured_sign_convention``; a measured sample whose name says its kind (type A,
    type B, reference) gets its sample model's bar beside it. Below the plot: the sign
    agreement under the chosen convention and the convention-free conclusions, computed
    from the composition table.
    """

    def __init__(self, name: str = "Model", parent=None) -> None:
        from PyQt6 import QtGui

        from stfmr.analysis.gradient.compare import MEASURED_SIGN_CONVENTIONS

        TabWidget.__init__(self, name, parent)  # pymeasure's TabWidget (untyped) takes the tab name first
        layout = QtWidgets.QVBoxLayout(self)
        controls = QtWidgets.QHBoxLayout()
        self.weighting = QtWidgets.QComboBox()
        self.weighting.addItems(["local-average", "macrospin"])
        self.compositions = QtWidgets.QPushButton("Composition table…")
        self.compositions_path: str | None = None
        self.sign_convention = QtWidgets.QComboBox()
        for key, (_, meaning) in MEASURED_SIGN_CONVENTIONS.items():
            self.sign_convention.addItem(key, key)
            self.sign_convention.setItemData(self.sign_convention.count() - 1, meaning,
                                             QtCore.Qt.ItemDataRole.ToolTipRole)
        controls.addWidget(QtWidgets.QLabel("Weighting:"))
        controls.addWidget(self.weighting)
        controls.addWidget(self.compositions)
        controls.addWidget(QtWidgets.QLabel("measured_sign_convention:"))
        controls.addWidget(self.sign_convention)
        controls.addStretch(1)
        layout.addLayout(controls)
        self.plot = pg.PlotWidget(background="w", title="ξ_DL^E: model cases and measurement")
        self.plot.setLabel("left", "ξ_DL^E (Ω⁻¹ m⁻¹), stfmr's convention")
        layout.addWidget(self.plot, 3)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.6, brush="c")
        self.plot.addItem(self.bars)
        self.sample_bars = pg.BarGraphItem(x=[], height=[], width=0.6, brush=(160, 160, 160))
        self.plot.addItem(self.sample_bars)
        self.measured = self.plot.plot(pen=None, symbol="s", symbolSize=10, symbolBrush="r")
        self.errors = pg.ErrorBarItem(x=np.array([]), y=np.array([]), height=np.array([]), pen="r")
        self.plot.addItem(self.errors)
        self.summary = QtWidgets.QPlainTextEdit()
        self.summary.setReadOnly(True)
        self.summary.setFont(QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont))
        layout.addWidget(self.summary, 2)
        self.weighting.currentTextChanged.connect(lambda _: self.update_model())
        self.sign_convention.currentIndexChanged.connect(lambda _: self.update_model())
        self.compositions.clicked.connect(self._choose_compositions)
        self.names: list[str] = []
        self.measured_points: list[tuple[str, float, float]] = []
        self.update_model()

    def _choose_compositions(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Composition table", "", "TOML (*.toml)")
        if path:
            self.compositions_path = path
            self.update_model()

    @property
    def convention(self) -> str:
        """The chosen measured_sign_convention ("stfmr" or "opposite-sigma")."""
        return str(self.sign_convention.currentData())

    def update_model(self) -> None:
        from stfmr.analysis.gradient.cases import CASE_NAMES, run_cases
        from stfmr.analysis.gradient.compare import MEASURED_SIGN_CONVENTIONS, infer_kind, model_values, xi_DL_factor
        from stfmr.analysis.gradient.compositions import load_compositions
        from stfmr.analysis.gradient.conclusions import format_conclusions, robust_conclusions

        table = load_compositions(self.compositions_path)
        weighting = self.weighting.currentText()
        results = run_cases(list(CASE_NAMES), table, weighting=weighting)
        self.names = [r.name for r in results] + [name for name, _, _ in self.measured_points]
        heights = [r.xi_DL_E for r in results]
        self.bars.setOpts(x=np.arange(len(heights)), height=heights, width=0.6)
        factor = xi_DL_factor(self.convention)
        lines = [f"measured_sign_convention = {self.convention}: {MEASURED_SIGN_CONVENTIONS[self.convention][1]}",
                 "red: measured ξ_DL in stfmr's convention; grey: the sample's model beside it"]
        sample_x, sample_h = [], []
        for i, (name, value, _) in enumerate(self.measured_points):
            kind = infer_kind(name)
            if kind is None:
                lines.append(f"{name}: kind unknown (name it 'type A', 'type B' or 'reference'), no model beside it")
                continue
            model = model_values(kind, table, weighting).xi_DL_E
            sample_x.append(len(heights) + i)
            sample_h.append(model)
            same = np.sign(model) == np.sign(factor * value)
            lines.append(f"{name}: model {model:.3g}, measured {factor * value:.3g} (as stfmr): "
                         + ("same sign" if same else "OPPOSITE sign"))
        self.sample_bars.setOpts(x=np.array(sample_x, dtype=float), height=sample_h, width=0.6)
        self._draw_measured(len(heights), factor)
        axis = self.plot.getAxis("bottom")
        axis.setTicks([list(enumerate(self.names))])
        lines.append("")
        lines.append(format_conclusions(robust_conclusions(table)))
        self.summary.setPlainText("\n".join(lines))

    def set_measured(self, points: list[tuple[str, float, float]]) -> None:
        """points: (sample name, xi_DL^E as reported, stderr) in Ohm^-1 m^-1."""
        self.measured_points = points
        self.update_model()

    def _draw_measured(self, offset: int, factor: int = 1) -> None:
        x = np.arange(offset, offset + len(self.measured_points), dtype=float)
        y = factor * np.array([p[1] for p in self.measured_points], dtype=float)
        e = np.array([p[2] for p in self.measured_points], dtype=float)
        self.measured.setData(x, y)
        self.errors.setData(x=x, y=y, height=2 * e)

    def export(self, folder: Path) -> list[Path]:
        return export_plot(self.plot, folder / "model")
