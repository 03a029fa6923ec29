"""Text from a data config to the batches a text GAN trains on.

`ds, spec = text.load(config.data, batch_size)`; `text.describe(config.data)`.

`config.data` fields read here (optional ones with their defaults):
  dataset: one of
    `text_oracle`: samples of the synthetic oracle LSTM (`tfgan_zoo.data.oracle`), prepared
      offline on first use; max_length picks its config (20: length20, 40: length40), or name
      the config: "text_oracle/tiny". Its vocabulary is the token ids "0".."4999", without
      special tokens, and every sequence has exactly its config's length; the fields below
      other than max_length do not apply to it.
    `moby_dick`: the embedded English corpus, Moby-Dick, one sentence a line (see
      `tfgan_zoo/data/corpora/README.md`); read exactly as a text file.
    "textfile:/path/to/lines.txt": a UTF-8 text file, one example a line. Blank lines are
      skipped; of the others, every 10th (index 9, 19, ... counting from 0) is the "test"
      split and the rest "train", so a file needs at least 10 non-blank lines.
    any other name: a TFDS dataset with a "text" feature (imdb_reviews, lm1b, ...), one
      example each.
  builder_config: the TFDS builder config, as for audio (None: the dataset's default, or the
    one max_length picks for text_oracle). Also accepted in `dataset` ("text_oracle/tiny").
  max_length (20): T, the tokens of a sample. A shorter example is padded with "<eos>".
  tokenizer ("word"): "word" (words, numbers and each punctuation mark; see `tokenize`) or
    "char" (every character, spaces included).
  lowercase (True): lowercase the text before tokenising.
  max_vocabulary (5000): tokens kept in the vocabulary, counting "<eos>" and "<unk>"; the
    most frequent of the training split, ties in alphabetical order; every other token reads
    as "<unk>". None keeps every token.
  long_lines ("drop"): an example of more than max_length tokens is dropped ("drop") or cut
    to its first max_length tokens ("truncate").
  data_dir, download, cache, shuffle_buffer: as for images (see `tfgan_zoo.data`).

Real text (all but the oracle): ids 0 "<eos>" (which also pads) and 1 "<unk>", then the
vocabulary of the training split, counted over its examples as the model sees them (after
long lines are dropped or cut). Whitespace runs inside an example become one space. A source's
examples are read, tokenised and encoded once per process and options, and kept in memory as
int32 [N, T]; `describe` and `load` share that work.

Text <-> ids (`tokenize`, `detokenize`, `build_vocabulary`, `encode`, `decode`, EOS, UNK) is
`tfgan_zoo.data.tokens`, re-exported here.

Pipeline: examples int32 [T] -> [cache] -> [shuffle] -> [repeat] -> batch -> {"tokens",
"label"} -> prefetch, through `pipeline.batched` with a `pipeline.Order`, so that a resumed run
sees the order the uninterrupted run would have seen.
"""
from __future__ import annotations

import dataclasses
import functools
import os
import pathlib
from collections.abc import Callable

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds
from absl import logging

from tfgan_zoo.data import oracle, pipeline, tfds_source
from tfgan_zoo.data.spec import DatasetSpec
from tfgan_zoo.data.tokens import (  # noqa: F401  (re-exported: text.decode, text.EOS, ...)
    DEFAULT_MAX_VOCABULARY,
    EOS,
    LONG_LINES,
    SPECIALS,
    TOKENIZERS,
    UNK,
    build_vocabulary,
    decode,
    detokenize,
    encode,
    fit,
    to_ids,
    tokenize,
)
from tfgan_zoo.errors import ZooError

FEATURE = "tokens"  # the key of the token ids in a batch
TEXT_FEATURE = "text"  # the key of the text in a TFDS dataset
PREFIX = "textfile:"
MOBY_DICK = "moby_dick"
CORPUS_PATH = pathlib.Path(__file__).parent / "corpora" / "moby_dick.txt"
SPLITS = ("train", "test")
TEST_EVERY = 10  # every 10th non-blank line of a text file is in the test split
DEFAULT_MAX_LENGTH = 20
ORACLE_LENGTHS = {20: "length20", 40: "length40"}  # max_length -> text_oracle config
_CHOICES = (
    f"use {oracle.NAME} (the synthetic oracle, offline), {MOBY_DICK} (embedded English), "
    f"{PREFIX}/path/to/lines.txt, or a TFDS dataset with a '{TEXT_FEATURE}' feature such as "
    "imdb_reviews or lm1b"
)



@dataclasses.dataclass(frozen=True)
class _Options:
    """How real text becomes token ids (the config fields of the same names)."""

    max_length: int
    tokenizer: str
    lowercase: bool
    max_vocabulary: int | None
    long_lines: str


@dataclasses.dataclass(frozen=True)
class _Texts:
    """A source opened and checked: its spec, and `read(shuffle_files)`, an unbatched dataset
    of token ids int32 [spec.sequence_length]."""

    spec: DatasetSpec
    read: Callable[[bool], tf.data.Dataset]


def load(
    data_config,
    batch_size: int = 64,
    split: str = "train",
    shuffle: bool = True,
    repeat: bool = True,
    drop_remainder: bool = True,
    seed: int = 0,
    skip: int = 0,
) -> tuple[tf.data.Dataset, DatasetSpec]:
    """Builds the batched text pipeline described by `data_config` (see the module docstring).

    Returns `(ds, spec)`. `ds` yields {"tokens": int32 [batch_size, T] token ids, "label":
    int32 [batch_size], all 0}; a last partial batch is dropped unless `drop_remainder` is
    False. With `repeat` it never ends, each epoch in an order fixed by `seed` and its number,
    from example `skip` on (see `pipeline.batched`); without it, `shuffle` gives each pass a
    new order. Raises ZooError for bad arguments or a dataset that cannot be read.
    """
    if not pipeline.is_count(batch_size):
        raise ZooError(f"batch_size must be at least 1, got {batch_size}; pass a positive one")
    shuffle_buffer = pipeline.checked_shuffle_buffer(data_config, shuffle)
    texts = _open(data_config, split)
    spec = texts.spec
    pipeline.check_full_batch(spec, batch_size, split, repeat, drop_remainder)
    ds = texts.read(shuffle and not repeat)
    if data_config.get("cache", False):
        ds = ds.cache()
    return pipeline.batched(ds, batch_size, shuffle and shuffle_buffer, repeat, drop_remainder,
                            _to_model_input, pipeline.Order(seed, skip, spec.num_examples)), spec


def describe(data_config, split: str = "train") -> DatasetSpec:
    """The DatasetSpec of `split`, checked as `load` checks it: resolution 0, channels 0 (text
    has none), no classes, the vocabulary, sequence_length T and the tokenizer.

    Like `load`, it prepares text_oracle, or downloads a TFDS dataset where the config allows,
    if it is not on disk yet; for real text it reads and encodes the split (once per process).
    """
    return _open(data_config, split).spec


# --- sources ---------------------------------------------------------------------------------


def _open(data_config, split: str) -> _Texts:
    dataset = data_config.dataset
    if dataset.startswith(PREFIX) or dataset == MOBY_DICK:
        path = dataset[len(PREFIX):] if dataset.startswith(PREFIX) else os.fspath(CORPUS_PATH)
        if split not in SPLITS:
            raise ZooError(
                f"unknown split '{split}' for {dataset}; valid splits: {', '.join(SPLITS)} "
                f"(every {TEST_EVERY}th non-blank line is test)"
            )
        if dataset == MOBY_DICK and not CORPUS_PATH.is_file():
            raise ZooError(f"the embedded corpus {CORPUS_PATH} is missing from this install of "
                           "tfgan_zoo; reinstall it (setup.py's package_data ships corpora/)")
        return _open_lines(dataset, _LineFile.of(path), split, _options(data_config))
    name = tfds_source.name_with_config(dataset, data_config.get("builder_config"))
    data_dir = data_config.get("data_dir")
    if name.partition(":")[0].partition("/")[0] == oracle.NAME:
        return _open_oracle(name, split, data_config.get("max_length"), data_dir)
    builder = tfds_source._builder(name, data_dir, choices=_CHOICES)
    if not isinstance(tfds_source._feature(builder.info.features, TEXT_FEATURE),
                      tfds.features.Text):
        features = builder.info.features
        have = (", ".join(sorted(features.keys())) if tfds_source._is_dict(features)
                else type(features).__name__)
        raise ZooError(f"dataset '{name}' has no '{TEXT_FEATURE}' feature (it has: {have}); "
                       f"{_CHOICES}")
    tfds_source._prepare(builder, name, data_config.get("download", False))
    for needed in ("train", split):
        if needed not in builder.info.splits:
            raise ZooError(
                f"dataset '{name}' has no split '{needed}' (it has: "
                f"{', '.join(sorted(builder.info.splits))}); "
                + ("the vocabulary is built from 'train': choose a dataset that has one"
                   if needed == "train" else "choose one of those")
            )
    return _open_lines(name, _TfdsText(name, data_dir), split, _options(data_config))


def _options(data_config) -> _Options:
    """The encoding options of real text, checked."""
    max_length = data_config.get("max_length", DEFAULT_MAX_LENGTH)
    if not pipeline.is_count(max_length):
        raise ZooError(f"max_length must be a positive number of tokens, got {max_length!r}; "
                       f"set data.max_length, e.g. to {DEFAULT_MAX_LENGTH}")
    tokenizer = data_config.get("tokenizer", "word")
    if tokenizer not in TOKENIZERS:
        raise ZooError(f"tokenizer must be one of {', '.join(TOKENIZERS)}, got {tokenizer!r}; "
                       "fix data.tokenizer")
    lowercase = data_config.get("lowercase", True)
    if not isinstance(lowercase, bool):
        raise ZooError(f"lowercase must be True or False, got {lowercase!r}; fix the config")
    max_vocabulary = data_config.get("max_vocabulary", DEFAULT_MAX_VOCABULARY)
    if max_vocabulary is not None and not (pipeline.is_count(max_vocabulary)
                                           and max_vocabulary > len(SPECIALS)):
        raise ZooError(f"max_vocabulary must be more than {len(SPECIALS)} (it counts {EOS} and "
                       f"{UNK}) or None, got {max_vocabulary!r}; set it to e.g. 5000")
    long_lines = data_config.get("long_lines", "drop")
    if long_lines not in LONG_LINES:
        raise ZooError(f"long_lines must be one of {', '.join(LONG_LINES)}, got "
                       f"{long_lines!r}; fix data.long_lines")
    return _Options(int(max_length), tokenizer, lowercase, max_vocabulary, long_lines)


# --- the oracle ------------------------------------------------------------------------------


def _open_oracle(name: str, split: str, max_length, data_dir: str | None) -> _Texts:
    """text_oracle: its config from the name, or else from max_length."""
    if "/" not in name.partition(":")[0]:
        if max_length is None:
            max_length = DEFAULT_MAX_LENGTH
        if max_length not in ORACLE_LENGTHS:
            raise ZooError(
                f"{oracle.NAME} has sequences of {' or '.join(map(str, ORACLE_LENGTHS))} tokens "
                f"(configs {', '.join(ORACLE_LENGTHS.values())}), not {max_length!r}; set "
                f"data.max_length to one of those"
            )
        base, colon, version = name.partition(":")
        name = f"{base}/{ORACLE_LENGTHS[max_length]}{colon}{version}"
    builder = tfds_source._builder(name, data_dir, choices=_CHOICES)
    length = builder.builder_config.sequence_length
    if max_length is not None and max_length != length:
        raise ZooError(f"dataset '{name}' has sequences of {length} tokens but max_length is "
                       f"{max_length!r}; set data.max_length to {length} or remove it")
    if not builder.is_prepared():  # offline, in seconds: no download, whatever the config
        logging.info("Preparing %s in %s (once)", name, os.fspath(builder.data_dir_root))
        builder.download_and_prepare()
    if split not in builder.info.splits:
        raise ZooError(f"unknown split '{split}' for dataset '{name}'; valid splits: "
                       f"{', '.join(sorted(builder.info.splits))}")
    spec = _spec(name, split, builder.info.splits[split].num_examples,
                 tuple(str(i) for i in range(oracle.VOCABULARY_SIZE)), length, "word")

    def read(shuffle_files: bool) -> tf.data.Dataset:
        ds = builder.as_dataset(split=split, shuffle_files=shuffle_files)
        return ds.map(lambda example: example[FEATURE], num_parallel_calls=tf.data.AUTOTUNE)

    return _Texts(spec=spec, read=read)


# --- real text: files, the embedded corpus, TFDS ---------------------------------------------


@dataclasses.dataclass(frozen=True)
class _LineFile:
    """A text file, one example a line. The modification time and size are part of its
    identity, so that an edited file is read again rather than taken from the cache."""

    path: str
    mtime_ns: int
    size: int

    @classmethod
    def of(cls, path: str) -> _LineFile:
        """The file at `path`, checked to exist and to be a file."""
        path = os.path.abspath(os.path.expanduser(path))
        if os.path.isdir(path):
            raise ZooError(f"{path} is a directory; give {PREFIX} the path of a text file with "
                           "one example a line")
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            raise ZooError(f"no such text file: {path}; check the path after {PREFIX} (a UTF-8 "
                           "file with one example a line)") from None
        except OSError as e:
            raise ZooError(f"cannot read {path} ({e.strerror}); check its permissions") from None
        return cls(path, stat.st_mtime_ns, stat.st_size)

    def examples(self, split: str) -> list[str]:
        """The non-blank lines of `split` (see the module docstring), whitespace normalised."""
        lines = [_normalized(line) for line in _read_text(self.path).splitlines()]
        lines = [line for line in lines if line]
        if not lines:
            raise ZooError(f"{self.path} is empty (it has no non-blank line); put one example "
                           "on each line")
        if len(lines) < TEST_EVERY:
            raise ZooError(
                f"{self.path} has {len(lines)} non-blank line{'s' * (len(lines) != 1)}, but a "
                f"text dataset needs at least {TEST_EVERY} (every {TEST_EVERY}th line is the "
                "test split); add lines, one example each"
            )
        test = split == "test"
        return [line for i, line in enumerate(lines) if (i % TEST_EVERY == TEST_EVERY - 1) == test]


def _read_text(path: str) -> str:
    """The UTF-8 text of `path` (a byte-order mark dropped); ZooError for binary data."""
    try:
        data = pathlib.Path(path).read_bytes()
    except OSError as e:
        raise ZooError(f"cannot read {path} ({e.strerror}); check its permissions") from None
    nul = data.find(b"\0")
    if nul >= 0:
        raise ZooError(f"{path} is binary, not text (a NUL byte at byte {nul}, line "
                       f"{_line_of(data, nul)}); give a UTF-8 text file, one example a line")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ZooError(
            f"{path} is not UTF-8 text (an invalid byte at byte {e.start}, line "
            f"{_line_of(data, e.start)}); convert it, e.g. `iconv -f latin1 -t utf-8`"
        ) from None


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _normalized(line: str) -> str:
    return " ".join(line.split())


@dataclasses.dataclass(frozen=True)
class _TfdsText:
    """The "text" feature of a prepared TFDS dataset, one example each."""

    name: str
    data_dir: str | None

    def examples(self, split: str) -> list[str]:
        builder = tfds.builder(self.name, data_dir=self.data_dir)
        ds = builder.as_dataset(split=split, shuffle_files=False)
        ds = ds.map(lambda example: example[TEXT_FEATURE])
        lines = (_normalized(text.decode("utf-8", "replace")) for text in tfds.as_numpy(ds))
        return [line for line in lines if line]


def _open_lines(name: str, source, split: str, options: _Options) -> _Texts:
    """Real text: `source.examples(split)` encoded with the training split's vocabulary."""
    ids = _encoded(source, split, options)
    if not len(ids):
        raise ZooError(
            f"every example of split '{split}' of {name} is longer than max_length "
            f"{options.max_length} tokens, and long_lines is 'drop'; raise data.max_length or "
            "set data.long_lines to 'truncate'"
        )
    spec = _spec(name, split, len(ids), _vocabulary(source, options), options.max_length,
                 options.tokenizer)
    return _Texts(spec=spec, read=lambda shuffle_files: tf.data.Dataset.from_tensor_slices(ids))


@functools.lru_cache(maxsize=8)
def _tokenized(source, split: str, options: _Options) -> tuple[tuple[str, ...], ...]:
    """The examples of `split` as the model sees them: tokenised, long ones dropped or cut."""
    examples = (fit(tokenize(line, options.tokenizer, options.lowercase), options.max_length,
                     options.long_lines) for line in source.examples(split))
    return tuple(tuple(tokens) for tokens in examples if tokens is not None)


@functools.lru_cache(maxsize=8)
def _vocabulary(source, options: _Options) -> tuple[str, ...]:
    return build_vocabulary(_tokenized(source, "train", options), options.max_vocabulary)


@functools.lru_cache(maxsize=8)
def _encoded(source, split: str, options: _Options) -> np.ndarray:
    ids = to_ids(_tokenized(source, split, options), _vocabulary(source, options),
               options.max_length)
    ids.flags.writeable = False  # shared by every caller through the cache
    return ids


# --- shared ----------------------------------------------------------------------------------



def _spec(name, split, num_examples, vocabulary, sequence_length, tokenizer) -> DatasetSpec:
    return DatasetSpec(
        name=name,
        split=split,
        resolution=0,
        channels=0,
        num_classes=0,
        class_names=(),
        num_examples=num_examples,
        vocabulary=tuple(vocabulary),
        sequence_length=sequence_length,
        tokenizer=tokenizer,
    )


def _to_model_input(tokens: tf.Tensor) -> dict[str, tf.Tensor]:
    return {FEATURE: tokens, "label": tf.zeros(tf.shape(tokens)[:1], tf.int32)}
