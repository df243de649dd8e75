"""``stfmr sim-server --bench-out`` and ``stfmr model --plot``: existing files only with --force, inputs never."""

from pathlib import Path

from stfmr.app import cli

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SERVE = ["sim-server", "--models", "SR830", "Agilent8257D", "KepcoBOP3612", "--duration", "0.05"]


def test_bench_out_over_an_existing_file_needs_force(tmp_path, capsys):
    bench = tmp_path / "lab.toml"
    bench.write_text("# the lab's bench file\n")
    assert cli.main([*SERVE, "--bench-out", str(bench)]) == cli.EXIT_BAD_INPUT
    captured = capsys.readouterr()
    assert f"--bench-out: {bench} exists already; give --force to replace it" in captured.err
    assert "TCPIP::" not in captured.out  # refused before anything was served
    assert bench.read_text() == "# the lab's bench file\n"
    assert cli.main([*SERVE, "--bench-out", str(bench), "--force"]) == 0
    assert "TCPIP::127.0.0.1::" in bench.read_text()


def test_bench_out_over_the_sample_or_fault_file_is_refused_even_with_force(tmp_path, capsys):
    faults = tmp_path / "faults.toml"
    faults.write_text("")
    sample = tmp_path / "sample.toml"
    sample.write_text((EXAMPLES / "samples" / "my_device.toml").read_text())
    for option, path in (("--faults", faults), ("--sample", sample)):
        before = path.read_text()
        assert cli.main([*SERVE, option, str(path), "--bench-out", str(path), "--force"]) == cli.EXIT_BAD_INPUT
        assert "is an input of this command" in capsys.readouterr().err
        assert path.read_text() == before


def test_model_plot_over_an_existing_file_needs_force(tmp_path, capsys):
    figure = tmp_path / "fig.png"
    figure.write_bytes(b"an older figure")
    stack = str(EXAMPLES / "stacks" / "pt_py_check.toml")
    assert cli.main(["model", "--stack", stack, "--plot", str(figure)]) == cli.EXIT_BAD_INPUT
    assert f"--plot: {figure} exists already; give --force" in capsys.readouterr().err
    assert figure.read_bytes() == b"an older figure"
    assert cli.main(["model", "--stack", stack, "--plot", str(figure), "--force"]) == 0
    assert figure.read_bytes().startswith(b"\x89PNG")


def test_model_plot_over_its_own_input_is_refused_even_with_force(tmp_path, capsys):
    stack = tmp_path / "stack.toml"
    stack.write_text((EXAMPLES / "stacks" / "pt_py_check.toml").read_text())
    before = stack.read_text()
    assert cli.main(["model", "--stack", str(stack), "--plot", str(stack), "--force"]) == cli.EXIT_BAD_INPUT
    assert f"--plot: {stack} is an input of this command" in capsys.readouterr().err
    assert stack.read_text() == before
