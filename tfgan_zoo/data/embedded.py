"""What the zoo's own TFDS builders (sklearn_digits, mnist_5k, spoken_digits_espeak) share: they
make their data on this machine, from a copy shipped in a wheel or with a synthesiser, never from
the network. TFDS's console lines are written for datasets that are downloaded ("Downloading and
preparing dataset Unknown size ..."), which on a machine without internet reads like a fault;
these builders say what they do instead.
"""
import numpy as np
import tensorflow_datasets as tfds


class EmbeddedBuilder:
    """A mixin, listed before tfds.core.GeneratorBasedBuilder. A subclass says how it makes its
    data in `how_prepared()`, which completes "Preparing NAME ..."."""

    def how_prepared(self) -> str:
        """How the data are made, e.g. "from the copy shipped with scikit-learn"."""
        raise NotImplementedError

    def is_prepared(self) -> bool:
        """TFDS's answer, without its warning "Variant folder ... has no dataset_info.json":
        before the first preparation a missing folder is the normal state, not news."""
        info = self.data_path / tfds.core.constants.DATASET_INFO_FILENAME
        return info.exists() and super().is_prepared()

    # TFDS calls these two just before and just after preparing (DatasetBuilder hooks).
    def _log_download_bytes(self) -> None:
        print(f"Preparing {self.display_name} {self.how_prepared()} (nothing is downloaded) "
              f"into {self.data_dir}", flush=True)

    def _log_download_done(self) -> None:
        print(f"Prepared {self.display_name} in {self.data_dir}; later runs reuse it.",
              flush=True)

    @property
    def display_name(self) -> str:
        """The name a user passes: `name` or `name/config`."""
        config = self.builder_config
        return f"{self.name}/{config.name}" if config else self.name


def stratified_split(labels, test_fraction, seed):
    """(train, test) row indices of `labels`, stratified by label: the fixed split of an
    embedded labeled dataset (each passes its own constants, so that one's change cannot move
    another's split)."""
    from sklearn.model_selection import train_test_split

    return train_test_split(np.arange(len(labels)), test_size=test_fraction, stratify=labels,
                            random_state=seed)


def labeled_images(images, labels, indices):
    """TFDS examples (key = row index, {"image", "label"}) of the rows `indices`."""
    for index in indices:
        yield int(index), {"image": images[index], "label": int(labels[index])}
