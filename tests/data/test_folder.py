"""folder:/path datasets: finding images, labels from subfolders, channels, corrupt files."""
import logging

import ml_collections
import numpy as np
import pytest
from PIL import Image

from tfgan_zoo import data
from tfgan_zoo.errors import ZooError

RNG = np.random.default_rng(0)


def _config(root, channels=None):
    return ml_collections.ConfigDict(
        {
            "dataset": f"folder:{root}",
            "data_dir": None,
            "download": False,
            "channels": channels,
            "cache": False,
            "shuffle_buffer": 100,
        }
    )


def _save(path, mode="L", size=(12, 10)):
    path.parent.mkdir(parents=True, exist_ok=True)
    shape = (size[1], size[0]) if mode == "L" else (size[1], size[0], 3)
    Image.fromarray(RNG.integers(0, 256, shape, dtype=np.uint8), mode).save(path)
    return path


def _truncated_png(path):
    _save(path, "RGB", (64, 64))
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])
    return path


def _load_all(root, channels=None, resolution=16):
    """(images, labels, spec) of one pass over the folder, unshuffled."""
    ds, spec = data.load(
        _config(root, channels), resolution=resolution, batch_size=1, shuffle=False, repeat=False
    )
    batches = list(ds.as_numpy_iterator())
    return (
        np.concatenate([b["image"] for b in batches]),
        [int(b["label"][0]) for b in batches],
        spec,
    )


@pytest.fixture
def warnings(caplog):
    """The messages absl.logging.warning logs during the test."""
    caplog.set_level(logging.WARNING, logger="absl")
    return lambda: [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_labels_come_from_class_subfolders(tmp_path):
    _save(tmp_path / "dog" / "a.png")
    _save(tmp_path / "cat" / "b.JPG")
    _save(tmp_path / "cat" / "deeper" / "c.jpeg")
    _save(tmp_path / "bird" / "d.Png")
    (tmp_path / "cat" / "notes.txt").write_text("not an image")
    images, labels, spec = _load_all(tmp_path, resolution=8)
    assert spec.class_names == ("bird", "cat", "dog") and spec.num_classes == 3
    assert spec.num_examples == 4 and spec.name == f"folder:{tmp_path}" and spec.channels == 1
    # Sorted by path: bird/d, cat/b, cat/deeper/c, dog/a.
    assert labels == [0, 1, 1, 2]
    assert images.shape == (4, 8, 8, 1) and images.dtype == np.float32
    assert images.min() >= -1.0 and images.max() <= 1.0


def test_images_outside_subfolders_make_it_unlabeled(tmp_path):
    _save(tmp_path / "top.png")
    _save(tmp_path / "cls" / "inner.png")
    _, labels, spec = _load_all(tmp_path)
    assert spec.num_classes == 0 and spec.class_names == () and labels == [0, 0]


def test_channels_are_inferred_or_forced(tmp_path):
    _save(tmp_path / "gray.png")
    _save(tmp_path / "gray.bmp")  # decode_image refuses channels=1 for BMP and GIF
    _save(tmp_path / "gray.gif")
    images, _, spec = _load_all(tmp_path, resolution=32)
    assert spec.channels == 1 and images.shape == (3, 32, 32, 1)
    rgb, _, spec = _load_all(tmp_path, channels=3)
    assert spec.channels == 3 and rgb.shape == (3, 16, 16, 3)
    np.testing.assert_array_equal(rgb[..., 0], rgb[..., 1])

    _save(tmp_path / "color.jpg", "RGB")
    images, _, spec = _load_all(tmp_path)
    assert spec.channels == 3 and images.shape == (4, 16, 16, 3)
    images, _, spec = _load_all(tmp_path, channels=1)
    assert spec.channels == 1 and images.shape == (4, 16, 16, 1)


def test_gray_bmp_and_gif_keep_their_pixel_values(tmp_path):
    pixels = RNG.integers(0, 256, (8, 8), dtype=np.uint8)
    for name in ("a.bmp", "b.gif", "c.png"):
        Image.fromarray(pixels, "L").save(tmp_path / name)
    images, _, _ = _load_all(tmp_path, resolution=8)
    for image in images:
        np.testing.assert_array_equal(image[..., 0], pixels.astype(np.float32) / 127.5 - 1.0)


def test_corrupt_files_are_skipped_with_a_warning_naming_each(tmp_path, warnings):
    good = [_save(tmp_path / "a" / "good.png"), _save(tmp_path / "b" / "good.jpg", "RGB")]
    noise = tmp_path / "a" / "noise.png"
    noise.write_bytes(RNG.integers(0, 256, 500, dtype=np.uint8).tobytes())
    truncated = _truncated_png(tmp_path / "b" / "truncated.png")
    images, labels, spec = _load_all(tmp_path)
    assert spec.num_examples == len(good) == len(images) and labels == [0, 1]
    assert spec.class_names == ("a", "b")
    logged = warnings()
    assert any(f"Skipping corrupt image {noise}: " in m for m in logged), logged
    assert any(f"Skipping corrupt image {truncated}: " in m and "truncated" in m for m in logged)
    assert f"Skipped 2 of 4 image files in {tmp_path} as corrupt or unreadable." in logged


def test_files_tensorflow_cannot_decode_are_skipped(tmp_path, warnings):
    _save(tmp_path / "good.png")
    tiff = tmp_path / "really_a_tiff.png"
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tiff, format="TIFF")
    _, _, spec = _load_all(tmp_path)
    assert spec.num_examples == 1
    assert any(f"{tiff}: it is a TIFF image" in m for m in warnings())


def test_all_corrupt_is_an_error(tmp_path, warnings):
    (tmp_path / "x.png").write_bytes(b"not a png at all")
    _truncated_png(tmp_path / "y.png")
    with pytest.raises(ZooError, match=rf"^all 2 image files in {tmp_path} are corrupt"):
        data.describe(_config(tmp_path))
    assert len([m for m in warnings() if m.startswith("Skipping corrupt image")]) == 2


def test_empty_folder_is_an_error(tmp_path):
    (tmp_path / "readme.txt").write_text("no images here")
    with pytest.raises(ZooError) as error:
        data.describe(_config(tmp_path))
    assert str(error.value).startswith(
        f"no images in {tmp_path} (looked for .png, .jpg, .jpeg, .bmp, .gif in any case"
    )


def test_missing_folder_and_file_are_errors(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(ZooError, match=rf"^image folder {missing} does not exist; "):
        data.describe(_config(missing))
    a_file = _save(tmp_path / "a.png")
    with pytest.raises(ZooError, match=rf"^{a_file} is not a directory; "):
        data.describe(_config(a_file))


def test_a_folder_has_only_a_train_split(tmp_path):
    _save(tmp_path / "a.png")
    with pytest.raises(ZooError, match=r"^unknown split 'test' for folder:.*valid splits: train"):
        data.describe(_config(tmp_path), split="test")


def test_hidden_files_are_ignored(tmp_path, warnings):
    _save(tmp_path / "a.png")
    (tmp_path / "._a.png").write_bytes(b"macOS resource fork")
    _save(tmp_path / ".thumbnails" / "t.png")
    assert data.describe(_config(tmp_path)).num_examples == 1
    assert warnings() == []
