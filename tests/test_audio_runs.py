"""An audio GAN through every verb: a tiny conditional WaveGAN trains, exports (SavedModel with
WAV files in its `wav_bytes` output, TFLite checked by SNR), generates WAV files from the run,
the export and a .tflite alike, and is served and decoded by the clients."""
import io
import os
import shutil
import wave

import numpy as np
import pytest
import serving_endpoints
import tensorflow as tf

from tfgan_zoo import config as config_lib
from tfgan_zoo import files
from tfgan_zoo.deployment import exports, generation, serving, tflite
from tfgan_zoo.engine import runs, training
from tfgan_zoo.engine.workdir import Workdir
from tfgan_zoo.errors import ZooError
from tfgan_zoo.evaluation import report
from tfgan_zoo.kinds import audio
from tfgan_zoo.metrics import audio_extractors


def decode_wav(blob):
    with wave.open(io.BytesIO(blob)) as f:
        frames = f.readframes(f.getnframes())
        return np.frombuffer(frames, np.int16), f.getframerate()


@pytest.fixture(scope="module")
def audio_run(tmp_path_factory, digits_data_dir):
    config = config_lib.load("wavegan_cond", "tiny")
    config.data.data_dir = digits_data_dir
    workdir = str(tmp_path_factory.mktemp("runs") / "wavegan_cond")
    training.train(config, workdir, log=lambda _: None)
    return workdir


@pytest.fixture(scope="module")
def audio_export(audio_run, tmp_path_factory):
    # No int8: this untrained d=4 generator is near-silent, which 8-bit activations cannot
    # carry (SNR about 3 dB); a trained generator's clips span the range (see the kind).
    export_dir = str(tmp_path_factory.mktemp("export"))
    meta = exports.export_run(audio_run, export_dir=export_dir, which="latest",
                              quantize=("none", "float16", "dynamic"), log=lambda _: None)
    return meta


def test_a_run_writes_wav_files_and_spectrograms(audio_run):
    samples = os.path.join(audio_run, "samples")
    clips = sorted(os.listdir(os.path.join(samples, "step_0000004")))
    assert clips == [f"clip_{i}.wav" for i in range(10)]  # one per digit
    pcm, rate = decode_wav(open(os.path.join(samples, "latest", "clip_7.wav"), "rb").read())
    assert rate == 4_000 and len(pcm) == 4096
    assert os.path.exists(os.path.join(samples, "latest.png"))


def test_the_export_describes_audio_and_its_wav_bytes_decode_to_its_pcm(audio_export):
    meta = audio_export
    assert meta["kind"] == "audio" and meta["shape"] == [4096, 1]
    assert meta["dataset"]["sample_rate"] == 4_000 and meta["num_classes"] == 10
    assert {m: round(t["snr_db"]) >= t["tolerance"]["min_snr_db"]
            for m, t in meta["tflite"].items()} == dict.fromkeys(
        ("float32", "float16", "dynamic"), True)
    sample = tf.saved_model.load(meta["path"]).signatures["sample"]
    out = sample(count=tf.constant(3), seed=tf.constant(1, tf.int64), label=tf.constant(7))
    assert out["audio"].shape == (3, 4096) and list(out["label"].numpy()) == [7, 7, 7]
    assert list(out["sample_rate"].numpy()) == [4_000] * 3
    for blob, pcm, clip in zip(out["wav_bytes"].numpy(), out["pcm"].numpy(),
                               out["audio"].numpy(), strict=True):
        decoded, rate = decode_wav(blob)
        assert rate == 4_000
        np.testing.assert_array_equal(decoded, pcm)
        np.testing.assert_allclose(pcm / 32768, np.clip(clip, -1, 1), atol=1e-4)


def test_generate_writes_the_same_wavs_from_run_export_and_tflite(audio_run, audio_export,
                                                                  tmp_path):
    version = audio_export["path"]
    sources = {"run": audio_run, "export": version,
               "tflite": os.path.join(version, "tflite", "generator_float32.tflite")}
    clips = {}
    for name, source in sources.items():
        samples = generation.generate(source, 4, seed=3, which="latest")
        out = samples.kind.write_generated(str(tmp_path / name), samples.samples, samples.spec)
        assert sorted(os.listdir(out)) == [f"sample_{i}.wav" for i in range(4)] + [
            "spectrograms.png"]
        clips[name] = np.stack([decode_wav(open(os.path.join(out, f"sample_{i}.wav"),
                                                "rb").read())[0] for i in range(4)])
    np.testing.assert_allclose(clips["export"], clips["run"], atol=1)
    np.testing.assert_allclose(clips["tflite"], clips["run"], atol=1)


def test_the_clients_decode_served_audio_to_wav_files(audio_export, tmp_path):
    base = os.path.dirname(os.path.dirname(audio_export["path"]))
    with serving_endpoints.serve(base) as served:
        for client in (serving.RestClient(served.rest_url, model="wavegan_cond"),
                       serving.GrpcClient(served.grpc_target, model="wavegan_cond")):
            with client:
                samples = client.generate(count=2, seed=5, label=3)
            assert samples.kind is audio.KIND and samples.audio.shape == (2, 4096)
            paths = samples.save(tmp_path / type(client).__name__)
            for path, pcm in zip(paths, samples.pcm, strict=True):
                decoded, rate = decode_wav(open(path, "rb").read())
                assert rate == 4_000 and path.endswith(".wav")
                np.testing.assert_array_equal(decoded, pcm)


def test_a_tflite_file_of_another_generator_fails_the_snr_check(audio_export, audio_run):
    run = runs.load(audio_run, "untrained")  # the same architecture, other weights
    tflite_file = os.path.join(audio_export["path"], "tflite", "generator_float32.tflite")
    z, labels = exports.check_inputs(run.gan.prior, run.gan.num_classes)
    with pytest.raises(ZooError, match=r"\(generator_float32.tflite\) does not match the Keras "
                                       r"generator: signal-to-noise ratio -?\d+\.\d dB; float32 "
                                       r"needs at least 100 dB; nothing was exported. Leave "
                                       r"float32 out of --quantize"):
        tflite.check(tflite_file, run.plain_sampler(), "float32", kind=audio.KIND, z=z,
                     labels=labels)


def test_an_audio_run_evaluates_with_the_spoken_digit_classifier(audio_run, digits_data_dir,
                                                                 tmp_path, monkeypatch):
    # Two members, not the zoo's five: the ensemble's path at two fifths of the training
    # (tests/metrics/test_audio_extractors.py checks how members combine).
    monkeypatch.setattr(audio_extractors, "MEMBERS", 2)
    with pytest.raises(ZooError, match="spoken_digits_espeak/small has only 10 examples"):
        report.evaluate_run(audio_run, "latest", data_dir=digits_data_dir, log=lambda _: None)
    # A copy of the run scored against the medium corpus: 160 test clips, enough for FID.
    run = str(shutil.copytree(audio_run, tmp_path / "run"))
    config = runs.saved_config(Workdir(run))
    config.data.dataset = "spoken_digits_espeak/medium"
    files.write_text(os.path.join(run, "config.json"), config_lib.to_json(config))
    result = report.evaluate_run(run, "latest", num_samples=200, data_dir=digits_data_dir,
                                 log=lambda _: None)
    assert result["unit"] == "clips" and result["extractor"].endswith("(2 members)")
    assert 0.0 <= result["results"]["class_accuracy"] <= 1.0  # a conditional model's
    assert "class_accuracy" not in result["floor"]  # real clips are asked for nothing
    assert result["floor"]["fid"] < result["results"]["fid"]  # an untrained d=4 generator
    with pytest.raises(ZooError, match="--extractor=inception is for images"):
        report.evaluate_run(audio_run, "latest", extractor="inception", log=lambda _: None)


@pytest.mark.parametrize("twin", [False, True])
def test_a_wavegan_with_a_class_head_steps_with_its_class_losses(digits_data_dir, twin):
    # conditioning=acgan with label_projection: D projects the label and classifies; its class
    # head learns real clips alone (config.gan.aux_fake=False, the family's default). With
    # twin_classifier, TAC-GAN's twin head learns the generated clips as a third output.
    config = config_lib.load("wavegan_cond", "tiny")
    config.data.data_dir = digits_data_dir
    config.model.conditioning, config.model.label_projection = "acgan", True
    config.model.twin_classifier = twin
    config.gan.g_aux_weight = 3.0  # the config's knob reaches the GAN (None: aux_weight)
    dataset, spec = audio.AudioKind().load(config, config.train.batch_size * config.gan.d_steps)
    gan = training.build_gan(config, spec)
    assert gan.conditioning == "acgan" and not gan.aux_fake and gan.twin == twin
    assert (gan.aux_weight, gan.g_aux_weight) == (1.0, 3.0)
    assert [t.name.split(":")[0] for t in gan.discriminator.inputs] == ["audio", "label"]
    assert len(gan.discriminator.outputs) == (3 if twin else 2)
    logs = gan.train_step(next(iter(dataset)))
    assert {"d_aux", "g_aux", "aux_accuracy"} <= set(logs)
    assert ("d_twin" in logs) == twin
    assert all(np.isfinite(float(v)) for v in logs.values())


def test_a_wavegan_steps_with_the_mode_seeking_term_its_config_asks_for(digits_data_dir):
    config = config_lib.load("wavegan_cond", "tiny")
    config.data.data_dir = digits_data_dir
    config.gan.mode_seeking, config.gan.mode_seeking_pairs = 1.0, "batch_halves"
    dataset, spec = audio.AudioKind().load(config, config.train.batch_size * config.gan.d_steps)
    gan = training.build_gan(config, spec)
    assert gan.mode_seeking == 1.0 and gan.mode_seeking_pairs == "batch_halves"
    logs = gan.train_step(next(iter(dataset)))
    # Latent distance over clip distance: finite and positive for a generator that uses z.
    assert 0 < float(logs["mode_seeking"]) < 1e3


def test_the_tiny_preset_trains_on_the_words_not_the_silence_around_them(digits_data_dir):
    config = config_lib.load("wavegan", "tiny")
    config.data.data_dir = digits_data_dir
    dataset, spec = audio.AudioKind().load(config, 16, shuffle=False, repeat=False)
    clips = next(iter(dataset))["audio"].numpy()
    assert spec.sample_rate == 4_000 and clips.shape == (16, 4096, 1)
    assert (np.abs(clips).max(axis=(1, 2)) > 0.3).all()  # peak-normalised words in every clip
