"""tfgan_zoo: a TensorFlow/Keras model zoo of generative adversarial networks.

TF-MOT only prunes Keras 2 (tf_keras) models, so the whole package runs on tf_keras. TensorFlow
reads TF_USE_LEGACY_KERAS when `tf.keras` is first touched, which is why it is set here, before
any submodule imports TensorFlow.
"""
import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"
# Hide TensorFlow's C++ INFO logs (the CPU-feature notice); warnings and errors still show.
# Level 1 is the smallest that does it; the lines TensorFlow prints before its logging starts
# (oneDNN, CUDA) ignore every level, and the verbs drop them instead (cli_common). A level the
# user set is kept; a verb's --verbosity sets ours back to 0.
TF_CPP_MIN_LOG_LEVEL_DEFAULTED = "TF_CPP_MIN_LOG_LEVEL" not in os.environ
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")

__version__ = "0.1.0"
