"""`text_oracle`: the synthetic-oracle benchmark of SeqGAN, Texygen and RelGAN.

A randomly initialised LSTM language model (the "oracle") stands in for real text: its samples
are the training data, and since its likelihood is known exactly, a generator is scored by the
oracle's negative log-likelihood of what it generates (NLL_oracle, lower is better). As in
Texygen's OracleLstm: vocabulary 5,000, embedding 32, hidden 32, every parameter drawn from
N(0, 1); token 0 is fed at the first step, from a zero state; each next token is drawn from the
softmax of the output projection of the hidden state.

`Oracle` is the model in NumPy. Its parameters come from `np.random.default_rng(ORACLE_SEED)`
(88, fixed so that every run, machine and version of the zoo scores against the same oracle),
drawn in this order: token embedding [V, E], input kernel [E, 4H], recurrent kernel [H, 4H],
gate bias [4H] (the 4H columns are the input, forget and output gates, then the candidate),
output kernel [H, V], output bias [V]. It computes in float32 (NLL within about 1e-6 nats of
a float64 transcription): on this project's 2-core machine sampling 20,000 sequences of 20
tokens takes about 3.5 s and scoring 10,000 about 1.2 s (the output projection and its
softmax over 5,000 tokens are most of it).

`TextOracle` is a TFDS builder of the oracle's samples, prepared offline in seconds. Feature
`tokens` int32 [T]; splits train and test, sampled with the seeds TRAIN_SEED and TEST_SEED.
Configs:
  length20 (default): 10,000 + 10,000 sequences of 20 tokens (the papers' setting).
  length40: 10,000 + 10,000 sequences of 40 tokens (RelGAN's long-sequence setting).
  tiny: 500 + 500 sequences of 20 tokens, from the same oracle: for tests.
`info.metadata` records the oracle and sampling seeds, the sizes, and `test_nll_oracle`: the
mean NLL_oracle of the test split, the real data's value that a generator is compared with:
5.806 at length 20 and 5.812 at length 40 for this oracle (RelGAN reports 5.750 and 4.071 for
its own draws).

Importing this module registers the builder with TFDS.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import os

import numpy as np
import tensorflow_datasets as tfds
import threadpoolctl

from tfgan_zoo.data.embedded import EmbeddedBuilder

NAME = "text_oracle"
ORACLE_SEED = 88
VOCABULARY_SIZE = 5000
EMBEDDING_DIM = 32
HIDDEN_DIM = 32
START_TOKEN = 0
TRAIN_SEED = 1  # the sampling seeds of the TFDS splits: distinct, so the splits are independent
TEST_SEED = 2

# Sequences per chunk: a chunk's logits (128 x 5,000 float32, 2.5 MB) stay in the core's cache.
# Chunks run on one thread per core with single-threaded BLAS: OpenBLAS's own threads make
# matrices this small ten times slower (measured here).
_ROWS = 128
# Tokens per block of the two-level inverse CDF (see `_inverse_cdf`).
_BLOCK = 250


class Oracle:
    """The oracle LSTM language model (see the module docstring).

    Parameters, float64 as drawn: embedding [V, E], kernel [E, 4H], recurrent_kernel [H, 4H],
    bias [4H], output_kernel [H, V], output_bias [V].
    """

    def __init__(self, seed: int = ORACLE_SEED, vocabulary_size: int = VOCABULARY_SIZE,
                 embedding_dim: int = EMBEDDING_DIM, hidden_dim: int = HIDDEN_DIM):
        rng = np.random.default_rng(seed)
        v, e, h = vocabulary_size, embedding_dim, hidden_dim
        self.vocabulary_size, self.hidden_dim = v, h
        self.embedding = rng.standard_normal((v, e))
        self.kernel = rng.standard_normal((e, 4 * h))
        self.recurrent_kernel = rng.standard_normal((h, 4 * h))
        self.bias = rng.standard_normal(4 * h)
        self.output_kernel = rng.standard_normal((h, v))
        self.output_bias = rng.standard_normal(v)
        # What a step uses, in float32: each token's input to the gates (embedding, kernel and
        # bias folded into one table), and the output projection padded to whole blocks with
        # tokens of probability 0 (bias -inf).
        self._gate_inputs = (self.embedding @ self.kernel + self.bias).astype(np.float32)
        self._recurrent = self.recurrent_kernel.astype(np.float32)
        padding = -v % _BLOCK
        self._output_kernel = np.pad(self.output_kernel, ((0, 0), (0, padding))).astype(
            np.float32)
        self._output_bias = np.pad(self.output_bias, (0, padding),
                                   constant_values=-np.inf).astype(np.float32)

    def sample(self, count: int, length: int, seed: int = 0) -> np.ndarray:
        """`count` sequences of `length` tokens drawn from the oracle: int32 [count, length].

        Each token is drawn from the softmax of its step's logits by inverse CDF, with one
        uniform number per token from `np.random.default_rng(seed)`: the same arguments give
        the same sequences.
        """
        if count < 1 or length < 1:
            raise ValueError(f"count and length must be at least 1, got {count} and {length}")
        uniforms = np.random.default_rng(seed).random((count, length))
        return _by_chunks(self._sample_rows, uniforms)

    def nll(self, tokens) -> np.ndarray:
        """The per-token mean negative log-likelihood (nats) of each sequence: float64 [N].

        tokens: int [N, T] in [0, vocabulary_size), scored from the start token and a zero
        state (token t is predicted from tokens 0..t-1).
        """
        tokens = np.asarray(tokens)
        if tokens.ndim != 2 or tokens.size == 0:
            raise ValueError(f"expected token ids of shape [N, T] with N, T >= 1, got "
                             f"{tokens.shape}")
        if not np.issubdtype(tokens.dtype, np.integer):
            raise ValueError(f"expected integer token ids, got {tokens.dtype}")
        if tokens.min() < 0 or tokens.max() >= self.vocabulary_size:
            raise ValueError(f"token ids must lie in [0, {self.vocabulary_size}), got "
                             f"{tokens.min()}..{tokens.max()}")
        return _by_chunks(self._nll_rows, tokens.astype(np.int64))

    def mean_nll(self, tokens) -> float:
        """Texygen's NLL_oracle: the mean over sequences of `nll(tokens)`."""
        return float(np.mean(self.nll(tokens)))

    def _start(self, count: int):
        """The first step's inputs: the start token and a zero state (h, c)."""
        zeros = np.zeros((count, self.hidden_dim), np.float32)
        return np.full(count, START_TOKEN), zeros, zeros

    def _step(self, previous, h, c):
        """One LSTM step: the previous tokens [n] and state -> logits [n, V'] float32, state."""
        z = self._gate_inputs[previous] + h @ self._recurrent
        gates = _sigmoid(z[:, :3 * self.hidden_dim])
        i, f, o = np.split(gates, 3, axis=1)
        c = f * c + i * np.tanh(z[:, 3 * self.hidden_dim:])
        h = o * np.tanh(c)
        logits = h @ self._output_kernel
        logits += self._output_bias
        return logits, h, c

    def _sample_rows(self, uniforms: np.ndarray) -> np.ndarray:
        count, length = uniforms.shape
        tokens = np.empty((count, length), np.int32)
        previous, h, c = self._start(count)
        for t in range(length):
            logits, h, c = self._step(previous, h, c)
            previous = tokens[:, t] = _inverse_cdf(_exp_shifted(logits), uniforms[:, t])
        return tokens

    def _nll_rows(self, tokens: np.ndarray) -> np.ndarray:
        count, length = tokens.shape
        rows = np.arange(count)
        total = np.zeros(count)
        previous, h, c = self._start(count)
        for t in range(length):
            logits, h, c = self._step(previous, h, c)
            chosen = logits[rows, tokens[:, t]]
            total += _log_sum_exp(logits) - chosen  # -log softmax(logits)[token]
            previous = tokens[:, t]
        return total / length


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # = 1 / (1 + exp(-x)), without overflow


def _exp_shifted(logits: np.ndarray) -> np.ndarray:
    """exp(logits - row max), in place: softmax weights that cannot overflow."""
    logits -= logits.max(axis=1, keepdims=True)
    return np.exp(logits, out=logits)


def _log_sum_exp(logits: np.ndarray) -> np.ndarray:
    """log(sum(exp(logits))) of each row, float64 [n]; `logits` is overwritten."""
    peak = logits.max(axis=1, keepdims=True)
    logits -= peak
    return peak[:, 0] + np.log(np.exp(logits, out=logits).sum(axis=1), dtype=np.float64)


def _inverse_cdf(weights: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """Per row, the token whose cumulative weight first exceeds uniform * total weight.

    weights: float32 [n, V'] >= 0 (V' a multiple of _BLOCK); uniforms: [n] in [0, 1).
    Two levels, a block of _BLOCK tokens and then a token within it, so that cumulative sums
    (which NumPy does not vectorise) cover [n, V'/_BLOCK] and [n, _BLOCK], not [n, V'].
    """
    rows = np.arange(len(weights))
    blocks = weights.reshape(len(weights), -1, _BLOCK)
    block_cdf = np.cumsum(blocks.sum(axis=2), axis=1, dtype=np.float64)
    target = uniforms * block_cdf[:, -1]
    block = _first_above(block_cdf, target)
    target = target - np.where(block > 0, block_cdf[rows, block - 1], 0.0)
    inner_cdf = np.cumsum(blocks[rows, block], axis=1, dtype=np.float64)
    return block * _BLOCK + _first_above(inner_cdf, target)


def _first_above(cdf: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per row, the first index whose cdf exceeds target; where rounding leaves none, the last
    index at which the cdf still grows (so an entry of weight 0 is never chosen)."""
    first = np.sum(cdf <= target[:, None], axis=1)
    last = np.argmax(cdf >= cdf[:, -1:], axis=1)
    return np.minimum(first, last)


def _by_chunks(function, rows: np.ndarray) -> np.ndarray:
    """`function` over chunks of _ROWS rows, one thread per core, results concatenated."""
    chunks = [rows[start:start + _ROWS] for start in range(0, len(rows), _ROWS)]
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 1) as pool:
            return np.concatenate(list(pool.map(function, chunks)))


# --- the TFDS builder ----------------------------------------------------------------------


@dataclasses.dataclass(eq=False)
class OracleConfig(tfds.core.BuilderConfig):
    """How many sequences of how many tokens a config samples for each split."""

    sequence_length: int = 20
    num_train: int = 10_000
    num_test: int = 10_000


_DESCRIPTION = """\
Sequences sampled from the synthetic oracle of SeqGAN, Texygen and RelGAN: a randomly
initialised LSTM language model (vocabulary 5,000, embedding 32, hidden 32, every parameter
drawn from N(0, 1) with NumPy's default_rng(88)), fed token 0 at the first step from a zero
state. Train and test are sampled with different seeds. A generator trained on the train split
is scored by the oracle's NLL of its samples (NLL_oracle); the test split's own NLL_oracle
(info.metadata["test_nll_oracle"]) is the real data's value.
"""

_CITATION = """\
@inproceedings{yu2017seqgan,
  title = {SeqGAN: Sequence Generative Adversarial Nets with Policy Gradient},
  author = {Yu, Lantao and Zhang, Weinan and Wang, Jun and Yu, Yong},
  booktitle = {AAAI},
  year = {2017},
}
@inproceedings{zhu2018texygen,
  title = {Texygen: A Benchmarking Platform for Text Generation Models},
  author = {Zhu, Yaoming and Lu, Sidi and Zheng, Lei and Guo, Jiaxian and Zhang, Weinan and
            Wang, Jun and Yu, Yong},
  booktitle = {SIGIR},
  year = {2018},
}
@inproceedings{nie2019relgan,
  title = {RelGAN: Relational Generative Adversarial Networks for Text Generation},
  author = {Nie, Weili and Narodytska, Nina and Patel, Ankit},
  booktitle = {International Conference on Learning Representations},
  year = {2019},
}
"""


class TextOracle(EmbeddedBuilder, tfds.core.GeneratorBasedBuilder):
    """Samples of the oracle LSTM, prepared offline."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release: oracle seed 88, sampling seeds 1 (train) and 2."}
    BUILDER_CONFIGS = [
        OracleConfig(name="length20", description="10,000 + 10,000 sequences of 20 tokens.",
                     sequence_length=20),
        OracleConfig(name="length40", description="10,000 + 10,000 sequences of 40 tokens.",
                     sequence_length=40),
        OracleConfig(name="tiny", description="500 + 500 sequences of 20 tokens, for tests.",
                     sequence_length=20, num_train=500, num_test=500),
    ]
    DEFAULT_CONFIG_NAME = "length20"

    def how_prepared(self) -> str:
        config = self.builder_config
        return (f"by sampling {config.num_train + config.num_test:,} sequences of "
                f"{config.sequence_length} tokens from the oracle LSTM (seed {ORACLE_SEED})")

    def _info(self) -> tfds.core.DatasetInfo:
        length = self.builder_config.sequence_length
        return tfds.core.DatasetInfo(
            builder=self,
            description=_DESCRIPTION,
            features=tfds.features.FeaturesDict(
                {"tokens": tfds.features.Tensor(shape=(length,), dtype=np.int32)}),
            homepage="https://github.com/geek-ai/Texygen",
            citation=_CITATION,
            metadata=tfds.core.MetadataDict(),
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # nothing is downloaded
        config = self.builder_config
        oracle = Oracle()
        train = oracle.sample(config.num_train, config.sequence_length, seed=TRAIN_SEED)
        test = oracle.sample(config.num_test, config.sequence_length, seed=TEST_SEED)
        self.info.metadata.update({
            "oracle_seed": ORACLE_SEED, "vocabulary_size": VOCABULARY_SIZE,
            "embedding_dim": EMBEDDING_DIM, "hidden_dim": HIDDEN_DIM,
            "start_token": START_TOKEN, "train_seed": TRAIN_SEED, "test_seed": TEST_SEED,
            "test_nll_oracle": oracle.mean_nll(test),
        })
        return {"train": self._generate_examples(train), "test": self._generate_examples(test)}

    def _generate_examples(self, sequences):
        for index, tokens in enumerate(sequences):
            yield index, {"tokens": tokens}
