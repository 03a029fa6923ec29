"""Local stand-ins for TF Serving's REST and gRPC endpoints, for tests where no
`tensorflow_model_server` exists (see shared/STACK.md: there is none to install here).

They serve `<base>/<model name>/<integer version>/` SavedModels by the contract TF Serving
documents (g3doc/api_rest.md, apis/*.proto) and, where the documents are silent, as its source
does (model_servers/http_rest_api_handler.cc and http_rest_api_util.cc, util/json_tensor.cc,
get_model_status_impl.cc): the same URLs, JSON shapes, JSON-to-dtype rules, error messages and
status codes. Predictions run the SavedModel's own signatures (`tf.saved_model.load`), which,
like the server's Session::Run, check dtypes but not shapes, so the graph's InvalidArgument
assertions reach the client as they would from the real server.

Not mirrored: every version under a model directory is served (the server's default policy
loads only the latest); version labels, classify, regress, MultiInference and model reloading are
not implemented; floats are written as the double nearest each float32 (the same values, more
digits than the server prints).
"""
import tfgan_zoo  # noqa: F401  # isort: skip  (must precede TensorFlow)

import base64
import contextlib
import dataclasses
import http.server
import json
import os
import re
import threading
import urllib.parse
from concurrent import futures

import grpc
import numpy as np
import tensorflow as tf
from google.protobuf import json_format
from tensorflow.core.framework import types_pb2
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow_serving.apis import (
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

from tfgan_zoo.deployment import exports

DEFAULT_SIGNATURE = "serving_default"  # kDefaultServingSignatureDefKey
_PROTO_JSON = dict(preserving_proto_field_name=True, always_print_fields_with_no_presence=True)
Code = grpc.StatusCode
# The server's mapping of status codes to HTTP (model_servers/http_server.cc).
HTTP_STATUS = {
    Code.INVALID_ARGUMENT: 400, Code.FAILED_PRECONDITION: 400, Code.OUT_OF_RANGE: 400,
    Code.NOT_FOUND: 404, Code.ALREADY_EXISTS: 409, Code.ABORTED: 409, Code.PERMISSION_DENIED: 403,
    Code.UNAUTHENTICATED: 401, Code.RESOURCE_EXHAUSTED: 429, Code.UNIMPLEMENTED: 501,
    Code.UNAVAILABLE: 503, Code.DEADLINE_EXCEEDED: 504, Code.CANCELLED: 499,
}
_CODES_BY_NUMBER = {code.value[0]: code for code in Code}
PREDICT_PATH = re.compile(
    r"/v1/models/([^/:]+)(?:(?:/versions/(\d+))|(?:/labels/([^/:]+)))?:(classify|regress|predict)",
    re.IGNORECASE)
MODEL_PATH = re.compile(
    r"/v1/models(?:/([^/:]+))?(?:(?:/versions/(\d+))|(?:/labels/([^/:]+)))?(?:/(metadata))?",
    re.IGNORECASE)


class ServingError(Exception):
    """A failed request, with the gRPC status code the server would answer."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def _invalid(message):
    return ServingError(Code.INVALID_ARGUMENT, message)


class Servable:
    """One loaded version: the signature functions, and the SignatureDefs that the server reads
    from saved_model.pb (its metadata lists them with their graph tensor names)."""

    def __init__(self, name, version, path):
        self.name, self.version = name, version
        self.loaded = tf.saved_model.load(path)
        self.signature_defs = _signature_defs(path)

    def inputs(self, signature_name, message):
        """{input: TensorInfo} of a signature; ServingError(message) when it does not exist."""
        name = signature_name or DEFAULT_SIGNATURE
        if name not in self.signature_defs:
            raise message(name)
        return self.signature_defs[name].inputs

    def predict(self, signature_name, arrays, output_filter=()):
        """{alias: numpy array} -> {alias: numpy array}, checked as predict_util.cc does."""
        name = signature_name or DEFAULT_SIGNATURE
        expected = self.inputs(name, lambda n: ServingError(
            Code.FAILED_PRECONDITION, f'Serving signature key "{n}" not found.'))
        _check_aliases(arrays, expected)
        try:
            outputs = self.loaded.signatures[name](
                **{alias: tf.constant(array) for alias, array in arrays.items()})
        except tf.errors.OpError as e:
            raise ServingError(_CODES_BY_NUMBER.get(e.error_code, Code.UNKNOWN),
                               _session_message(e.message)) from e
        except (TypeError, ValueError) as e:
            raise _invalid(str(e)) from e
        return _filtered({k: v.numpy() for k, v in outputs.items()}, output_filter)

    def fill_spec(self, spec, signature_name=""):
        """The ModelSpec a response carries: the version served, whatever was asked."""
        spec.name, spec.signature_name = self.name, signature_name
        spec.version.value = self.version


def _signature_defs(path):
    saved = saved_model_pb2.SavedModel()
    with open(os.path.join(path, "saved_model.pb"), "rb") as f:
        saved.ParseFromString(f.read())
    graph = next(g for g in saved.meta_graphs if "serve" in g.meta_info_def.tags)
    return dict(graph.signature_def)


def _check_aliases(arrays, expected):
    sent, wanted = set(arrays), set(expected)
    if len(sent) != len(wanted):
        raise _invalid(
            f"input size does not match signature: {len(sent)}!={len(wanted)} "
            f"len({{{','.join(sorted(sent))}}}) != len({{{','.join(sorted(wanted))}}}). "
            f"Sent extra: {{{','.join(sorted(sent - wanted))}}}. "
            f"Missing but required: {{{','.join(sorted(wanted - sent))}}}.")
    unknown = sorted(sent - wanted)
    if unknown:
        raise _invalid(f"input tensor alias not found in signature: {unknown[0]}. Inputs "
                       f"expected to be in the set {{{','.join(sorted(wanted))}}}.")


def _filtered(outputs, output_filter):
    for alias in output_filter:
        if alias not in outputs:
            raise _invalid(f"output tensor alias not found in signature: {alias} Outputs "
                           f"expected to be in the set {{{','.join(sorted(outputs))}}}.")
    return {k: v for k, v in outputs.items() if not output_filter or k in output_filter}


def _session_message(message):
    """An eager error as Session::Run states it: eager execution adds a preamble ("Graph
    execution error: ... <stack traces unavailable>") and an [Op:...] suffix."""
    message = re.sub(r"^Graph execution error:.*?<stack traces unavailable>\n", "", message,
                     flags=re.DOTALL)
    return re.sub(r" \[Op:[^\]]*\]$", "", message)


class ServedModels:
    """Every `<base>/<name>/<version>/saved_model.pb`, loaded once and shared by both endpoints."""

    def __init__(self, base_dir):
        self.models = {}
        for name in sorted(os.listdir(base_dir)):
            model_dir = os.path.join(base_dir, name)
            if not os.path.isdir(model_dir):  # export's models.config sits beside the models
                continue
            self.models[name] = {v: Servable(name, v, os.path.join(model_dir, str(v)))
                                 for v in exports.versions(model_dir, servable=True)}

    def find(self, name, version=None, label=None):
        """The servable asked for (the highest version by default), as ServerCore finds it."""
        if label:
            raise _invalid(f"Unrecognized servable version label: {label}")
        versions = self.models.get(name, {})
        if version is None:
            if not versions:
                raise ServingError(Code.NOT_FOUND, f"Servable not found for request: "
                                                   f"Latest({name})")
            return versions[max(versions)]
        if version not in versions:
            raise ServingError(Code.NOT_FOUND, f"Servable not found for request: "
                                               f"Specific({name}, {version})")
        return versions[version]

    def status(self, name, version=None):
        """GetModelStatusResponse: every version, highest first, or the one asked for."""
        versions = self.models.get(name, {})
        if version is not None and version not in versions:
            raise ServingError(Code.NOT_FOUND, f"Could not find version {version} of model {name}")
        if not versions:
            raise ServingError(Code.NOT_FOUND, f"Could not find any versions of model {name}")
        response = get_model_status_pb2.GetModelStatusResponse()
        for v in [version] if version is not None else sorted(versions, reverse=True):
            status = response.model_version_status.add(version=v)
            status.state = get_model_status_pb2.ModelVersionStatus.AVAILABLE
            status.status.SetInParent()  # error_code OK, error_message ""
        return response

    def metadata(self, name, version=None, label=None, fields=("signature_def",)):
        """GetModelMetadataResponse with the SignatureDefMap packed as the server packs it."""
        if not fields:
            raise _invalid("GetModelMetadataRequest must specify at least one metadata_field")
        for field in fields:
            if field != "signature_def":
                raise _invalid(f"Metadata field {field} is not supported")
        servable = self.find(name, version, label)
        signature_defs = get_model_metadata_pb2.SignatureDefMap(
            signature_def=servable.signature_defs)
        response = get_model_metadata_pb2.GetModelMetadataResponse()
        servable.fill_spec(response.model_spec)
        response.metadata["signature_def"].Pack(signature_defs)
        return response


# JSON -> tensors, as util/json_tensor.cc converts them.

def _dtype_name(dtype):
    return types_pb2.DataType.Name(dtype)[3:].lower()  # DataTypeString: DT_FLOAT -> "float"


def _dump(value):
    return json.dumps(value, separators=(",", ":"))


def _json_type(value):
    if value is None or isinstance(value, bool):
        return {None: "Null", False: "False", True: "True"}[value]
    return {dict: "Object", list: "Array", str: "String"}.get(type(value), "Number")


def _is_int(value, low, high):
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_b64(value):
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("b64"), str)


def _is_object(value):
    return isinstance(value, dict) and not _is_b64(value)


_INT_BITS = {
    types_pb2.DT_INT8: 32, types_pb2.DT_INT16: 32, types_pb2.DT_INT32: 32,
    types_pb2.DT_UINT8: 32, types_pb2.DT_INT64: 64,
}
_FLOAT_LIMITS = {types_pb2.DT_FLOAT: (24, np.finfo(np.float32).max),
                 types_pb2.DT_DOUBLE: (53, np.finfo(np.float64).max)}


def _leaf(value, dtype):
    """One JSON scalar -> a Python value of `dtype`, or TF Serving's error for it."""
    type_error = _invalid(f"JSON Value: {_dump(value)} Type: {_json_type(value)} is not of "
                          f"expected type: {_dtype_name(dtype)}")
    if dtype in _FLOAT_LIMITS:
        if not _is_number(value):
            raise type_error
        digits, largest = _FLOAT_LIMITS[dtype]
        lossy = (abs(value) > 2**digits - 1 if isinstance(value, int)
                 else np.isfinite(value) and abs(value) > largest)
        if lossy:
            raise _invalid(f"Cannot convert JSON value: {_dump(value)} to "
                           f"{_dtype_name(dtype)} without loss of precision.")
        return value
    if dtype in _INT_BITS:
        bits = _INT_BITS[dtype]
        if not _is_int(value, -(2 ** (bits - 1)), 2 ** (bits - 1) - 1):
            raise type_error
        return value
    if dtype == types_pb2.DT_BOOL:
        if not isinstance(value, bool):
            raise type_error
        return value
    if dtype == types_pb2.DT_STRING:
        if _is_b64(value):
            return base64.b64decode(value["b64"])
        if not isinstance(value, str):
            raise type_error
        return value.encode()
    raise ServingError(Code.UNIMPLEMENTED, f"Conversion of JSON Value: {_dump(value)} to type: "
                                           f"{_dtype_name(dtype)}")


def _dense_shape(value):
    shape = []
    while isinstance(value, list):
        shape.append(len(value))
        if not value:
            break
        value = value[0]
    return shape


def _fill(value, level, shape, dtype, out):
    if not isinstance(value, list):
        if level != len(shape):
            raise _invalid(f"JSON Value: {_dump(value)} found at incorrect level: {level + 1} in "
                           f"the JSON DOM. Expected at level: {len(shape)}")
        if isinstance(value, dict) and dtype != types_pb2.DT_STRING:
            raise _invalid(f"JSON Value: {_dump(value)} Type: Object is not of expected type: "
                           f"{_dtype_name(dtype)}")
        out.append(_leaf(value, dtype))
        return
    if level >= len(shape):
        raise _invalid(f"Encountered list at unexpected level: {level} expected < {len(shape)}")
    if len(value) != shape[level]:
        raise _invalid(f"Encountered list at unexpected size: {len(value)} at level: {level} "
                       f"expected size: {shape[level]}")
    for item in value:
        _fill(item, level + 1, shape, dtype, out)


def json_to_array(value, dtype):
    """A JSON value (scalar or nested lists) -> numpy array of the signature's DataType enum."""
    shape, flat = _dense_shape(value), []
    _fill(value, 0, shape, dtype, flat)
    np_dtype = object if dtype == types_pb2.DT_STRING else tf.as_dtype(dtype).as_numpy_dtype
    return np.array(flat, dtype=np_dtype).reshape(shape)


def _shape_text(shape):
    return f"[{','.join(str(d) for d in shape)}]"


def _from_instances(instances, infos, document):
    """Row format: one object (or, for a single input, one value) per batch row."""
    if not isinstance(instances, list):
        raise _invalid(f"JSON Value: {_dump(document)} Excepting 'instances' to be an list/array")
    if not instances:
        raise _invalid(f"JSON Value: {_dump(document)} No values in 'instances' array")
    if not isinstance(instances[0], dict) and len(infos) > 1:
        raise _invalid("instances is a plain list, but expecting list of objects as multiple "
                       "input tensors required as per tensorinfo_map")
    objects = _is_object(instances[0])
    rows = {}
    for i, item in enumerate(instances):
        if objects != _is_object(item):
            kind = "object but got list" if objects else "value/list but got object"
            raise _invalid(f"Expecting {kind} at item {i} of input list")
        named = item if objects else {next(iter(infos)): item}
        for alias, value in named.items():
            _add_row(rows, alias, value, infos, f"Failed to process element: {i} "
                     + (f"key: {alias} " if objects else "") + "of 'instances' list. Error: ")
        if objects and set(item) != set(infos):
            raise _invalid(f"Failed to process element: {i} of 'instances' list. JSON object: "
                           f"{_dump(item)} keys must be equal to: {','.join(sorted(infos))}")
    return {alias: np.stack(arrays) for alias, arrays in rows.items()}


def _add_row(rows, alias, value, infos, context):
    try:
        if alias not in infos:
            raise _invalid(f"JSON object: does not have named input: {alias}")
        array = json_to_array(value, infos[alias].dtype)
        first = rows.setdefault(alias, [array])[0]
        if array.size != first.size:
            raise _invalid(f"Expecting tensor size: {first.size} but got: {array.size}")
        if array.shape != first.shape:
            raise _invalid(f"Expecting shape {_shape_text(first.shape)} but got: "
                           f"{_shape_text(array.shape)}")
        if array is not first:
            rows[alias].append(array)
    except ServingError as e:
        raise _invalid(f"{context}{e.code.name}: {e}") from e


def _from_inputs(inputs, infos):
    """Columnar format: one value (single input) or an object of every input by name."""
    if not _is_object(inputs):
        if len(infos) > 1:
            raise _invalid("inputs is a plain value/list, but expecting an object as multiple "
                           "input tensors required as per tensorinfo_map")
        alias, info = next(iter(infos.items()))
        return {alias: json_to_array(inputs, info.dtype)}
    arrays = {}
    for alias, info in infos.items():  # names the signature lacks are ignored, as the server does
        if alias not in inputs:
            raise _invalid(f"Missing named input: {alias} in 'inputs' object.")
        arrays[alias] = json_to_array(inputs[alias], info.dtype)
    return arrays


def parse_predict_body(body, find_inputs):
    """A :predict body -> (signature name, {alias: array}, "row" | "columnar")."""
    try:
        document = json.loads(body) if body else None
    except ValueError as e:
        raise _invalid(f"JSON Parse error: {e}") from e
    if document is None:
        raise _invalid("JSON Parse error: The document is empty")
    if not isinstance(document, dict):
        raise _invalid(f"JSON Value: {_dump(document)} Is not object")
    signature = document.get("signature_name", "")
    if not isinstance(signature, str):
        raise _invalid(f"JSON Value: {_dump(document)} not formatted correctly. "
                       "'signature_name' key must be a string value.")
    infos = find_inputs(signature)
    if not infos:
        raise _invalid(f"Failed to get input map for signature: {signature or 'DEFAULT'}")
    if "instances" in document and "inputs" in document:
        raise _invalid(f"JSON Value: {_dump(document)} Not formatted correctly expecting only "
                       "one of 'inputs' or 'instances' keys to exist ")
    if "instances" in document:
        return signature, _from_instances(document["instances"], infos, document), "row"
    if "inputs" in document:
        return signature, _from_inputs(document["inputs"], infos), "columnar"
    raise _invalid("Missing 'inputs' or 'instances' key")


# Tensors -> JSON, as the server writes predictions.

def _row_json(outputs):
    batch = None
    for alias, array in sorted(outputs.items()):
        if array.ndim == 0:
            raise _invalid(f"Tensor name: {alias} has no shape information ")
        if batch is not None and array.shape[0] != batch:
            raise _invalid(f"Tensor name: {alias} has inconsistent batch size: {array.shape[0]} "
                           f"expecting: {batch}")
        batch = array.shape[0]
    lists = {alias: array.tolist() for alias, array in outputs.items()}
    if len(lists) == 1:
        return {"predictions": next(iter(lists.values()))}
    return {"predictions": [{alias: values[i] for alias, values in lists.items()}
                            for i in range(batch)]}


def _columnar_json(outputs):
    lists = {alias: array.tolist() for alias, array in outputs.items()}
    return {"outputs": next(iter(lists.values())) if len(lists) == 1 else lists}


def _jsonable(alias, array):
    """Bytes (DT_STRING outputs) cannot go into JSON as they are; numbers can. As TF Serving
    does (json_tensor.cc), an output whose alias ends in "_bytes" is sent as {"b64": ...},
    any other string as UTF-8 text."""
    if array.dtype != object:
        return array
    if alias.endswith("_bytes"):
        return np.vectorize(lambda b: {"b64": base64.b64encode(b).decode("ascii")},
                            otypes=[object])(array)
    return np.vectorize(lambda b: b.decode("utf-8", "replace"), otypes=[object])(array)


class _RestHandler(http.server.BaseHTTPRequestHandler):
    """The /v1/ API. `models` (a ServedModels) is set on the subclass made per server."""

    models = None

    def log_message(self, format, *args):
        """Quiet: tests read answers, not access logs."""

    def do_GET(self):
        self._answer(self._get)

    def do_POST(self):
        self._answer(self._post)

    def _answer(self, handler):
        path = urllib.parse.urlsplit(self.path).path
        if not path.lower().startswith("/v1/"):
            return self._send(404, {"error": f"Not found: {path}"})
        try:
            self._send(200, handler(path))
        except ServingError as e:
            self._send(HTTP_STATUS.get(e.code, 500), {"error": str(e)})
        except Exception as e:  # a bug here: answer it rather than drop the connection
            self._send(500, {"error": f"{type(e).__name__}: {e}"})

    def _send(self, status, document):
        data = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _get(self, path):
        match = MODEL_PATH.fullmatch(path)
        if not match:
            raise _invalid(f"Malformed request: GET {path}")
        name, version, label, metadata = match.groups()
        if not name:
            raise _invalid("Missing model name in request.")
        name, version = urllib.parse.unquote(name), int(version) if version else None
        if metadata:
            response = self.models.metadata(name, version, label)
            signature_defs = get_model_metadata_pb2.SignatureDefMap()
            response.metadata["signature_def"].Unpack(signature_defs)
            return {"model_spec": json_format.MessageToDict(response.model_spec, **_PROTO_JSON),
                    "metadata": {"signature_def": json_format.MessageToDict(
                        signature_defs, **_PROTO_JSON)}}
        if label:
            raise _invalid(f"Unrecognized servable version label: {label}")
        return json_format.MessageToDict(self.models.status(name, version), **_PROTO_JSON)

    def _post(self, path):
        match = PREDICT_PATH.fullmatch(path)
        if not match:
            raise _invalid(f"Malformed request: POST {path}")
        name, version, label, method = match.groups()
        if method.lower() != "predict":
            raise ServingError(Code.UNIMPLEMENTED, f"{method} is not served by these endpoints")
        servable = self.models.find(urllib.parse.unquote(name), int(version) if version else None,
                                    label)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        signature, arrays, layout = parse_predict_body(body, lambda s: servable.inputs(
            s, lambda n: _invalid(f'Serving signature name: "{n}" not found in signature def')))
        outputs = {k: _jsonable(k, v) for k, v in servable.predict(signature, arrays).items()}
        return _row_json(outputs) if layout == "row" else _columnar_json(outputs)


@contextlib.contextmanager
def rest_endpoint(models):
    """Serves `models` over REST on 127.0.0.1 (a free port) in a daemon thread; yields the URL."""
    handler = type("Handler", (_RestHandler,), {"models": models})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _aborting(method):
    """A servicer method that answers a ServingError with its status code, as the server does."""
    def wrapped(self, request, context):
        try:
            return method(self, request)
        except ServingError as e:
            context.abort(e.code, str(e))
    return wrapped


def _spec_args(spec):
    return (spec.name, spec.version.value if spec.HasField("version") else None,
            spec.version_label or None)


class _Predictions(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, models):
        self.models = models

    @_aborting
    def Predict(self, request):
        servable = self.models.find(*_spec_args(request.model_spec))
        signature = request.model_spec.signature_name or DEFAULT_SIGNATURE
        arrays = {alias: _from_proto(alias, proto) for alias, proto in request.inputs.items()}
        outputs = servable.predict(signature, arrays, tuple(request.output_filter))
        response = predict_pb2.PredictResponse()
        servable.fill_spec(response.model_spec, signature)
        for alias, array in outputs.items():
            response.outputs[alias].CopyFrom(tf.make_tensor_proto(array))
        return response

    @_aborting
    def GetModelMetadata(self, request):
        name, version, label = _spec_args(request.model_spec)
        return self.models.metadata(name, version, label, tuple(request.metadata_field))


def _from_proto(alias, proto):
    try:
        return tf.make_ndarray(proto)
    except (TypeError, ValueError) as e:
        raise _invalid(f"tensor parsing error: {alias}") from e


class _ModelStatus(model_service_pb2_grpc.ModelServiceServicer):
    def __init__(self, models):
        self.models = models

    @_aborting
    def GetModelStatus(self, request):
        name, version, label = _spec_args(request.model_spec)
        if label:
            raise _invalid(f"Unrecognized servable version label: {label}")
        return self.models.status(name, version)


@contextlib.contextmanager
def grpc_endpoint(models):
    """Serves `models` over gRPC on 127.0.0.1 (a free port); yields the "host:port" target."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), options=[
        ("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)])
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        _Predictions(models), server)
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(_ModelStatus(models), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(grace=None)


@dataclasses.dataclass(frozen=True)
class Endpoints:
    rest_url: str
    grpc_target: str
    models: ServedModels


@contextlib.contextmanager
def serve(base_dir):
    """Both endpoints over one load of every model under `base_dir`."""
    models = ServedModels(base_dir)
    with rest_endpoint(models) as url, grpc_endpoint(models) as target:
        yield Endpoints(url, target, models)
