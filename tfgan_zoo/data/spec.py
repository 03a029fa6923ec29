"""What a data source hands the pipeline: a DatasetSpec of its samples and a way to read them."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable

import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """The samples a pipeline yields (images, audio clips), as the models need to know them.

    name: the `dataset` string of the config ("mnist", "folder:/data/faces", ...).
    split: the split read ("train", "test", ...).
    resolution: height and width after resizing; 0 from `describe`, where nothing is resized.
    channels: 1 (grayscale) or 3 (RGB), after any conversion the config asked for.
    num_classes: number of label classes; 0 for unlabeled data, whose labels are all 0.
    class_names: one name per class, in label order; empty for unlabeled data.
    num_examples: number of examples in the split.
    sample_rate: audio samples per second (0 for images); audio is resampled to it.
    vocabulary: text only, the token strings in id order (built from the training split);
      real text starts with "<eos>" (id 0, which also pads) and "<unk>" (id 1).
    sequence_length: text only, tokens per sample (shorter lines are padded with "<eos>").
    tokenizer: text only, "word" or "char": how tokens were split, and so how they join back.
    """

    name: str
    split: str
    resolution: int
    channels: int
    num_classes: int
    class_names: tuple[str, ...]
    num_examples: int
    sample_rate: int = 0  # a default, so dataset.json files written before it still load
    vocabulary: tuple[str, ...] = ()
    sequence_length: int = 0
    tokenizer: str = ""

    @classmethod
    def from_dict(cls, saved):
        """The spec a dataset.json (or an export's metadata) holds: JSON lists back to tuples.
        Raises TypeError or KeyError for a dict that is not one."""
        return cls(**{**saved, "class_names": tuple(saved["class_names"]),
                      "vocabulary": tuple(saved.get("vocabulary", ()))})


@dataclasses.dataclass(frozen=True)
class Source:
    """A data source opened and checked, before any pipeline is built.

    `read(shuffle_files)` returns an unbatched `tf.data.Dataset` of `(image, label)` pairs: image
    uint8 [H, W, c] (H and W may vary; c may differ from `spec.channels`, the pipeline converts),
    label int64 scalar.
    """

    spec: DatasetSpec
    read: Callable[[bool], tf.data.Dataset]
