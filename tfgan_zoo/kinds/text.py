"""Text: the kind of sample of the RelGAN-style text GAN.

Samples are soft one-hot tokens float32 [N, T, V] (the generator's Gumbel-softmax output);
their argmax is the token ids, which decode to strings through the run's vocabulary
(`spec.vocabulary`, `spec.tokenizer`), cut at the first "<eos>" of real text. A run writes the
strings as text files (`samples/step_NNNNNNN.txt` and `samples/latest.txt`, one per line) and
`summary.text`; it is scored on the synthetic oracle by NLL_oracle and NLL_gen, on real text by
BLEU-2..5 against the held-out lines and self-BLEU (`tfgan_zoo.metrics.text_scores`); a
SavedModel returns token ids int32 [N, T] and the decoded strings [N], the vocabulary inside
the graph (its `sample` returns no latents: they are T x V values a sequence); a TFLite
generator's token ids must equal Keras' (float32 only, on the builtin kernels: see
TFLITE_EXCLUDED); `generate` and the serving client write lines of text.
"""
import os

import numpy as np
import tensorflow as tf

from tfgan_zoo import files
from tfgan_zoo.data import oracle as oracle_data
from tfgan_zoo.data import text as text_data
from tfgan_zoo.errors import ZooError
from tfgan_zoo.kinds import HIGHER, LOWER, Kind
from tfgan_zoo.metrics import text_scores

BLEU_ORDERS = (2, 3, 4, 5)

# TFLite: token ids must agree exactly, since one flipped argmax changes every later token it
# feeds. Measured (TF 2.21, ai-edge-litert 2.3, batch 1, December 2026): the share of sequences
# whose 20 tokens all equal Keras' on the same noise, on TFLite's builtin kernels / with the
# default XNNPACK delegate:
#             tiny run (4 + 4     random init,     MLE-trained 600        every weight N(0, 1),
#             steps; 256 seqs)    oracle size:     updates, oracle size   as the oracle's
#                                 V 5000 (256)     (1,024 seqs)           (1,024; 512 builtin)
#   float32   100% / 100%         100% / 100%      100% / 99.5%           100% / 99.6%
#   float16   100% / 100%         100% / 100%      98.5% / 98.0%          - / 97.4%
#   dynamic   100% / 100%         100% / 100%      63.2% / 62.8%          - / 33.7%
#   int8      not converted: the Gumbel noise's NEG (-log(-log u)) has no int8 kernel
# (The tiny and MLE-trained generators trained on text_oracle/tiny, the latter to an MLE loss
# of 2.8; the random ones are relgan's default model config.)
# Near-zero logits leave every argmax far from a tie, so the untrained generators agree; with a
# trained generator's spread, rounded weights (float16, int8) flip near-ties and the LSTM
# carries the flip on; XNNPACK's float32 kernels round differently from TensorFlow's, the
# builtin kernels do not. So text exports float32 only, checked and run on the builtin kernels
# (`tflite_xnnpack`); on a phone, run it without the XNNPACK delegate for Keras' tokens.
# Sizes at oracle size: float32 1.4 MB, float16 0.7 MB, dynamic 0.5 MB.
TFLITE_EXCLUDED = {
    "float16": "float16 weights changed 1.5% of the sequences of an MLE-trained generator, and "
               "text needs every token id equal to Keras'",
    "dynamic": "int8 weights changed 37% of the sequences of an MLE-trained generator",
    "int8": "the Gumbel noise's NEG has no int8 kernel, so the converter leaves it in float",
}


def token_ids(samples):
    """Soft one-hots [N, T, V] -> token ids int32 [N, T]; token ids pass through."""
    samples = np.asarray(samples)
    if samples.ndim == 3:
        return np.argmax(samples, axis=-1).astype(np.int32)
    return samples.astype(np.int32)


def decode_all(samples, spec):
    """The strings of samples (soft one-hots or token ids) under the run's vocabulary."""
    return [text_data.decode(ids, spec) for ids in token_ids(samples)]


def is_oracle(spec):
    """Whether `spec` is the synthetic-oracle benchmark's data."""
    return spec.name.split("/")[0] == oracle_data.NAME


class TextKind(Kind):
    name = "text"
    feature = text_data.FEATURE
    unit = "sequences"
    rate_label = "seq_s"
    metrics = {"nll_oracle": LOWER, "nll_gen": LOWER,
               **{f"bleu{n}": HIGHER for n in BLEU_ORDERS},
               **{f"self_bleu{n}": LOWER for n in BLEU_ORDERS}}
    primary = "nll_oracle"
    serving_outputs = ("tokens", "text")
    float_output = "tokens"
    tflite_modes = ("float32",)  # see the measurements above TFLITE_EXCLUDED
    # Read by the deployment code where a kind sets them (default: z served, no reasons,
    # XNNPACK allowed):
    serves_latents = False  # `sample` returns no z (T x V values a sequence, seed says them)
    tflite_excluded = TFLITE_EXCLUDED  # why `export --quantize` refuses a mode
    tflite_xnnpack = False  # the TFLite check and `generate` use the builtin kernels
    tflite_output = "tokens"
    default_output = "samples.txt"
    extractor_names = ()

    def primary_metric(self, config):
        """NLL_oracle (lower is better) on the oracle benchmark, BLEU-4 (higher) on real text."""
        return "nll_oracle" if is_oracle(self.describe(config)) else "bleu4"

    def diversity(self, samples):
        """How much sequences from different noise differ: per position, the share of the
        samples that bring a token no earlier sample had there ((distinct - 1) / (n - 1)),
        averaged; 0 when all are the same, 1 when no two share a token anywhere."""
        ids = token_ids(samples)
        if len(ids) < 2:
            return 0.0
        distinct = [len(np.unique(column)) for column in ids.T]
        return float(np.mean([(d - 1) / (len(ids) - 1) for d in distinct]))

    # Data: the oracle benchmark, the embedded corpus, text files, TFDS text datasets.
    def load(self, config, batch_size, split="train", **options):
        return text_data.load(config.data, batch_size=batch_size, split=split, **options)

    def describe(self, config, split="train"):
        return text_data.describe(config.data, split)

    def model_spec(self, spec, config):
        return spec

    def describe_spec(self, spec):
        return (f"{spec.num_examples} sequences of {spec.sequence_length} {spec.tokenizer} "
                f"tokens, vocabulary {len(spec.vocabulary)}")

    def make_extractor(self, config, name="classifier", weights=None, log=print):
        raise ZooError("text is not scored with a feature extractor: evaluation uses NLL_oracle "
                       "on the oracle benchmark and BLEU on real text")

    def make_scorer(self, config, split="test", num_samples=0, log=print):
        """The text scorer of `config`'s data against its `split` (see metrics.text_scores)."""
        spec = self.describe(config, "train")

        def all_tokens(which):
            ds, _ = self.load(config, 500, split=which, shuffle=False, repeat=False,
                              drop_remainder=False)
            return np.concatenate([batch[self.feature].numpy() for batch in ds])

        oracle = oracle_data.Oracle() if is_oracle(spec) else None
        return text_scores.TextScorer(
            all_tokens(split), all_tokens("train"), split=split, oracle=oracle,
            decode=lambda ids: text_data.decode(ids, spec), num_samples=num_samples)

    # A run's samples.
    def sample_file(self, samples_dir, step):
        return os.path.join(samples_dir, f"step_{step:07d}.txt")

    def latest_sample(self, samples_dir):
        return os.path.join(samples_dir, "latest.txt")

    def write_samples(self, samples_dir, step, samples, rows, writer, spec):
        """The decoded lines for the step and as latest; summary.text in TensorBoard."""
        lines = decode_all(samples, spec)
        content = "".join(f"{line}\n" for line in lines)
        for path in (self.sample_file(samples_dir, step), self.latest_sample(samples_dir)):
            files.write_text(path, content)
        with writer.as_default(step=step):
            # Markdown: a numbered list, each line as code so that tokens show as they are.
            tf.summary.text("samples", "\n".join(f"{i + 1}. `{line}`"
                                                 for i, line in enumerate(lines)))

    # Deployment.
    def served_float(self, samples):
        """The generator's soft one-hots -> the token ids the SavedModel returns."""
        if tf.is_tensor(samples):
            return tf.argmax(samples, axis=-1, output_type=tf.int32)
        return token_ids(samples)

    def signature_outputs(self, samples, spec):
        """Soft one-hots [N, T, V] -> tokens int32 [N, T] and text string [N]: the tokens
        looked up in the vocabulary (a constant of the graph), cut at the first <eos> of real
        text, joined by spaces (word tokens) or nothing (characters)."""
        tokens = self.served_float(samples)
        words = tf.gather(tf.constant(list(spec.vocabulary)), tokens)
        if spec.vocabulary[:1] == (text_data.EOS,):
            # Positions at or after the first <eos> become empty strings.
            ended = tf.cumsum(tf.cast(tf.equal(tokens, 0), tf.int32), axis=1) > 0
            words = tf.where(ended, tf.constant(""), words)
        separator = " " if spec.tokenizer == "word" else ""
        text = tf.strings.reduce_join(words, axis=1, separator=separator)
        if separator:
            # The empty strings after <eos> left trailing separators.
            text = tf.strings.regex_replace(text, " +$", "")
        return {"tokens": tokens, "text": text}

    def compare_tflite(self, got, expected, mode):
        """The LiteRT generator's token ids must equal Keras' on every position."""
        got_ids, expected_ids = token_ids(got), token_ids(expected)
        agree = float(np.mean(got_ids == expected_ids))
        sequences = float(np.mean(np.all(got_ids == expected_ids, axis=1)))
        measured = {"mode": mode, "token_agreement": agree, "sequence_agreement": sequences,
                    "tolerance": {"min_token_agreement": 1.0},
                    "summary": f"{agree:.2%} of tokens, {sequences:.2%} of sequences equal "
                               "Keras' (builtin kernels)"}
        return agree == 1.0, measured, (f"{1 - agree:.2%} of its tokens differ from Keras' on "
                                        "the same noise")

    def write_generated(self, path, samples, spec, rows=None, scale=4):
        """`generate`'s output: one line of text per sample."""
        files.write_text(path, "".join(f"{line}\n" for line in decode_all(samples, spec)))
        return path

    def encode_files(self, outputs):
        return [(_as_str(line) + "\n").encode("utf-8") for line in outputs["text"]]

    def save_files(self, outputs, directory, prefix="sample"):
        return files.write_numbered(directory, self.encode_files(outputs), prefix, "txt")


def _as_str(line):
    """A served string (bytes from TensorFlow or gRPC, str from REST's JSON) as str."""
    return line.decode("utf-8") if isinstance(line, bytes | np.bytes_) else str(line)


KIND = TextKind()
