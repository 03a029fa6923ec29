"""Shared test setup: tfgan_zoo is imported first (it switches TensorFlow to tf_keras), and the
CPU is split into two logical devices so MirroredStrategy can be tested without a GPU."""
import tfgan_zoo  # noqa: F401  # isort: skip  (must precede TensorFlow)
import tensorflow as tf

_cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    _cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])


import fcntl  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def digits_data_dir(tmp_path_factory):
    """A TFDS data_dir with the embedded sklearn_digits prepared and its 28x28 feature classifier
    (what the tiny image configs evaluate with) trained, once for the whole session: the
    pytest-xdist workers share it, the first to get here builds it while the other waits,
    instead of each training its own classifier (about 20 s of 2 cores)."""
    import tensorflow_datasets as tfds

    from tfgan_zoo import config as config_lib
    from tfgan_zoo import data  # registers the builder
    from tfgan_zoo.metrics import extractors

    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the session's directory, above each worker's own
    path = shared / "digits_tfds"
    with open(shared / "digits_tfds.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not (path / "ready").exists():
            tfds.builder(data.EMBEDDED_DATASET, data_dir=str(path)).download_and_prepare()
            config = config_lib.load("dcgan", "tiny")
            config.data.data_dir = str(path)
            extractors.domain_classifier(config.data, 28, log=lambda _: None)
            (path / "ready").touch()
    return str(path)


@pytest.fixture
def two_cpu_strategy():
    """A MirroredStrategy over the two logical CPUs.

    Strategies in one process start their collective keys at the same value, so a second one's
    all-reduces collide with the first's ("Shape mismatch in the collective instance"); like
    TensorFlow's own tests (strategy_combinations.py), move the base for each new strategy.
    """
    tf.distribute.MirroredStrategy._collective_key_base += 100_000
    return tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])


@pytest.fixture
def free_ports():
    """free_ports(n): n TCP ports on localhost that nothing listens on now."""
    def take(count):
        sockets = [socket.socket() for _ in range(count)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        ports = [s.getsockname()[1] for s in sockets]
        for s in sockets:
            s.close()
        return ports
    return take
