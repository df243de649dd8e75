"""check_outputs: existing files need --force; a command's inputs are never written over, by any path."""

import os

import pytest

from stfmr.app.output_files import check_outputs, existing_files, folder_files


def test_a_new_file_is_allowed_and_an_existing_one_needs_force(tmp_path):
    new, old = tmp_path / "new.png", tmp_path / "old.png"
    old.write_text("figure")
    check_outputs([new], option="--plot", force=False)
    with pytest.raises(FileExistsError) as info:
        check_outputs([new, old], option="--plot", force=False)
    message = str(info.value)
    assert str(old) in message and "--plot" in message and "--force" in message and "\n" not in message
    check_outputs([old], option="--plot", force=True)
    assert old.read_text() == "figure"  # checking writes nothing


def test_many_existing_files_are_named_on_one_line(tmp_path):
    targets = [tmp_path / f"f{k}.csv" for k in range(5)]
    for t in targets:
        t.write_text("x")
    with pytest.raises(FileExistsError, match=r"f0\.csv, .*f2\.csv and 2 more exist already; give --force"):
        check_outputs(targets, option="--report out", force=False)


@pytest.mark.parametrize("link", ["same", "symlink", "hardlink", "dotted"])
def test_an_input_is_refused_even_with_force_whatever_path_names_it(tmp_path, link):
    run = tmp_path / "run"
    run.mkdir()
    manifest = run / "manifest.json"
    manifest.write_text("{}")
    target = {"same": manifest, "dotted": run / ".." / "run" / "manifest.json",
              "symlink": tmp_path / "alias.json", "hardlink": tmp_path / "hard.json"}[link]
    if link == "symlink":
        target.symlink_to(manifest)
    elif link == "hardlink":
        os.link(manifest, target)
    with pytest.raises(ValueError, match="input of this command.*never overwritten, even with --force") as info:
        check_outputs([target], option="--export", force=True, inputs=folder_files(run))
    assert str(target) in str(info.value) and "--export" in str(info.value)
    assert manifest.read_text() == "{}"


def test_a_folder_is_not_a_file_target(tmp_path):
    with pytest.raises(ValueError, match="is a folder, not a file"):
        check_outputs([tmp_path], option="--bench-out", force=True)


def test_a_dangling_symlink_counts_as_an_existing_file(tmp_path):
    target = tmp_path / "link.toml"
    target.symlink_to(tmp_path / "elsewhere.toml")
    with pytest.raises(FileExistsError):
        check_outputs([target], option="--bench-out", force=False)


def test_inputs_are_the_files_that_exist(tmp_path):
    (tmp_path / "a.toml").write_text("x")
    (tmp_path / "sub").mkdir()
    assert existing_files([None, "type-A", tmp_path / "a.toml", tmp_path / "sub"]) == [tmp_path / "a.toml"]
    assert folder_files(tmp_path) == [tmp_path / "a.toml"] and folder_files(tmp_path / "nope") == []
