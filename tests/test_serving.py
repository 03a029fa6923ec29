"""tfgan_zoo.serving against TF Serving's REST and gRPC contract.

No tensorflow_model_server exists here (shared/STACK.md), so the clients talk to local endpoints
that follow the server's contract over the real SavedModels (tests/serving_endpoints.py); the
last test runs the real server wherever its binary is on PATH.
"""
import tfgan_zoo  # noqa: F401  # isort: skip  (must precede TensorFlow)

import io
import shutil
import subprocess
import time

import numpy as np
import pytest
import requests
import serving_endpoints
import tensorflow as tf
from PIL import Image

from tfgan_zoo import config as config_lib
from tfgan_zoo import data
from tfgan_zoo.deployment import saved_model, serving
from tfgan_zoo.errors import ZooError
from tfgan_zoo.kinds import image as image_kind
from tfgan_zoo.models import dcgan

NUM_CLASSES = 10
TRANSPORTS = ("rest", "grpc")


def _export(path, conditional):
    """A tiny untrained DCGAN generator, exported as the zoo exports one."""
    cfg = config_lib.load("dcgan", "tiny")
    classes = tuple(str(i) for i in range(NUM_CLASSES)) if conditional else ()
    if conditional:
        cfg.model.conditioning = "projection"
    spec = data.DatasetSpec(name="t", split="train", resolution=cfg.model.resolution, channels=1,
                            num_classes=len(classes), class_names=classes, num_examples=10)
    module = saved_model.GeneratorModule(
        dcgan.build_generator(cfg.model, spec), kind=image_kind.KIND, spec=spec,
        latent_dim=cfg.model.latent_dim,
        latent_distribution="normal", num_classes=len(classes))
    saved_model.save(module, str(path))
    return cfg.model.latent_dim


@pytest.fixture(scope="module")
def export_base(tmp_path_factory):
    """<base>/tiny/1 (unconditional) and <base>/ctiny/1 (conditional), built once."""
    base = tmp_path_factory.mktemp("export")
    _export(base / "tiny" / "1", conditional=False)
    _export(base / "ctiny" / "1", conditional=True)
    return base


@pytest.fixture(scope="module")
def latent_dim():
    return config_lib.load("dcgan", "tiny").model.latent_dim


@pytest.fixture(scope="module")
def endpoints(export_base):
    with serving_endpoints.serve(str(export_base)) as served:
        yield served


@pytest.fixture(scope="module")
def direct(export_base):
    """The same SavedModels called in process, without any server."""
    return {name: tf.saved_model.load(str(export_base / name / "1")).signatures
            for name in ("tiny", "ctiny")}


def _client(transport, endpoints, model, **kwargs):
    if transport == "rest":
        return serving.RestClient(endpoints.rest_url, model=model, **kwargs)
    return serving.GrpcClient(endpoints.grpc_target, model=model, **kwargs)


def _latents(n, latent_dim, seed=0):
    return np.random.default_rng(seed).standard_normal((n, latent_dim)).astype(np.float32)


def _assert_same(samples, expected):
    np.testing.assert_array_equal(samples.images, expected["images"])
    np.testing.assert_allclose(samples.images_float, expected["images_float"], atol=1e-6)


def _numpy(outputs):
    return {name: tensor.numpy() for name, tensor in outputs.items()}


def test_status_and_metadata_follow_tf_serving(endpoints, latent_dim):
    with _client("rest", endpoints, "tiny") as rest, _client("grpc", endpoints, "tiny") as grpc:
        status, metadata = rest.status(), rest.metadata()
        assert grpc.status() == status
        assert grpc.metadata() == metadata
    assert status == {"model_version_status": [{"version": "1", "state": "AVAILABLE", "status": {
        "error_code": "OK", "error_message": ""}}]}
    assert metadata["model_spec"] == {"name": "tiny", "signature_name": "", "version": "1"}
    signatures = metadata["metadata"]["signature_def"]["signature_def"]
    default, sample = signatures["serving_default"], signatures["sample"]
    assert default["method_name"] == "tensorflow/serving/predict"
    assert default["inputs"]["z"]["dtype"] == "DT_FLOAT"
    assert [d["size"] for d in default["inputs"]["z"]["tensor_shape"]["dim"]] == [
        "-1", str(latent_dim)]
    assert default["outputs"]["images"]["dtype"] == "DT_UINT8"
    assert default["outputs"]["images_float"]["dtype"] == "DT_FLOAT"
    assert {name: t["dtype"] for name, t in sample["inputs"].items()} == {
        "count": "DT_INT32", "seed": "DT_INT64"}
    assert sample["inputs"]["count"]["tensor_shape"]["dim"] == []
    assert set(sample["outputs"]) == {"images", "images_float", "z"}


def test_rest_row_and_columnar_match_the_saved_model(endpoints, direct, latent_dim):
    z = _latents(3, latent_dim)
    expected = _numpy(direct["tiny"]["serving_default"](z=tf.constant(z)))
    with _client("rest", endpoints, "tiny") as rest:
        for layout in serving.FORMATS:
            outputs = rest.predict({"z": z}, format=layout)
            assert outputs["images"].dtype == np.uint8
            assert outputs["images"].shape == (3, 28, 28, 1)
            _assert_same(serving.Samples(outputs, z), expected)


def test_sample_over_rest_is_deterministic_and_columnar_only(endpoints, latent_dim):
    with _client("rest", endpoints, "tiny") as rest:
        first, again = rest.generate(count=4, seed=7), rest.generate(count=4, seed=7)
        other = rest.generate(count=4, seed=8)
        np.testing.assert_array_equal(first.images, again.images)
        np.testing.assert_array_equal(first.z, again.z)
        assert not np.array_equal(first.z, other.z)
        assert first.z.shape == (4, latent_dim) and first.labels is None
        assert rest.generate(count=0, seed=7).images.shape == (0, 28, 28, 1)
        with pytest.raises(ZooError, match="format='columnar'"):
            rest.predict({"count": 4, "seed": 7}, "sample", format="row")


def test_images_decode_to_png_bytes_and_files(endpoints, tmp_path):
    with _client("rest", endpoints, "tiny") as rest:
        samples = rest.generate(count=3, seed=1)
    assert samples.kind.name == "image"  # found from the outputs' names
    blobs = samples.encoded()
    assert blobs == image_kind.png_bytes(samples.images) and len(blobs) == 3
    for blob, image in zip(blobs, samples.images, strict=True):
        np.testing.assert_array_equal(np.array(Image.open(io.BytesIO(blob))), image[..., 0])
    paths = samples.save(tmp_path / "pngs")
    assert [p.rsplit("/", 1)[1] for p in paths] == ["sample_0.png", "sample_1.png", "sample_2.png"]
    np.testing.assert_array_equal(np.array(Image.open(paths[2])), samples.images[2, ..., 0])
    with pytest.raises(AttributeError, match="no output 'audio'; they have images, images_float"):
        samples.audio  # noqa: B018
    with pytest.raises(ZooError, match="no kind of sample returns the outputs"):
        serving.Samples({"audio": samples.images}, samples.z).encoded()
    with pytest.raises(ZooError, match="uint8"):
        image_kind.png_bytes(samples.images_float)


def test_grpc_matches_rest_and_the_saved_model(endpoints, direct, latent_dim):
    z = _latents(2, latent_dim, seed=3)
    signatures = direct["tiny"]
    count, seed = tf.constant(3), tf.constant(5, tf.int64)
    with _client("rest", endpoints, "tiny") as rest, _client("grpc", endpoints, "tiny") as grpc:
        from_z = [client.generate(z=z) for client in (rest, grpc)]
        drawn = [client.generate(count=3, seed=5) for client in (rest, grpc)]
    for samples in from_z:
        _assert_same(samples, _numpy(signatures["serving_default"](z=tf.constant(z))))
    expected = _numpy(signatures["sample"](count=count, seed=seed))
    for samples in drawn:
        _assert_same(samples, expected)
        np.testing.assert_array_equal(samples.z, expected["z"])


def test_conditional_labels_through_both_transports(endpoints, direct, latent_dim):
    z, labels = _latents(3, latent_dim, seed=4), np.array([0, 4, 9])
    expected = _numpy(direct["ctiny"]["serving_default"](
        z=tf.constant(z), label=tf.constant(labels, tf.int32)))
    turns = []
    for transport in TRANSPORTS:
        with _client(transport, endpoints, "ctiny") as client:
            samples = client.generate(z=z, labels=labels)
            _assert_same(samples, expected)
            np.testing.assert_array_equal(samples.labels, labels)
            turns.append(client.generate(count=5, seed=2))  # label -1: the classes in turn
            np.testing.assert_array_equal(turns[-1].labels, [0, 1, 2, 3, 4])
            np.testing.assert_array_equal(client.generate(count=3, seed=2, label=7).labels, [7] * 3)
            with pytest.raises(ZooError, match="class-conditional"):
                client.generate(z=z)
            with pytest.raises(ZooError, match=r"label must be a class id in \[0, 10\)"):
                client.generate(count=2, label=NUM_CLASSES)
    np.testing.assert_array_equal(turns[0].images, turns[1].images)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_bad_input_raises_zoo_error_with_the_servers_reason(endpoints, transport, latent_dim):
    with _client(transport, endpoints, "tiny") as client:
        with pytest.raises(ZooError, match="count must be >= 0") as raised:
            client.generate(count=-1)
        assert "'tiny'" in str(raised.value) and "sample" in str(raised.value)
        with pytest.raises(ZooError, match=f"latent_dim {latent_dim}"):
            client.generate(z=np.zeros((2, latent_dim + 3), np.float32))
        with pytest.raises(ZooError, match="not class-conditional"):
            client.generate(count=2, label=3)
        with pytest.raises(ZooError, match="takes int32 integers"):
            client.predict({"count": 1.5, "seed": 0}, "sample")
    with _client(transport, endpoints, "nope") as client, pytest.raises(ZooError, match="nope"):
        client.generate(count=1)
    with _client(transport, endpoints, "tiny", version=7) as client:
        with pytest.raises(ZooError, match="Could not find version 7 of model tiny"):
            client.status()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_no_server_says_how_to_start_one(transport, free_ports):
    port, = free_ports(1)
    client = (serving.RestClient(f"http://127.0.0.1:{port}", model="dcgan") if transport == "rest"
              else serving.GrpcClient(f"127.0.0.1:{port}", model="dcgan", timeout=5))
    with client, pytest.raises(ZooError, match=f"no TF Serving server answered at .*{port}") as e:
        client.generate(count=1)
    assert "tensorflow_model_server --rest_api_port=8501 --port=8500 --model_name=dcgan" in str(
        e.value)
    assert "tensorflow/serving" in str(e.value)


def test_rest_endpoint_answers_bad_requests_as_tf_serving(endpoints, latent_dim):
    """The stand-in itself: status codes and messages of the server's JSON handling."""
    url = f"{endpoints.rest_url}/v1/models/tiny"
    zeros = [[0.0] * latent_dim]
    cases = [
        (f"{url}:predict", {"instances": zeros, "inputs": zeros}, 400, "only one of 'inputs'"),
        (f"{url}:predict", {"signature_name": "sample", "inputs": {"count": 1.0, "seed": 0}}, 400,
         "JSON Value: 1.0 Type: Number is not of expected type: int32"),
        (f"{url}:predict", {"signature_name": "nah", "inputs": zeros}, 400,
         'Serving signature name: "nah" not found'),
        (f"{url}/versions/7:predict", {"inputs": zeros}, 404,
         "Servable not found for request: Specific(tiny, 7)"),
        (f"{endpoints.rest_url}/v1/models/nope:predict", {"inputs": zeros}, 404,
         "Servable not found for request: Latest(nope)"),
    ]
    for address, body, status, message in cases:
        response = requests.post(address, json=body, timeout=30)
        assert response.status_code == status, response.text
        assert message in response.json()["error"]
    single = requests.post(f"{url}:predict", json={"instances": zeros}, timeout=30).json()
    assert set(single["predictions"][0]) == {"images", "images_float"}


@pytest.mark.skipif(not shutil.which("tensorflow_model_server"),
                    reason="tensorflow_model_server is not on PATH (no package of it installs "
                           "here; see shared/STACK.md)")
def test_real_tensorflow_model_server(export_base, direct, latent_dim, tmp_path, free_ports):
    grpc_port, rest_port = free_ports(2)
    with open(tmp_path / "server.log", "wb") as log:
        server = subprocess.Popen(
            ["tensorflow_model_server", f"--port={grpc_port}", f"--rest_api_port={rest_port}",
             "--model_name=tiny", f"--model_base_path={export_base / 'tiny'}"],
            stdout=log, stderr=subprocess.STDOUT)
    try:
        rest = serving.RestClient(f"http://127.0.0.1:{rest_port}", model="tiny")
        grpc = serving.GrpcClient(f"127.0.0.1:{grpc_port}", model="tiny")
        _wait_available(rest, server, tmp_path / "server.log")
        z = _latents(2, latent_dim)
        expected = _numpy(direct["tiny"]["serving_default"](z=tf.constant(z)))
        for client in (rest, grpc):
            _assert_same(client.generate(z=z), expected)
        np.testing.assert_array_equal(rest.generate(count=3, seed=1).images,
                                      grpc.generate(count=3, seed=1).images)
        with pytest.raises(ZooError, match="count must be >= 0"):
            rest.generate(count=-1)
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_available(client, server, log_path, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, f"the server exited: {log_path.read_text()}"
        try:
            states = [v["state"] for v in client.status()["model_version_status"]]
            if "AVAILABLE" in states:
                return
        except ZooError:
            pass
        time.sleep(0.5)
    pytest.fail(f"the model was not AVAILABLE within {timeout} s: {log_path.read_text()}")
