"""Text downstream of training: a tiny RelGAN run exported (a SavedModel that returns token ids
and the strings they decode to, TFLite float32 with Keras' token ids), sampled by `generate`
from the run, the export and the .tflite alike, served and decoded by both clients, and pruned
(`python -m tfgan_zoo.prune`'s fine-tuning, whose pruned run exports in turn).

One tiny run serves the whole file. It makes one critic update a step instead of the recipe's
five: tracing five would double its training time and test nothing more here.
"""
import os
import re

import numpy as np
import pytest
import serving_endpoints
import tensorflow as tf

from tfgan_zoo import config as config_lib
from tfgan_zoo.data import text as text_data
from tfgan_zoo.data.spec import DatasetSpec
from tfgan_zoo.deployment import exports, generation, saved_model, serving, tflite
from tfgan_zoo.engine import runs, training
from tfgan_zoo.errors import ZooError
from tfgan_zoo.kinds import text
from tfgan_zoo.pruning import finetune

LATENT = 20 * 5000  # the oracle's Gumbel uniforms: T x V a sequence


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    config = config_lib.load("relgan", "tiny")
    config.data.data_dir = str(tmp_path_factory.mktemp("tfds"))
    config.gan.d_steps = 1
    path = str(tmp_path_factory.mktemp("runs") / "relgan")
    training.train(config, path, log=lambda _: None)
    return path


@pytest.fixture(scope="module")
def run(text_run):
    """The run's latest checkpoint restored once, and its plain generator."""
    loaded = runs.load(text_run, "latest")
    return loaded, loaded.plain_sampler()


@pytest.fixture(scope="module")
def text_export(text_run, tmp_path_factory):
    """The run exported once, in every TFLite mode text offers."""
    return exports.export_run(text_run, export_dir=str(tmp_path_factory.mktemp("export")),
                              which="latest", log=lambda _: None)


@pytest.fixture(scope="module")
def signatures(text_export):
    return tf.saved_model.load(text_export["path"]).signatures


def keras_text(run, z):
    """Token ids [N, T] and lines of the run's own generator and decoder for latents z."""
    loaded, generator = run
    ids = np.argmax(generator(z, training=False).numpy(), axis=-1)
    return ids, [text_data.decode(row, loaded.spec) for row in ids]


def drawn_text(run, count, seed):
    """The same, for the latents that `seed` draws (as `sample` and `generate` draw them)."""
    return keras_text(run, run[0].gan.prior.stateless(count, seed))


def test_the_saved_model_returns_the_runs_token_ids_and_decoded_strings(run, text_export,
                                                                        signatures):
    meta = text_export
    assert (meta["kind"], meta["latent_dim"], meta["shape"]) == ("text", LATENT, [20, 5000])
    assert meta["saved_model"]["max_abs_error"] == 0.0  # token ids, all equal
    ids, lines = drawn_text(run, 4, 3)
    inputs = dict(count=tf.constant(4), seed=tf.constant(3, tf.int64))
    first, again = signatures["sample"](**inputs), signatures["sample"](**inputs)
    assert set(first) == {"tokens", "text"}  # no z: 100,000 values a sequence
    assert first["tokens"].dtype == tf.int32
    np.testing.assert_array_equal(first["tokens"].numpy(), ids)
    assert [line.decode() for line in first["text"].numpy()] == lines
    assert all(len(line.split()) == 20 for line in lines)  # oracle tokens: no <eos> to cut at
    np.testing.assert_array_equal(again["tokens"].numpy(), ids)
    assert list(again["text"].numpy()) == list(first["text"].numpy())
    z = run[0].gan.prior.stateless(4, 3)
    from_z = signatures["serving_default"](z=z)
    np.testing.assert_array_equal(from_z["tokens"].numpy(), ids)
    assert list(from_z["text"].numpy()) == list(first["text"].numpy())


def test_the_signatures_refuse_a_wrong_z_and_too_many_sequences(text_export, signatures):
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"z must be float32 \[batch, 100000\] \(latent_dim 100000\)"):
        signatures["serving_default"](z=tf.zeros([2, 5000]))
    limit = saved_model.max_count(LATENT)
    assert limit == saved_model.MAX_LATENT_VALUES // LATENT == 167
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=rf"count must be at most {limit} per call for this generator "
                             r"\(latents of 100,000 values; a call draws at most 16,777,216\)"):
        signatures["sample"](count=tf.constant(limit + 1), seed=tf.constant(0, tf.int64))
    with pytest.raises(ZooError, match=rf"--num=200 is more than one `sample` call of this "
                                       rf"export gives; ask for at most {limit}, or generate "
                                       r"from the run directory or a .tflite"):
        generation.generate(text_export["path"], 200)


@pytest.mark.parametrize("tokenizer", ["word", "char"])
def test_the_graphs_strings_equal_the_decoder_on_real_text(tokenizer):
    """Real text's vocabulary starts with <eos>: the strings end before the first one."""
    vocabulary = text_data.SPECIALS + (("the", "whale's", ",", "sea-captain") if tokenizer == "word"
                                       else ("a", " ", "é", "."))
    spec = DatasetSpec(name="moby_dick", split="train", resolution=0, channels=0, num_classes=0,
                       class_names=(), num_examples=1, vocabulary=vocabulary, sequence_length=7,
                       tokenizer=tokenizer)
    ids = np.random.default_rng(0).integers(0, len(vocabulary), (64, 7))
    ids[:3] = [[0] * 7, [2, 3, 0, 4, 0, 5, 2], [2, 3, 4, 5, 1, 3, 2]]  # all <eos>, cut, uncut
    served = text.KIND.signature_outputs(tf.one_hot(ids, len(vocabulary)), spec)
    np.testing.assert_array_equal(served["tokens"].numpy(), ids)
    assert [line.decode() for line in served["text"].numpy()] == [
        text_data.decode(row, spec) for row in ids]


def test_tflite_float32_gives_kerass_token_ids(run, text_export):
    checked = text_export["tflite"]
    assert list(checked) == ["float32"]  # text's only mode, see kinds/text.py
    assert checked["float32"]["token_agreement"] == 1.0
    assert checked["float32"]["xnnpack"] is False  # checked on the builtin kernels
    z = run[0].gan.prior.stateless(8, 11).numpy()
    got = tflite.run(os.path.join(text_export["path"], checked["float32"]["file"]), z,
                     xnnpack=False)
    assert got.shape == (8, 20, 5000)
    np.testing.assert_array_equal(np.argmax(got, axis=-1), keras_text(run, z)[0])


def test_quantize_modes_text_leaves_out_are_refused_before_anything_is_written(text_run,
                                                                                tmp_path):
    with pytest.raises(ZooError, match=r"--quantize=float16,int8 is not offered for text "
                                       r"generators \(float16: .*; int8: .*NEG.*\); they offer "
                                       r"none \(float32\)"):
        exports.export_run(text_run, export_dir=str(tmp_path), quantize=["float16", "int8"],
                           log=lambda _: None)
    assert os.listdir(tmp_path) == []


def test_generate_writes_the_same_lines_from_run_export_and_tflite(run, text_run, text_export,
                                                                   tmp_path):
    version = text_export["path"]
    sources = {"run": text_run, "export": version,
               "tflite": os.path.join(version, "tflite", "generator_float32.tflite")}
    lines = drawn_text(run, 5, 4)[1]
    for name, source in sources.items():
        samples = generation.generate(source, 5, seed=4, which="latest")
        assert samples.kind is text.KIND
        out = samples.kind.write_generated(str(tmp_path / f"{name}.txt"), samples.samples,
                                           samples.spec)
        assert open(out).read().splitlines() == lines, name
    assert text.KIND.default_output == "samples.txt"  # what the CLI writes without --out


def test_the_clients_decode_served_text_to_lines(run, text_export, tmp_path):
    base = os.path.dirname(os.path.dirname(text_export["path"]))
    ids, lines = drawn_text(run, 3, 5)
    z = run[0].gan.prior.stateless(1, 6).numpy()  # 100,000 numbers in REST's JSON
    z_ids, z_lines = keras_text(run, z)
    with serving_endpoints.serve(base) as served:
        for client in (serving.RestClient(served.rest_url, model=text_export["name"]),
                       serving.GrpcClient(served.grpc_target, model=text_export["name"])):
            with client:
                drawn, given = client.generate(count=3, seed=5), client.generate(z=z)
                with pytest.raises(ZooError, match=r"latent_dim 100000"):
                    client.generate(z=np.zeros((1, 7), np.float32))
            name = type(client).__name__
            assert drawn.kind is text.KIND and drawn.z is None, name
            np.testing.assert_array_equal(drawn.tokens, ids)
            # bytes from gRPC, str in REST's JSON: bytes from both clients
            assert [line.decode() for line in drawn.text] == lines, name
            paths = drawn.save(tmp_path / name)
            assert [os.path.basename(p) for p in paths] == [f"sample_{i}.txt" for i in range(3)]
            assert [open(p).read() for p in paths] == [f"{line}\n" for line in lines]
            np.testing.assert_array_equal(given.tokens, z_ids)
            assert [line.decode() for line in given.text] == z_lines, name


@pytest.fixture(scope="module")
def pruned(text_run, tmp_path_factory):
    path = str(tmp_path_factory.mktemp("pruned") / "relgan_pruned50")
    return finetune.prune_run(text_run, path, 0.5, steps=4, which="latest", num_samples=16,
                              log=lambda _: None)


def test_prune_fine_tunes_both_networks_and_reports_the_nlls(pruned):
    for when in ("before", "after"):
        assert {"nll_oracle", "nll_gen"} <= set(pruned[when]), when
    layers = pruned["pruning"]["layers"]
    assert sorted(layers) == ["lstm_gates", "vocab_logits"]  # G's gates and vocabulary Dense
    assert all(abs(layer["sparsity"] - 0.5) <= 0.01 for layer in layers.values())
    assert list(pruned["pruning"]["left_dense"]) == ["token_embedding"]
    # Four adversarial updates and no second pre-training (it would be checkpoint 8).
    assert pruned["after_checkpoint"].endswith("ckpt-4")
    reader = tf.train.load_checkpoint(pruned["after_checkpoint"])
    masks = [key for key in reader.get_variable_to_shape_map()
             if key.startswith("gan/discriminator/") and "/mask/" in key]
    assert len(masks) == 7  # D's embedding, both convolutions, highway x2, hidden, logit
    for key in masks:
        assert abs(np.mean(reader.get_tensor(key) == 0) - 0.5) <= 0.02, key
    summary = finetune.summary(pruned)
    for metric in ("nll_oracle", "nll_gen"):
        assert re.search(rf"{metric}\s+before\s+\d+\.\d{{3}}\s+after\s+\d+\.\d{{3}}", summary)


def test_a_pruned_text_run_exports(pruned, tmp_path):
    # The SavedModel only: the sparse float32 .tflite of a pruned run is the dense one's path
    # with EXPERIMENTAL_SPARSITY, which tests/test_export.py covers, and a converter process
    # costs this file seconds it does not have.
    meta = exports.export_run(os.path.dirname(pruned["path"]), export_dir=str(tmp_path),
                              formats=["saved_model"], which="latest", log=lambda _: None)
    assert meta["pruned"] and meta["saved_model"]["max_abs_error"] == 0.0
