"""The synthetic oracle LSTM, its TFDS builder (tiny config) and text.load on it."""
import math
import socket

import ml_collections
import numpy as np
import pytest
import tensorflow_datasets as tfds

from tfgan_zoo.data import oracle, text, tfds_source
from tfgan_zoo.errors import ZooError

PARAMETERS = ("embedding", "kernel", "recurrent_kernel", "bias", "output_kernel", "output_bias")


@pytest.fixture(scope="module")
def the_oracle():
    return oracle.Oracle()


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    """A data_dir where the tiny config was prepared, without network."""
    path = tmp_path_factory.mktemp("tfds")
    builder = tfds.builder(f"{oracle.NAME}/tiny", data_dir=str(path))
    assert not builder.is_prepared()
    builder.download_and_prepare()
    return path


def _stored(data_dir, split):
    """The tiny config's sequences of `split` as stored, sorted (TFDS writes them shuffled)."""
    builder = tfds.builder(f"{oracle.NAME}/tiny", data_dir=str(data_dir))
    rows = np.stack([e["tokens"] for e in tfds.as_numpy(builder.as_dataset(split=split))])
    return rows[np.lexsort(rows.T[::-1])]


def _sorted(rows):
    return rows[np.lexsort(rows.T[::-1])]


def test_parameters_are_drawn_from_the_seed(the_oracle):
    again, other = oracle.Oracle(), oracle.Oracle(seed=oracle.ORACLE_SEED + 1)
    shapes = {"embedding": (5000, 32), "kernel": (32, 128), "recurrent_kernel": (32, 128),
              "bias": (128,), "output_kernel": (32, 5000), "output_bias": (5000,)}
    for name in PARAMETERS:
        mine = getattr(the_oracle, name)
        assert mine.shape == shapes[name], name
        np.testing.assert_array_equal(mine, getattr(again, name))
        assert not np.array_equal(mine, getattr(other, name)), name
    # The first draw of default_rng(88) is the embedding's first entry: N(0, 1) as documented.
    assert the_oracle.embedding[0, 0] == np.random.default_rng(88).standard_normal()
    everything = np.concatenate([getattr(the_oracle, n).ravel() for n in PARAMETERS])
    assert abs(everything.mean()) < 0.01 and abs(everything.std() - 1.0) < 0.01


def test_samples_are_deterministic(the_oracle):
    tokens = the_oracle.sample(300, 20, seed=3)
    assert tokens.shape == (300, 20) and tokens.dtype == np.int32
    assert tokens.min() >= 0 and tokens.max() < 5000
    np.testing.assert_array_equal(tokens, oracle.Oracle().sample(300, 20, seed=3))
    assert (tokens != the_oracle.sample(300, 20, seed=4)).mean() > 0.9
    other = oracle.Oracle(seed=7).sample(300, 20, seed=3)
    assert (tokens != other).mean() > 0.9
    # Chunks are independent: the first rows of a larger draw are those of a smaller one.
    np.testing.assert_array_equal(the_oracle.sample(1000, 20, seed=3)[:128], tokens[:128])


def test_nll_of_own_samples_is_far_below_uniform(the_oracle):
    samples = the_oracle.sample(1000, 20, seed=5)
    own = the_oracle.nll(samples)
    assert own.shape == (1000,) and own.dtype == np.float64
    uniform = np.random.default_rng(0).integers(0, 5000, (1000, 20))
    assert own.mean() < math.log(5000) - 2.0  # 8.52 nats for a uniform guess
    assert own.mean() < the_oracle.mean_nll(uniform) - 4.0
    assert the_oracle.mean_nll(samples) == pytest.approx(own.mean())


def _reference_log_probs(o, tokens):
    """log softmax [len(tokens) + 1, V] of each step of one sequence: a plain float64
    transcription of the LSTM (gates input, forget, output, then the candidate)."""
    h, c, previous, out = np.zeros(32), np.zeros(32), oracle.START_TOKEN, []
    for token in [*tokens, None]:
        z = o.embedding[previous] @ o.kernel + h @ o.recurrent_kernel + o.bias
        i, f, g = (1 / (1 + np.exp(-z[k * 32:(k + 1) * 32])) for k in range(3))
        c = f * c + i * np.tanh(z[96:])
        h = g * np.tanh(c)
        logits = h @ o.output_kernel + o.output_bias
        out.append(logits - logits.max() - np.log(np.exp(logits - logits.max()).sum()))
        previous = token
    return np.array(out)


def test_nll_matches_a_float64_lstm(the_oracle):
    tokens = the_oracle.sample(3, 6, seed=9)
    expected = [-np.mean(_reference_log_probs(the_oracle, row)[np.arange(6), row])
                for row in tokens]
    np.testing.assert_allclose(the_oracle.nll(tokens), expected, atol=1e-5)


def test_sampling_follows_the_softmax(the_oracle):
    """The first token of every sequence comes from one distribution: the start state's."""
    probabilities = np.exp(_reference_log_probs(the_oracle, [])[0])
    first = the_oracle.sample(20_000, 1, seed=11)[:, 0]
    likely = np.argsort(probabilities)[::-1][:5]
    observed = np.bincount(first, minlength=5000)[likely] / len(first)
    np.testing.assert_allclose(observed, probabilities[likely], atol=0.01)
    assert probabilities[first].min() > 0


def test_bad_tokens_are_refused(the_oracle):
    with pytest.raises(ValueError, match=r"must lie in \[0, 5000\)"):
        the_oracle.nll(np.array([[0, 5000]]))
    with pytest.raises(ValueError, match=r"shape \[N, T\]"):
        the_oracle.nll(np.array([1, 2, 3]))
    with pytest.raises(ValueError, match="at least 1"):
        the_oracle.sample(0, 20)


def test_tiny_builder(tiny_dir, the_oracle):
    builder = tfds.builder(f"{oracle.NAME}/tiny", data_dir=str(tiny_dir))
    assert isinstance(builder, oracle.TextOracle) and builder.is_prepared()
    assert oracle.TextOracle.DEFAULT_CONFIG_NAME == "length20"
    assert builder.info.features["tokens"].shape == (20,)
    assert builder.info.features["tokens"].np_dtype == np.int32
    assert {s: builder.info.splits[s].num_examples for s in ("train", "test")} == {
        "train": 500, "test": 500}
    train, test = _stored(tiny_dir, "train"), _stored(tiny_dir, "test")
    # The splits are the oracle's samples with their own seeds.
    np.testing.assert_array_equal(train, _sorted(the_oracle.sample(500, 20, oracle.TRAIN_SEED)))
    np.testing.assert_array_equal(test, _sorted(the_oracle.sample(500, 20, oracle.TEST_SEED)))
    assert not {tuple(r) for r in train} & {tuple(r) for r in test}
    metadata = builder.info.metadata
    assert metadata["oracle_seed"] == oracle.ORACLE_SEED == 88
    assert metadata["test_nll_oracle"] == pytest.approx(the_oracle.mean_nll(test))


def _config(dataset, data_dir, **overrides):
    return ml_collections.ConfigDict({"dataset": dataset, "data_dir": str(data_dir),
                                      "shuffle_buffer": 100, **overrides})


def _forbidden(*args, **kwargs):
    raise AssertionError("the network was touched")


def test_text_load_on_the_oracle(tiny_dir, monkeypatch):
    monkeypatch.setattr(socket, "create_connection", _forbidden)
    monkeypatch.setattr(tfds_source, "_internet_reachable", _forbidden)
    config = _config(f"{oracle.NAME}/tiny", tiny_dir, max_length=20)
    ds, spec = text.load(config, batch_size=100, split="test", shuffle=False, repeat=False)
    batches = list(ds.as_numpy_iterator())
    assert len(batches) == 5
    assert batches[0]["tokens"].shape == (100, 20) and batches[0]["tokens"].dtype == np.int32
    assert batches[0]["label"].shape == (100,) and not batches[0]["label"].any()
    np.testing.assert_array_equal(_sorted(np.concatenate([b["tokens"] for b in batches])),
                                  _stored(tiny_dir, "test"))
    assert spec == text.describe(config, "test")
    assert (spec.name, spec.num_examples, spec.sequence_length, spec.tokenizer) == (
        "text_oracle/tiny", 500, 20, "word")
    assert len(spec.vocabulary) == 5000 and spec.vocabulary[:3] == ("0", "1", "2")
    assert text.decode(batches[0]["tokens"][0], spec) == " ".join(
        map(str, batches[0]["tokens"][0]))  # no <eos>: token 0 is an ordinary token
    with pytest.raises(ZooError, match="has sequences of 20 tokens but max_length is 40"):
        text.describe(_config(f"{oracle.NAME}/tiny", tiny_dir, max_length=40))


def test_max_length_picks_the_oracle_config(tmp_path, monkeypatch):
    with pytest.raises(ZooError) as error:
        text.describe(_config(oracle.NAME, tmp_path, max_length=30))
    assert str(error.value) == (
        "text_oracle has sequences of 20 or 40 tokens (configs length20, length40), not 30; "
        "set data.max_length to one of those")
    assert not (tmp_path / oracle.NAME).exists()  # nothing was prepared

    class Prepared(Exception):
        pass

    def prepare(builder):  # stands in for the seconds that sampling 20,000 sequences takes
        raise Prepared(builder.builder_config)

    monkeypatch.setattr(oracle.TextOracle, "download_and_prepare", prepare)
    for length in (20, 40):
        with pytest.raises(Prepared) as prepared:
            text.describe(_config(oracle.NAME, tmp_path, max_length=length))
        config = prepared.value.args[0]
        assert (config.name, config.sequence_length) == (f"length{length}", length)
        assert config.num_train == config.num_test == 10_000
