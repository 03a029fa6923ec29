"""tfgan_zoo: a TensorFlow/Keras model zoo of generative adversarial networks.

TF-MOT only prunes Keras 2 (tf_keras) models, so the whole package runs on tf_keras. TensorFlow
reads TF_USE_LEGACY_KERAS when `tf.keras` is first touched, which is why it is set here, before
any submodule imports TensorFlow.
"""
import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"
# Hide TensorFlow's C++ INFO logs; warnings and errors still show. (The oneDNN/CUDA lines that
# TensorFlow prints before its logging starts ignore this setting.)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")

__version__ = "0.1.0"
