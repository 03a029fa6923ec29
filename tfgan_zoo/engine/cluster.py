"""The run's `tf.distribute` strategy and this process's place in it.

  none                   the default strategy: one device
  mirrored               one machine: every local GPU, or with none, every logical CPU device
  multi_worker_mirrored  synchronous data parallelism over the machines TF_CONFIG names
  tpu                    a TPU: the one TPU_NAME names, or this TPU VM's own ("local")

Under `multi_worker_mirrored` every worker runs the same command and the same steps; the chief
(task "chief", or worker 0 if there is none) owns the run directory. The other workers do the
same work in lockstep (writing a checkpoint and reading batch-norm statistics are collective
operations that every worker must join), but into a scratch directory of their own that is
deleted when they finish.
"""
import dataclasses
import json
import os

import tensorflow as tf

from tfgan_zoo.errors import ZooError


@dataclasses.dataclass(frozen=True)
class Cluster:
    strategy: tf.distribute.Strategy
    is_chief: bool = True
    worker: str = ""  # "worker 1 of 2" in a multi-worker run, else empty

    @property
    def multi_worker(self):
        return bool(self.worker)


def make(name):
    """The `Cluster` for `config.train.distribute` = `name` (see config.STRATEGIES)."""
    if name == "mirrored":
        return Cluster(tf.distribute.MirroredStrategy(_local_devices()))
    if name == "multi_worker_mirrored":
        return _multi_worker()
    if name == "tpu":
        return Cluster(_tpu_strategy())
    return Cluster(tf.distribute.get_strategy())


def _local_devices():
    """Every local GPU; without one, every logical CPU device (one, unless the process split
    its CPU, as the tests do to run two replicas without a GPU)."""
    gpus = tf.config.list_logical_devices("GPU")
    return [d.name for d in gpus or tf.config.list_logical_devices("CPU")]


def _multi_worker():
    task_type, task_id, cluster = _task_from_tf_config()
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    is_chief = task_type == "chief" or (task_type == "worker" and task_id == 0 and not
                                        cluster.get("chief"))
    workers = len(cluster.get("chief", [])) + len(cluster.get("worker", []))
    return Cluster(strategy, is_chief, f"{task_type} {task_id} of {workers}")


def _task_from_tf_config():
    """(task type, index, the cluster dict) from TF_CONFIG; ZooError says what is missing."""
    example = ('TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
               '"task": {"type": "worker", "index": 0}}\'')
    text = os.environ.get("TF_CONFIG", "")
    if not text:
        raise ZooError("config.train.distribute=multi_worker_mirrored needs TF_CONFIG, the "
                       "cluster and this process's task in it, on every worker, e.g. "
                       f"{example} (index 1 on the second machine)")
    try:
        tf_config = json.loads(text)
        cluster, task = tf_config["cluster"], tf_config["task"]
        task_type, task_id = task["type"], int(task["index"])
        members = cluster[task_type]
    except (ValueError, KeyError, TypeError) as e:
        raise ZooError(f"TF_CONFIG is not a cluster with this task in it ({type(e).__name__}: "
                       f"{e}); it should look like {example}") from None
    if not 0 <= task_id < len(members):
        raise ZooError(f"TF_CONFIG's task is {task_type} {task_id}, but its cluster lists "
                       f"{len(members)} {task_type} address(es); the index counts from 0")
    return task_type, task_id, cluster


def _tpu_strategy():
    address = os.environ.get("TPU_NAME") or "local"
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=address)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, tf.errors.OpError) as e:
        first_line = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ZooError(f"config.train.distribute=tpu: no TPU at {address!r} ({first_line[:200]})"
                       ". Run on a TPU VM, or set TPU_NAME to your TPU's name or grpc:// "
                       "address") from None
    return tf.distribute.TPUStrategy(resolver)
