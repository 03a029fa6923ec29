"""Clients for a generator exported by `python -m tfgan_zoo.export` and served by TF Serving.

Start a server on an export's model directory (the one that holds the numbered versions):

  tensorflow_model_server --rest_api_port=8501 --port=8500 \\
      --model_name=dcgan --model_base_path=/abs/path/export/dcgan
  # or, with Docker:
  docker run -p 8501:8501 -p 8500:8500 -e MODEL_NAME=dcgan \\
      -v /abs/path/export/dcgan:/models/dcgan tensorflow/serving

then, from Python:

  from tfgan_zoo.deployment import serving
  client = serving.RestClient("http://localhost:8501", model="dcgan")
  # or serving.GrpcClient("localhost:8500", model="dcgan"): the same methods
  samples = client.generate(count=16, seed=0)    # the `sample` signature: no latents needed
  samples = client.generate(z=my_latents)        # serving_default, z float32 [N, latent_dim]
  samples.save("samples/")                       # one file per sample (PNG for images,
                                                 # WAV for audio, a line of .txt for text)
  samples.images                                 # any output by name: uint8 [N, H, W, C]

Class-conditional models also take `labels=` (one class id per row of z) or `label=` (with
count: a class id, or -1 for the classes in turn). `predict`, `metadata` and `status` speak TF
Serving's own API for anything else. Every failure (no server, a refused request, a graph
assertion such as "count must be >= 0") raises ZooError with what the server said.

The module is over 400 lines because both transports live here with the JSON and proto
conversions they share: split, each half would restate the other's half of one contract.
"""
from __future__ import annotations

import base64
import dataclasses
import functools
import json
import types
import urllib.parse

import numpy as np
import requests

from tfgan_zoo import kinds
from tfgan_zoo.errors import ZooError

DEFAULT_SIGNATURE = "serving_default"
SAMPLE_SIGNATURE = "sample"
FORMATS = ("columnar", "row")

# JSON carries no dtypes (uint8 pixels come back as plain numbers), so arrays take the dtype
# that the signature's metadata names.
_NUMPY_DTYPES = {
    "DT_FLOAT": np.float32, "DT_DOUBLE": np.float64, "DT_HALF": np.float16,
    "DT_INT8": np.int8, "DT_INT16": np.int16, "DT_INT32": np.int32, "DT_INT64": np.int64,
    "DT_UINT8": np.uint8, "DT_UINT16": np.uint16, "DT_UINT32": np.uint32,
    "DT_UINT64": np.uint64, "DT_BOOL": np.bool_, "DT_STRING": np.object_,
}
# How TF Serving prints protos as JSON (model_servers/http_rest_api_util.cc); the gRPC client
# uses it too, so both clients return the same dicts from status() and metadata().
_PROTO_JSON = dict(preserving_proto_field_name=True, always_print_fields_with_no_presence=True)
# TF Serving accepts messages of any size; gRPC's default 4 MB would refuse a large batch.
_GRPC_OPTIONS = [("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)]


@dataclasses.dataclass(frozen=True)
class TensorInfo:
    """One input or output of a signature: numpy dtype (None if unsupported) and shape, with -1
    for a dimension of any size; shape None when the rank is unknown."""

    dtype: type | None
    shape: tuple[int, ...] | None


@dataclasses.dataclass(frozen=True)
class Signature:
    inputs: dict[str, TensorInfo]
    outputs: dict[str, TensorInfo]


@dataclasses.dataclass(frozen=True, eq=False)
class Samples:
    """What a generator served: its named `outputs` (for images: `images` uint8 [N, H, W, C] and
    `images_float` float32 in [-1, 1]; for text: `tokens` int32 [N, T] and `text`, bytes [N]
    from either transport; each also readable as an attribute, `samples.images`), the latents
    z [N, latent_dim] used (None where `sample` does not return them: text's), labels int32
    [N] (None for unconditional models), and the kind of sample the outputs are
    (tfgan_zoo.kinds), found from their names."""

    outputs: dict
    z: np.ndarray | None
    labels: np.ndarray | None = None

    @property
    def kind(self):
        return kinds.for_outputs(self.outputs)

    def __getattr__(self, name):
        outputs = self.__dict__.get("outputs", {})
        if name in outputs:
            return outputs[name]
        raise AttributeError(f"served samples have no output {name!r}; they have "
                             f"{', '.join(sorted(outputs))}")

    def encoded(self):
        """One file's bytes per sample (PNG for images), as the kind encodes them."""
        return self.kind.encode_files(self.outputs)

    def save(self, directory, prefix="sample"):
        """Writes one file per sample, <directory>/<prefix>_<i>.<the kind's type> (numbers
        zero-padded so that they sort); returns the paths."""
        return self.kind.save_files(self.outputs, directory, prefix)


def parse_signatures(metadata):
    """TF Serving's metadata JSON -> {name: Signature}. Names starting with "__" are TensorFlow's
    own entries (every TF2 SavedModel lists `__saved_model_init_op`), not callable signatures."""
    defs = metadata["metadata"]["signature_def"]["signature_def"]
    return {name: Signature(_infos(d.get("inputs", {})), _infos(d.get("outputs", {})))
            for name, d in defs.items() if not name.startswith("__")}


def _infos(tensors):
    return {name: TensorInfo(_NUMPY_DTYPES.get(t.get("dtype")), _shape(t.get("tensor_shape", {})))
            for name, t in tensors.items()}


def _shape(shape):
    if shape.get("unknown_rank"):
        return None
    return tuple(int(dim.get("size", 0)) for dim in shape.get("dim", []))


class _Client:
    """What both transports share: the signatures (fetched once, for dtypes) and `generate`."""

    def __init__(self, address, model, version, timeout):
        self.address, self.model, self.version, self.timeout = address, model, version, timeout
        self._signatures = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def signatures(self):
        """{name: Signature} of the served version; metadata is fetched on first use only."""
        if self._signatures is None:
            self._signatures = parse_signatures(self.metadata())
        return self._signatures

    def signature(self, name):
        signatures = self.signatures()
        if name not in signatures:
            raise ZooError(f"model {self.model!r} at {self.address} has no signature {name!r}; "
                           f"it has: {', '.join(sorted(signatures))}")
        return signatures[name]

    def generate(self, z=None, labels=None, *, count=None, seed=0, label=-1):
        """Samples from given latents z (serving_default), or `count` latents that the server
        draws from `seed` (the `sample` signature: the same count and seed, the same samples)."""
        if z is not None and count is not None:
            raise ZooError("pass z (latents for serving_default) or count (for sample), not both")
        if z is not None:
            return self._generate(z, labels)
        if count is None:
            raise ZooError("generate needs z (latents) or count (samples drawn from seed)")
        return self._sample(count, seed, label)

    def _conditional(self, signature):
        return "label" in self.signature(signature).inputs

    def _generate(self, z, labels):
        inputs = {"z": z}
        if self._conditional(DEFAULT_SIGNATURE):
            if labels is None:
                raise ZooError(f"model {self.model!r} is class-conditional: pass labels, one "
                               "class id per row of z")
            inputs["label"] = labels
        elif labels is not None:
            raise ZooError(f"model {self.model!r} is not class-conditional: it takes no labels")
        out = self.predict(inputs, DEFAULT_SIGNATURE)
        labels = None if labels is None else np.asarray(labels, np.int32)
        return Samples(out, np.asarray(z, np.float32), labels)

    def _sample(self, count, seed, label):
        inputs = {"count": count, "seed": seed}
        if self._conditional(SAMPLE_SIGNATURE):
            inputs["label"] = label
        elif label != -1:
            raise ZooError(f"model {self.model!r} is not class-conditional: it takes no label")
        out = self.predict(inputs, SAMPLE_SIGNATURE)
        served = {k: v for k, v in out.items() if k not in ("z", "label")}
        return Samples(served, out.get("z"), out.get("label"))

    def _refused(self, what, message):
        return ZooError(f"TF Serving at {self.address} refused {what} of model {self.model!r}"
                        f"{self._version_text()}: {message}")

    def _no_server(self):
        return ZooError(no_server_message(self.address, self.model))

    def _version_text(self):
        return "" if self.version is None else f" version {self.version}"

    def close(self):
        """Releases the connection; the client cannot be used afterwards."""


def no_server_message(address, model):
    """Says that nothing answered at `address`, and how to start TF Serving on an export."""
    return (f"no TF Serving server answered at {address}. Start one on the exported model, e.g. "
            f"`tensorflow_model_server --rest_api_port=8501 --port=8500 --model_name={model} "
            f"--model_base_path=/abs/export/{model}`, or the Docker image: `docker run "
            f"-p 8501:8501 -p 8500:8500 -e MODEL_NAME={model} -v /abs/export/{model}:/models/"
            f"{model} tensorflow/serving`")


def coerce(name, value, info):
    """`value` as the numpy dtype that the input `name` takes. Integers may widen or narrow when
    no value changes; floats never become integers (TF Serving refuses 1.5 for an int32)."""
    array = np.asarray(value)
    if info is None or info.dtype is None or array.dtype == info.dtype:
        return array
    target = np.dtype(info.dtype)
    if target.kind in "iu":
        if array.dtype.kind not in "iub":
            raise ZooError(f"input {name!r} takes {target.name} integers, not {array.dtype}")
        cast = array.astype(target)
        if np.any(cast != array):
            raise ZooError(f"input {name!r} holds values outside {target.name}")
        return cast
    if target.kind == "f":
        if array.dtype.kind not in "iuf":
            raise ZooError(f"input {name!r} takes {target.name} numbers, not {array.dtype}")
        return array.astype(target)
    return array


class RestClient(_Client):
    """TF Serving's REST API: GET /v1/models/NAME[/versions/N][/metadata], POST ...:predict."""

    def __init__(self, url="http://localhost:8501", *, model, version=None, timeout=30):
        url = url if "://" in url else f"http://{url}"  # "localhost:8501" as TF Serving's docs
        super().__init__(url.rstrip("/"), model, version, timeout)
        self._session = requests.Session()

    @property
    def model_url(self):
        version = "" if self.version is None else f"/versions/{self.version}"
        return f"{self.address}/v1/models/{urllib.parse.quote(self.model, safe='')}{version}"

    def status(self):
        """The GetModelStatusResponse JSON: {"model_version_status": [{"version", "state", ..}]}."""
        return self._call("GET", self.model_url, "a status request")

    def metadata(self):
        """The GetModelMetadataResponse JSON: model_spec and every signature_def."""
        return self._call("GET", f"{self.model_url}/metadata", "a metadata request")

    def predict(self, inputs, signature=DEFAULT_SIGNATURE, format="columnar"):
        """{input name: array-like} -> {output name: numpy array of the signature's dtype}.

        format "columnar" sends {"inputs": ...}; "row" sends {"instances": [...]}, one object
        per row, which needs every input batched alike (not the scalars of `sample`).
        """
        sig = self.signature(signature)
        arrays = {name: coerce(name, value, sig.inputs.get(name)) for name, value in inputs.items()}
        body = {"signature_name": signature, **_request_body(signature, sig, arrays, format)}
        answer = self._call("POST", f"{self.model_url}:predict", f"predict ({signature})", body)
        return _response_arrays(answer, sig)

    def _call(self, method, url, what, body=None):
        data = None if body is None else json.dumps(body)
        try:
            response = self._session.request(method, url, data=data, timeout=self.timeout)
        except requests.ConnectionError as e:
            raise self._no_server() from e
        except requests.Timeout as e:
            raise ZooError(f"TF Serving at {self.address} did not answer {what} of model "
                           f"{self.model!r} within {self.timeout} s") from e
        answer = _json_or_none(response.text)
        if response.status_code != 200 or not isinstance(answer, dict) or "error" in answer:
            message = answer.get("error") if isinstance(answer, dict) else None
            raise self._refused(what, f"{message or response.text.strip()} "
                                      f"(HTTP {response.status_code})")
        return answer

    def close(self):
        self._session.close()


def _json_or_none(text):
    # TF Serving writes NaN and Infinity tokens for non-finite floats; Python's json reads them.
    try:
        return json.loads(text)
    except ValueError:
        return None


def _request_body(signature, sig, arrays, format):
    if format == "columnar":
        return {"inputs": {name: array.tolist() for name, array in arrays.items()}}
    if format != "row":
        raise ZooError(f"format must be one of {', '.join(FORMATS)}, not {format!r}")
    scalars = sorted(name for name, info in sig.inputs.items() if info.shape == ())
    if scalars:
        raise ZooError(f"signature {signature!r} takes scalar inputs ({', '.join(scalars)}), "
                       "which TF Serving's row format cannot carry: use format='columnar'")
    sizes = {len(array) if array.ndim else None for array in arrays.values()}
    if len(sizes) != 1 or None in sizes:
        raise ZooError("the row format needs every input batched with the same number of rows; "
                       "use format='columnar'")
    rows = sizes.pop()
    return {"instances": [{name: array[i].tolist() for name, array in arrays.items()}
                          for i in range(rows)]}


def _response_arrays(answer, sig):
    """A predict answer -> {output name: array}. TF Serving names the outputs only when there
    are several: with one, "predictions"/"outputs" hold its values directly."""
    names = sorted(sig.outputs)
    if "predictions" in answer:
        rows = answer["predictions"]
        columns = ({names[0]: rows} if len(names) == 1 else
                   {name: [row[name] for row in rows] for name in names})
    elif "outputs" in answer:
        outputs = answer["outputs"]
        columns = outputs if len(names) > 1 else {names[0]: outputs}
    else:
        raise ZooError(f"TF Serving answered without predictions or outputs: {sorted(answer)}")
    return {name: _array(value, sig.outputs.get(name)) for name, value in columns.items()}


def _array(value, info):
    if info is None:
        return np.asarray(value)
    if info.dtype is np.object_:
        return _strings(value)
    array = np.asarray(value, dtype=info.dtype)
    # An empty batch comes back as [] whatever the shape: restore the dimensions that are known.
    if array.size == 0 and info.shape and all(d >= 0 for d in info.shape[1:]):
        array = array.reshape((0, *info.shape[1:]))
    return array


def _strings(value):
    """A DT_STRING output [N] as an object array of bytes: TF Serving sends an output whose
    name ends in "_bytes" as {"b64": ...} per element (binary, e.g. WAV files), others as text."""
    def element(item):
        if isinstance(item, dict) and set(item) == {"b64"}:
            return base64.b64decode(item["b64"])
        return item.encode("utf-8") if isinstance(item, str) else item

    items = value if isinstance(value, list) else [value]
    array = np.empty(len(items), dtype=object)  # bytes stay bytes, whatever their length
    array[:] = [element(item) for item in items]
    return array if isinstance(value, list) else array[0]


@functools.cache
def _grpc():
    """grpc, the TF Serving stubs and TensorFlow, imported on first use: they take seconds to
    import, which a REST-only client should not pay."""
    import grpc
    import tensorflow as tf
    from google.protobuf import json_format
    from tensorflow_serving.apis import (
        get_model_metadata_pb2,
        get_model_status_pb2,
        model_service_pb2_grpc,
        predict_pb2,
        prediction_service_pb2_grpc,
    )

    return types.SimpleNamespace(
        grpc=grpc, tf=tf, json_format=json_format, metadata=get_model_metadata_pb2,
        status=get_model_status_pb2, model_service=model_service_pb2_grpc, predict=predict_pb2,
        prediction_service=prediction_service_pb2_grpc)


class GrpcClient(_Client):
    """TF Serving's gRPC API: PredictionService (Predict, GetModelMetadata) and ModelService
    (GetModelStatus). status() and metadata() return the same JSON dicts as RestClient's."""

    def __init__(self, target="localhost:8500", *, model, version=None, timeout=30):
        super().__init__(target, model, version, timeout)
        api = _grpc()
        self._channel = api.grpc.insecure_channel(target, options=_GRPC_OPTIONS)
        self._predictions = api.prediction_service.PredictionServiceStub(self._channel)
        self._models = api.model_service.ModelServiceStub(self._channel)

    def status(self):
        request = _grpc().status.GetModelStatusRequest()
        self._fill_spec(request.model_spec)
        response = self._rpc(self._models.GetModelStatus, request, "a status request")
        return _grpc().json_format.MessageToDict(response, **_PROTO_JSON)

    def metadata(self):
        api = _grpc()
        request = api.metadata.GetModelMetadataRequest(metadata_field=["signature_def"])
        self._fill_spec(request.model_spec)
        response = self._rpc(self._predictions.GetModelMetadata, request, "a metadata request")
        signature_defs = api.metadata.SignatureDefMap()
        response.metadata["signature_def"].Unpack(signature_defs)
        to_json = functools.partial(api.json_format.MessageToDict, **_PROTO_JSON)
        return {"model_spec": to_json(response.model_spec),
                "metadata": {"signature_def": to_json(signature_defs)}}

    def predict(self, inputs, signature=DEFAULT_SIGNATURE):
        """{input name: array-like} -> {output name: numpy array}, one PredictRequest."""
        api, sig = _grpc(), self.signature(signature)
        request = api.predict.PredictRequest()
        self._fill_spec(request.model_spec, signature)
        for name, value in inputs.items():
            array = coerce(name, value, sig.inputs.get(name))
            request.inputs[name].CopyFrom(api.tf.make_tensor_proto(array))
        response = self._rpc(self._predictions.Predict, request, f"predict ({signature})")
        return {name: api.tf.make_ndarray(proto) for name, proto in response.outputs.items()}

    def _fill_spec(self, spec, signature=""):
        spec.name = self.model
        spec.signature_name = signature
        if self.version is not None:
            spec.version.value = int(self.version)

    def _rpc(self, method, request, what):
        grpc = _grpc().grpc
        try:
            return method(request, timeout=self.timeout)
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.UNAVAILABLE:
                raise self._no_server() from e
            if e.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                raise ZooError(f"TF Serving at {self.address} did not answer {what} of model "
                               f"{self.model!r} within {self.timeout} s") from e
            raise self._refused(what, f"{e.details()} ({e.code().name})") from e

    def close(self):
        self._channel.close()
