"""Shared test setup: tfgan_zoo is imported first (it switches TensorFlow to tf_keras), and the
CPU is split into two logical devices so MirroredStrategy can be tested without a GPU."""
import tfgan_zoo  # noqa: F401  # isort: skip  (must precede TensorFlow)
import tensorflow as tf

_cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    _cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])


import socket  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def digits_data_dir(tmp_path_factory):
    """A TFDS data_dir with the embedded sklearn_digits prepared once for the whole session."""
    import tensorflow_datasets as tfds

    from tfgan_zoo import data  # registers the builder

    path = tmp_path_factory.mktemp("tfds")
    tfds.builder(data.EMBEDDED_DATASET, data_dir=str(path)).download_and_prepare()
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
