"""From arguments to jobs: image expansion, mask pairing by stem, output names."""

from __future__ import annotations

from pathlib import Path

import pytest

from ptgfill_cli.data.pairing import MaskFolder, expand_image_args, plan_jobs
from ptgfill_cli.errors import PTGFillError


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for name in ("b.png", "a.jpg", "c.webp", "notes.txt", "sub/d.png"):
        touch(tmp_path / "photos" / name)
    for name in ("a.png", "b_mask.png", "c.png", "c.jpg"):
        touch(tmp_path / "masks" / name)
    return tmp_path


def test_folders_files_and_globs(tree, monkeypatch):
    monkeypatch.chdir(tree)
    assert expand_image_args(["photos"]) == [Path("photos/a.jpg"), Path("photos/b.png"), Path("photos/c.webp")]
    assert expand_image_args(["photos/*.png", "photos/b.png"]) == [Path("photos/b.png")]
    assert expand_image_args(["photos/**/*.png"]) == [Path("photos/b.png"), Path("photos/sub/d.png")]
    assert expand_image_args(["photos/notes.txt"]) == [Path("photos/notes.txt")]  # named: tried


@pytest.mark.parametrize(
    "arg, message",
    [("nothing.png", "no such file or folder"), ("photos/*.gif", "no image files match"), ("empty", "no image files in")],
)
def test_arguments_that_name_nothing_are_usage_errors(tree, monkeypatch, arg, message):
    monkeypatch.chdir(tree)
    (tree / "empty").mkdir()
    with pytest.raises(PTGFillError, match=message):
        expand_image_args([arg])


def test_masks_pair_by_stem(tree):
    masks = MaskFolder(tree / "masks")
    assert masks.mask_for(Path("x/a.jpg")) == tree / "masks" / "a.png"
    assert masks.mask_for(Path("x/b.png")) == tree / "masks" / "b_mask.png"
    with pytest.raises(PTGFillError, match="more than one mask"):
        masks.mask_for(Path("x/c.webp"))
    with pytest.raises(PTGFillError, match=r"x/d\.png: no mask for it in .*masks \(looked for d\.\* and d_mask\.\*\)"):
        masks.mask_for(Path("x/d.png"))


def test_plan_for_a_folder_of_images_and_masks(tree):
    images = expand_image_args([str(tree / "photos")])
    jobs = plan_jobs(images, mask=tree / "masks", output=tree / "out", save_coarse=True)
    assert [job.output_path.name for job in jobs] == ["a.png", "b.png", "c.png"]
    assert jobs[0].coarse_path == tree / "out" / "a_coarse.png"
    assert jobs[0].mask_path == tree / "masks" / "a.png" and jobs[0].error is None
    assert jobs[2].mask_path is None and "more than one mask" in jobs[2].error


def test_output_formats(tree):
    images = expand_image_args([str(tree / "photos")])
    same = plan_jobs(images, mask=None, output=tree / "out", output_format="same")
    assert [job.output_path.name for job in same] == ["a.jpg", "b.png", "c.webp"]
    jpg = plan_jobs(images, mask=None, output=tree / "out", output_format="jpg")
    assert {job.output_path.suffix for job in jpg} == {".jpg"}
    gif = plan_jobs([touch(tree / "anim.gif")], mask=None, output=tree / "out", output_format="same")
    assert gif[0].output_path.name == "anim.png"


def test_single_image_to_a_file(tree):
    image = tree / "photos" / "a.jpg"
    jobs = plan_jobs([image], mask=None, output=tree / "filled.webp", save_coarse=True)
    assert jobs[0].output_path == tree / "filled.webp"
    assert jobs[0].coarse_path == tree / "filled_coarse.webp"
    with pytest.raises(PTGFillError, match="suffix says webp but --format says png"):
        plan_jobs([image], mask=None, output=tree / "filled.webp", output_format="png")
    with pytest.raises(PTGFillError, match="is a file name but there are 2 images"):
        plan_jobs([image, tree / "photos" / "b.png"], mask=None, output=tree / "filled.png")


def test_existing_outputs_collisions_and_inputs_are_protected(tree):
    touch(tree / "out" / "b.png")
    images = [tree / "photos" / "a.jpg", tree / "photos" / "b.png", tree / "photos" / "sub" / "a.png"]
    jobs = plan_jobs(images, mask=None, output=tree / "out")
    assert jobs[0].error is None
    assert jobs[1].error == f"{tree / 'out' / 'b.png'}: already exists (use --overwrite to replace it)"
    assert "is also the output of" in jobs[2].error
    assert plan_jobs(images, mask=None, output=tree / "out", overwrite=True)[1].error is None
    in_place = plan_jobs([tree / "photos" / "b.png"], mask=None, output=tree / "photos", overwrite=True)
    assert "would replace the input" in in_place[0].error


def test_bad_mask_and_output_arguments(tree):
    images = [tree / "photos" / "a.jpg"]
    with pytest.raises(PTGFillError, match="no such mask file or folder"):
        plan_jobs(images, mask=tree / "missing.png", output=tree / "out")
    touch(tree / "out-file")
    with pytest.raises(PTGFillError, match="exists and is not a folder"):
        plan_jobs(images, mask=None, output=tree / "out-file")


def test_output_name_templates(tree):
    images = expand_image_args([str(tree / "photos")])
    named = plan_jobs(images, mask=None, output=tree / "out", output_format="same",
                      name_template="{stem}_filled.{ext}", save_coarse=True)
    assert [job.output_path.name for job in named] == ["a_filled.jpg", "b_filled.png", "c_filled.webp"]
    assert named[0].coarse_path.name == "a_filled_coarse.jpg"
    for template, message in [("{stem}.png", "must end in .{ext}"), ("out.{ext}", "must use {stem}"),
                              ("{stem}/{stem}.{ext}", "not a path"), ("{name}.{ext}", "only {stem} and {ext}")]:
        with pytest.raises(PTGFillError, match=message.replace("{", r"\{").replace("}", r"\}").replace(".", r"\.")):
            plan_jobs(images, mask=None, output=tree / "out", name_template=template)
