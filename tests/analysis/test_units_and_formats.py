"""Units from column names, other labs' file formats, repeated readings and the metadata table."""

from __future__ import annotations

import numpy as np
import pytest
from support import other_labs as labs

from stfmr.analysis.constants import MU0
from stfmr.analysis.datafile import DataFileError, header_quantity, read_datafile
from stfmr.analysis.metadata_table import MetadataError, MetadataTable
from stfmr.analysis.spectrum_columns import RepeatedFieldsError, SpectrumColumns, combine_repeats
from stfmr.analysis.units import (
    FREQUENCY_TO_GHZ, UnitError, field_unit, implausible, unit_in_name, voltage_unit,
)


@pytest.mark.parametrize("name, given, mT_per_unit", [
    ("Field (mT)", None, 1.0), ("Field (T)", None, 1e3), ("H (Oe)", None, 0.1), ("B (G)", None, 0.1),
    ("H (kOe)", None, 100.0), ("H (A/m)", None, MU0 * 1e3), ("Field", "Oe", 0.1), ("Field (mT)", "T", 1e3),
    ("Current (A)", "25 mT/A", 25.0), ("I (A)", "0.2 T/A", 200.0),
])
def test_field_units_convert_to_mT(name, given, mT_per_unit):
    assert field_unit(name, given).factor == pytest.approx(mT_per_unit)


@pytest.mark.parametrize("name, unit, volts", [
    ("V_FMR (V)", None, 1.0), ("Vmix (mV)", None, 1e-3), ("X (uV)", None, 1e-6), ("X (µV)", None, 1e-6),
    ("X (nV)", None, 1e-9), ("Signal", "uV", 1e-6),
])
def test_voltage_units_convert_to_V(name, unit, volts):
    assert voltage_unit(name, unit).factor == pytest.approx(volts)


def test_a_derivative_voltage_per_field_unit_converts_to_V_per_mT():
    assert voltage_unit("dV/dH (uV/Oe)", derivative=True).factor == pytest.approx(1e-6 / 0.1)
    with pytest.raises(UnitError, match="--voltage-unit"):
        voltage_unit("dV/dH (uV/Oe)")  # only field-modulated data are per field


@pytest.mark.parametrize("name, given, words", [
    ("Field", None, ["'Field' carries no unit", "--field-unit"]),
    ("Field (furlong)", None, ["'furlong'", "not a field unit", "--field-unit"]),
    ("Current (A)", None, ["not a field unit", "coil constant", "--field-unit '25 mT/A'"]),
    ("Field", "mA", ["--field-unit 'mA'", "not a field unit"]),
])
def test_a_field_column_without_a_known_unit_is_refused_naming_the_option(name, given, words):
    with pytest.raises(UnitError) as info:
        field_unit(name, given)
    assert all(w in str(info.value) for w in words), str(info.value)


def test_a_voltage_column_without_a_unit_is_refused_naming_the_option():
    with pytest.raises(UnitError, match="'Signal' carries no unit.*--voltage-unit"):
        SpectrumColumns(field="Field (mT)", voltage="Signal")


def test_unit_in_name_reads_the_last_parentheses():
    assert unit_in_name("dV/dH (a.u.) (uV)") == "uV"
    assert unit_in_name("Field") is None and unit_in_name("Field ()") is None


def test_implausible_resonances_are_named_with_the_unit_and_the_option():
    assert implausible(120.0, 4.0, "mT") == []
    low = implausible(0.12, 0.004, "mT")
    assert len(low) == 2 and all("--field-unit" in m and "(mT)" in m for m in low)
    assert "H_r 0.12 mT" in low[0] and "dH 0.004 mT" in low[1]
    assert implausible(-6000.0, 40.0, "Oe")[0].startswith("H_r -6000 mT is outside 1 to 5000 mT")


# -- readers ----------------------------------------------------------------------------------


def test_lvm_header_entries_become_metadata_and_segments_are_joined(tmp_path):
    path = labs.write_lvm(tmp_path / "s.lvm", frequency_GHz=8.0, angle_deg=45.0, segments=3)
    data = read_datafile(path)
    assert data.names == ["X_Value", "Field (Oe)", "Voltage (V)"]  # the empty Comment column is not read
    assert len(data) == 241  # three segments, each under its own ***End_of_Header***
    np.testing.assert_allclose(data.column("Field (Oe)")[[0, -1]], [800.0, 1600.0])
    assert data.header["Frequency(GHz)"] == "8.000000E+00"
    assert data.header["Separator"] == "Tab" and data.header["Channels"] == "2"
    assert header_quantity(data.header, "Frequency", FREQUENCY_TO_GHZ) == 8.0
    assert np.isnan(header_quantity({"Frequency(THz)": "1"}, "frequency", FREQUENCY_TO_GHZ))
    assert header_quantity({"Frequency": "8000 MHz"}, "frequency", FREQUENCY_TO_GHZ) == 8.0


def test_an_lvm_without_a_table_is_refused(tmp_path):
    path = tmp_path / "x.lvm"
    path.write_text("LabVIEW Measurement\nSeparator\tTab\n***End_of_Header***\n\nChannels\t1\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="no data table"):
        read_datafile(path)
    path.write_text("1\t2\n3\t4\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="not a LabVIEW measurement file"):
        read_datafile(path)


def test_a_space_separated_dat_keeps_names_with_units_whole(tmp_path):
    data = read_datafile(labs.write_dat_tesla(tmp_path / "s.dat"))
    assert data.names == ["Field (T)", "Vmix (V)"]
    assert data.column("Field (T)")[0] == pytest.approx(-0.18)


def test_reading_only_some_columns_keeps_every_name_for_the_error(tmp_path):
    path = tmp_path / "w.csv"
    path.write_text("A (mT),B (V),C (V)\n1,2,3\n2,3,4\n", encoding="utf-8")
    data = read_datafile(path, columns=["A (mT)", "C (V)", "absent"])
    assert data.names == ["A (mT)", "C (V)"]
    with pytest.raises(DataFileError, match="'B \\(V\\)'"):  # the message lists the file's names
        data.column("B (V)")


# -- repeats ----------------------------------------------------------------------------------


def test_repeated_readings_are_refused_naming_the_option(tmp_path):
    data = read_datafile(labs.write_current_csv(tmp_path / "i.csv"))
    spec = SpectrumColumns(field="Current (A)", voltage="Vlockin (uV)", field_unit="25 mT/A")
    with pytest.raises(RepeatedFieldsError) as info:
        spec.arrays(data)
    message = str(info.value)
    assert "161 field value(s)" in message and "3 times" in message and "--repeats mean" in message


@pytest.mark.parametrize("how", ["mean", "median"])
def test_repeated_readings_are_combined(how):
    h = np.array([3.0, 1.0, 1.0, 2.0, 3.0, 1.0])
    v = np.array([10.0, 1.0, 2.0, 5.0, 30.0, 6.0])
    out = combine_repeats(h, h, v, how)
    np.testing.assert_array_equal(out.set_field_mT, [1.0, 2.0, 3.0])
    expected = {"mean": [3.0, 5.0, 20.0], "median": [2.0, 5.0, 20.0]}[how]
    np.testing.assert_allclose(out.voltage_V, expected)
    assert out.repeated_rows == 3


def test_unit_scaled_arrays_of_the_current_file(tmp_path):
    data = read_datafile(labs.write_current_csv(tmp_path / "i.csv"))
    spec = SpectrumColumns(field="Current (A)", voltage="Vlockin (uV)", field_unit="25 mT/A", repeats="mean")
    arrays = spec.arrays(data)
    assert arrays.field_mT.size == 161 and arrays.repeated_rows == 322
    assert arrays.field_mT[0] == pytest.approx(2.4 * labs.COIL_MT_PER_A)
    assert np.max(np.abs(arrays.voltage_V)) < 1e-4  # uV -> V


# -- the metadata table -----------------------------------------------------------------------


def test_metadata_table_reads_units_and_blank_cells(tmp_path):
    path = tmp_path / "meta.csv"
    path.write_text("file,Frequency (MHz),Angle (deg),Power (dBm)\na.lvm,8000,45,\nb.lvm,,,12\n", encoding="utf-8")
    table = MetadataTable.read(path)
    assert table.rows == {"a.lvm": {"frequency_GHz": 8.0, "angle_deg": 45.0}, "b.lvm": {"power_dBm": 12.0}}
    table.check_files({"a.lvm", "b.lvm", "c.lvm"})
    with pytest.raises(MetadataError, match="not in the run folder.*b.lvm"):
        table.check_files({"a.lvm"})


@pytest.mark.parametrize("text, words", [
    ("name,Frequency (GHz)\na,1\n", "no 'file' column"),
    ("file,Temperature (K)\na,1\n", "'Temperature (K)' is not one of"),
    ("file,Frequency (THz)\na,1\n", "unit 'THz' is not one of"),
    ("file,Frequency (GHz)\na,eight\n", "line 2, column 2: expected a number"),
])
def test_a_bad_metadata_table_is_refused_with_the_reason(tmp_path, text, words):
    path = tmp_path / "meta.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MetadataError, match="--metadata") as info:
        MetadataTable.read(path)
    assert words in str(info.value)
