"""TFDS datasets: unknown names, unprepared datasets with and without network, labels."""
import socket
import time

import ml_collections
import pytest
import tensorflow_datasets as tfds

from tfgan_zoo import data
from tfgan_zoo.data import tfds_source
from tfgan_zoo.errors import ZooError


def _config(dataset, data_dir, download=False, channels=None):
    return ml_collections.ConfigDict(
        {
            "dataset": dataset,
            "data_dir": str(data_dir),
            "download": download,
            "channels": channels,
            "cache": False,
            "shuffle_buffer": 100,
        }
    )


def _forbidden(*args, **kwargs):
    raise AssertionError("the network was touched")


@pytest.fixture
def no_network(monkeypatch):
    """Fails the test if anything resolves a host, opens a connection or probes the internet."""
    monkeypatch.setattr(socket, "getaddrinfo", _forbidden)
    monkeypatch.setattr(socket, "create_connection", _forbidden)
    monkeypatch.setattr(tfds_source, "_internet_reachable", _forbidden)


@pytest.fixture
def no_download(monkeypatch, no_network):
    """Also fails the test if any TFDS dataset starts to download and prepare."""
    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", _forbidden)


def test_unknown_dataset_lists_the_choices(tmp_path):
    with pytest.raises(ZooError) as error:
        data.describe(_config("no_such_dataset_xyz", tmp_path))
    message = str(error.value)
    assert message.startswith("unknown dataset 'no_such_dataset_xyz'; use sklearn_digits")
    assert "folder:/path/to/images" in message and "\n" not in message


def test_bad_version_is_a_zoo_error(tmp_path):
    with pytest.raises(ZooError, match=r"cannot open dataset 'mnist:9\.9\.9'.*only: 3\.0\.1"):
        data.describe(_config("mnist:9.9.9", tmp_path))


def test_unprepared_without_download_gives_advice_offline(tmp_path, no_download):
    data_dir = tmp_path / "tfds"
    with pytest.raises(ZooError) as error:
        data.describe(_config("mnist", data_dir, download=False))
    assert str(error.value) == (
        f"dataset 'mnist' is not prepared in {data_dir} and downloading is off; on a machine "
        "with internet run `tfds build mnist --data_dir=DIR`, copy DIR here and pass --data_dir=DIR"
    )
    assert not data_dir.exists() or not any(data_dir.iterdir())


def test_download_without_internet_fails_fast(tmp_path, monkeypatch, no_download):
    monkeypatch.setattr(tfds_source, "_internet_reachable", lambda: False)
    start = time.monotonic()
    with pytest.raises(ZooError, match=r"^dataset 'mnist' is not prepared in .* no internet") as e:
        data.load(_config("mnist", tmp_path, download=True), batch_size=8)
    assert time.monotonic() - start < 2.0
    assert "tfds build mnist --data_dir=DIR" in str(e.value)


def test_download_failure_is_wrapped(tmp_path, monkeypatch):
    def fail(self, **kwargs):
        raise RuntimeError("Failed to get url https://example.invalid/x\nlong traceback text")

    monkeypatch.setattr(tfds_source, "_internet_reachable", lambda: True)
    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", fail)
    with pytest.raises(ZooError) as error:
        data.describe(_config("mnist", tmp_path, download=True))
    message = str(error.value)
    assert "downloading dataset 'mnist'" in message
    assert "(Failed to get url https://example.invalid/x)" in message
    assert "long traceback" not in message and "tfds build mnist" in message


def test_internet_probe_gives_up_within_its_timeout(monkeypatch):
    def hanging_dns(*args, **kwargs):
        time.sleep(2)
        raise socket.gaierror(-3, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", hanging_dns)
    start = time.monotonic()
    assert tfds_source._internet_reachable(timeout_s=0.2) is False
    assert time.monotonic() - start < 1.0

    def unresolvable(*args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", unresolvable)
    assert tfds_source._internet_reachable() is False


def test_dataset_without_image_feature(tmp_path, no_download):
    with pytest.raises(ZooError, match=r"'imdb_reviews' has no 'image' feature \(it has: label, t"):
        data.describe(_config("imdb_reviews", tmp_path))


def test_labels_come_from_the_label_feature_only(tmp_path):
    def classes(name):
        return tfds_source.label_classes(tfds.builder(name, data_dir=str(tmp_path)).info.features)

    assert classes("mnist") == (10, tuple(str(d) for d in range(10)))
    assert classes("celeb_a") == (0, ())  # no "label" feature: unlabeled


def test_embedded_dataset_is_prepared_on_the_spot(tmp_path, no_network):
    # download=False and no network: the embedded dataset needs neither.
    spec = data.describe(_config("sklearn_digits", tmp_path, download=False), split="test")
    assert spec == data.DatasetSpec(
        name="sklearn_digits",
        split="test",
        resolution=0,
        channels=1,
        num_classes=10,
        class_names=tuple(str(d) for d in range(10)),
        num_examples=360,
    )
    assert (tmp_path / "sklearn_digits" / "1.0.0" / "dataset_info.json").exists()
