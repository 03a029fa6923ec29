"""The text data layer: tokeniser, vocabulary, encoding, text files, moby_dick, TFDS text."""
import ml_collections
import numpy as np
import pytest
import tensorflow_datasets as tfds

from tfgan_zoo.data import text
from tfgan_zoo.errors import ZooError

SENTENCES = [
    "Call me Ishmael.",
    "Some years ago—never mind how long precisely—I thought I would sail.",
    "It's a way I have of driving off the spleen!",
    "Whenever I find myself growing grim about the mouth, I account it high time.",
    "The sea-captain paid 1,000 dollars and 3.5 cents, didn't he?",
]


def _config(dataset, **overrides):
    return ml_collections.ConfigDict({"dataset": dataset, "shuffle_buffer": 100, **overrides})


def _write(path, lines):
    path.write_text("".join(f"{line}\n" for line in lines), "utf-8")
    return path


def _all(config, split="train"):
    """(token ids [N, T] in file order, spec) of one unshuffled pass."""
    ds, spec = text.load(config, batch_size=1000, split=split, shuffle=False, repeat=False,
                         drop_remainder=False)
    return np.concatenate([b["tokens"] for b in ds.as_numpy_iterator()]), spec


# --- tokens ----------------------------------------------------------------------------------


def test_word_tokens():
    assert text.tokenize("The sea-captain paid 1,000 dollars and 3.5 cents, didn't he?") == [
        "the", "sea-captain", "paid", "1,000", "dollars", "and", "3.5", "cents", ",", "didn't",
        "he", "?"]
    assert text.tokenize("Ago—never 'tis (so)...", lowercase=False) == [
        "Ago", "—", "never", "'", "tis", "(", "so", ")", ".", ".", "."]
    assert text.tokenize("  spaces\tand tabs  ") == ["spaces", "and", "tabs"]
    assert text.tokenize("Año 1851: café") == ["año", "1851", ":", "café"]


def test_char_tokens():
    assert text.tokenize("Hi, you", "char") == ["h", "i", ",", " ", "y", "o", "u"]
    assert text.tokenize("Hi", "char", lowercase=False) == ["H", "i"]
    with pytest.raises(ValueError, match="tokenizer must be one of word, char"):
        text.tokenize("x", "bpe")


@pytest.mark.parametrize("tokenizer", text.TOKENIZERS)
def test_round_trip(tokenizer):
    tokens = [text.tokenize(line, tokenizer) for line in SENTENCES]
    vocabulary = text.build_vocabulary(tokens, None)
    length = max(map(len, tokens))
    ids = text.encode(SENTENCES, vocabulary, length, tokenizer)
    assert ids.shape == (len(SENTENCES), length) and ids.dtype == np.int32
    for line, row in zip(SENTENCES, ids, strict=True):
        assert text.decode(row, vocabulary, tokenizer) == text.detokenize(
            text.tokenize(line, tokenizer), tokenizer)
    assert text.decode(ids[0], vocabulary, "word" if tokenizer == "word" else "char") == (
        "call me ishmael ." if tokenizer == "word" else "call me ishmael.")


def test_vocabulary_order_and_cut():
    examples = [["b", "a", "c", "a"], ["b", "d", "e", "e"], ["c"]]
    assert text.build_vocabulary(examples, 5) == ("<eos>", "<unk>", "a", "b", "c")
    assert text.build_vocabulary(examples, None) == (
        "<eos>", "<unk>", "a", "b", "c", "e", "d")  # counts 2, 2, 2, 2 (alphabetical), then 1


def test_encode_truncates_drops_pads_and_decodes_to_the_first_eos():
    vocabulary = ("<eos>", "<unk>", "the", "whale", ".")
    lines = ["The whale.", "The white whale swims.", "whale"]
    dropped = text.encode(lines, vocabulary, 4, long_lines="drop")
    np.testing.assert_array_equal(dropped, [[2, 3, 4, 0], [3, 0, 0, 0]])
    cut = text.encode(lines, vocabulary, 4, long_lines="truncate")
    np.testing.assert_array_equal(cut, [[2, 3, 4, 0], [2, 1, 3, 1], [3, 0, 0, 0]])
    assert text.decode(cut[1], vocabulary, "word") == "the <unk> whale <unk>"
    assert text.decode(np.array([3, 4, 0, 2, 3]), vocabulary, "word") == "whale ."
    assert text.decode([0, 2], vocabulary, "word") == ""
    assert text.decode([2, 3], ("0", "1", "2", "3"), "word") == "2 3"  # no <eos>: no cut
    with pytest.raises(ValueError, match="one sequence of ids"):
        text.decode(cut, vocabulary, "word")


# --- text files ------------------------------------------------------------------------------


def test_textfile_split_rule_and_vocabulary_from_train(tmp_path):
    lines = [f"line {i} says hello" for i in range(25)]
    lines[9] = "line 9 only in test"  # 9, 19, 'only' and 'test' are in no training line
    with_blanks = lines[:3] + ["", "   "] + lines[3:]
    path = _write(tmp_path / "lines.txt", with_blanks)
    config = _config(f"textfile:{path}", max_length=6)
    train, spec = _all(config)
    test, test_spec = _all(config, "test")
    assert [text.decode(row, spec) for row in test] == ["line <unk> <unk> <unk> <unk>",
                                                        "line <unk> says hello"]
    expected = [line for i, line in enumerate(lines) if i % 10 != 9]
    assert [text.decode(row, spec) for row in train] == expected
    assert (spec.num_examples, test_spec.num_examples) == (23, 2)
    assert spec.vocabulary[:5] == ("<eos>", "<unk>", "hello", "line", "says")
    assert "only" not in spec.vocabulary and test_spec.vocabulary == spec.vocabulary
    assert (spec.name, spec.sequence_length, spec.tokenizer, spec.channels) == (
        f"textfile:{path}", 6, "word", 0)
    assert spec == text.describe(config) and test_spec == text.describe(config, "test")
    with pytest.raises(ZooError, match=r"unknown split 'validation' .* valid splits: train, "
                                       r"test \(every 10th non-blank line is test\)"):
        text.describe(config, "validation")


def test_long_lines_dropped_or_cut(tmp_path):
    lines = [" ".join(["w"] * n) for n in (2, 3, 4, 5, 6, 2, 3, 4, 5, 6)]
    path = _write(tmp_path / "lines.txt", lines)
    dropped, spec = _all(_config(f"textfile:{path}", max_length=4))
    assert spec.num_examples == 6 and len(dropped) == 6  # train holds 9 lines, 3 too long
    np.testing.assert_array_equal(dropped[0], [2, 2, 0, 0])  # padded with <eos>
    cut, spec = _all(_config(f"textfile:{path}", max_length=4, long_lines="truncate"))
    assert spec.num_examples == 9
    np.testing.assert_array_equal(cut[4], [2, 2, 2, 2])
    with pytest.raises(ZooError, match=r"every example of split 'train' .* longer than "
                                       "max_length 1 tokens.*'truncate'"):
        text.describe(_config(f"textfile:{path}", max_length=1))


def test_char_tokenizer_through_load(tmp_path):
    lines = [f"Line  {i}!" for i in range(10)]
    path = _write(tmp_path / "lines.txt", lines)
    tokens, spec = _all(_config(f"textfile:{path}", tokenizer="char", max_length=12))
    assert spec.tokenizer == "char" and tokens.shape == (9, 12)
    assert text.decode(tokens[3], spec) == "line 3!"  # whitespace runs become one space
    assert spec.vocabulary[:4] == ("<eos>", "<unk>", " ", "!")


@pytest.mark.parametrize("content, problem", [
    (b"", "is empty (it has no non-blank line); put one example on each line"),
    (b"  \n\t\n\n", "is empty (it has no non-blank line); put one example on each line"),
    (b"just one line\n", "has 1 non-blank line, but a text dataset needs at least 10 (every "
                         "10th line is the test split); add lines, one example each"),
    (b"fine\nbinary \x00 here\n", "is binary, not text (a NUL byte at byte 12, line 2); give a "
                                  "UTF-8 text file, one example a line"),
    (b"ok\nok\nlatin-1 caf\xe9\n", "is not UTF-8 text (an invalid byte at byte 17, line 3); "
                                   "convert it, e.g. `iconv -f latin1 -t utf-8`"),
])
def test_bad_files(tmp_path, content, problem):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(ZooError) as error:
        text.describe(_config(f"textfile:{path}"))
    assert str(error.value) == f"{path} {problem}"


def test_missing_file_and_directory(tmp_path):
    missing = tmp_path / "nope.txt"
    with pytest.raises(ZooError) as error:
        text.describe(_config(f"textfile:{missing}"))
    assert str(error.value) == (f"no such text file: {missing}; check the path after "
                                "textfile: (a UTF-8 file with one example a line)")
    with pytest.raises(ZooError, match=f"^{tmp_path} is a directory; give textfile: the path"):
        text.load(_config(f"textfile:{tmp_path}"))


def test_bad_options(tmp_path):
    path = _write(tmp_path / "lines.txt", SENTENCES * 2)
    for field, value, message in (
        ("tokenizer", "bpe", "tokenizer must be one of word, char, got 'bpe'"),
        ("long_lines", "wrap", "long_lines must be one of drop, truncate, got 'wrap'"),
        ("max_vocabulary", 2, "max_vocabulary must be more than 2"),
        ("max_length", 0, "max_length must be a positive number of tokens, got 0"),
        ("lowercase", "yes", "lowercase must be True or False"),
    ):
        with pytest.raises(ZooError, match=message):
            text.describe(_config(f"textfile:{path}", **{field: value}))
    with pytest.raises(ZooError, match="batch_size must be at least 1"):
        text.load(_config(f"textfile:{path}"), batch_size=0)
    with pytest.raises(ZooError, match="batch_size 16 is larger than the 9 examples"):
        text.load(_config(f"textfile:{path}", max_length=30), batch_size=16, repeat=False)


def test_a_file_is_read_once_until_it_changes(tmp_path, monkeypatch):
    path = _write(tmp_path / "lines.txt", SENTENCES * 2)
    reads = []
    original = text._read_text
    monkeypatch.setattr(text, "_read_text", lambda p: reads.append(p) or original(p))
    config = _config(f"textfile:{path}", max_length=30)
    text.describe(config)
    text.load(config)
    text.describe(config, "test")
    assert len(reads) == 2  # once for each split
    _write(path, SENTENCES * 3)
    assert text.describe(config).num_examples == 14 and len(reads) == 3


def test_resumed_pipeline_continues_the_order(tmp_path):
    path = _write(tmp_path / "lines.txt", [f"line number {i}" for i in range(40)])
    config = _config(f"textfile:{path}", max_length=3)

    def batches(skip, count):
        ds, spec = text.load(config, batch_size=8, seed=5, skip=skip)
        assert spec.num_examples == 36
        return [b["tokens"] for b in ds.take(count).as_numpy_iterator()]

    whole = batches(0, 12)  # 96 examples: more than two epochs of 36
    for k in (3, 5):
        resumed = batches(k * 8, 12 - k)
        for i, batch in enumerate(resumed):
            np.testing.assert_array_equal(batch, whole[k + i])
    epoch = np.concatenate(whole)[:36]
    assert sorted(map(tuple, epoch)) == sorted(map(tuple, _all(config)[0]))  # each line once
    assert not np.array_equal(epoch, _all(config)[0])  # shuffled


# --- moby_dick -------------------------------------------------------------------------------


def test_moby_dick():
    config = _config(text.MOBY_DICK, max_length=26)
    train, spec = _all(config)
    test, test_spec = _all(config, "test")
    lines = text.CORPUS_PATH.read_text("utf-8").splitlines()
    assert len(lines) > 4000 and text.CORPUS_PATH.stat().st_size < 600_000
    assert spec.num_examples + test_spec.num_examples == len(lines)  # 25 tokens at most
    assert test_spec.num_examples == len(lines) // 10
    assert spec.vocabulary[:2] == ("<eos>", "<unk>") and len(spec.vocabulary) == 5000
    assert {".", ",", "the", "whale", "ahab"} <= set(spec.vocabulary[:300])
    assert text.decode(train[0], spec) == "call me ishmael ."
    assert text.decode(test[0], spec) == text.detokenize(text.tokenize(lines[9]))
    assert spec == text.describe(config)
    assert text.describe(_config(text.MOBY_DICK)).sequence_length == 20


def test_moby_dick_missing_from_an_install(tmp_path, monkeypatch):
    monkeypatch.setattr(text, "CORPUS_PATH", tmp_path / "moby_dick.txt")
    with pytest.raises(ZooError, match="the embedded corpus .* is missing from this install"):
        text.describe(_config(text.MOBY_DICK))


# --- TFDS text -------------------------------------------------------------------------------


class TextTestReviews(tfds.core.GeneratorBasedBuilder):
    """A TFDS text dataset like imdb_reviews: a "text" feature and a label."""

    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict({
            "text": tfds.features.Text(),
            "label": tfds.features.ClassLabel(names=["neg", "pos"]),
        }))

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples(["A fine whale.", "A fine\n\nship!", " "]),
                "test": self._generate_examples(["A rare whale!"])}

    def _generate_examples(self, texts):
        for i, review in enumerate(texts):
            yield i, {"text": review, "label": i % 2}


def test_a_tfds_text_dataset(tmp_path):
    tfds.builder("text_test_reviews", data_dir=str(tmp_path)).download_and_prepare()
    config = _config("text_test_reviews", data_dir=str(tmp_path), max_length=5)
    train, spec = _all(config)
    test, _ = _all(config, "test")
    assert spec.num_examples == 2  # the blank review is skipped
    assert spec.vocabulary == ("<eos>", "<unk>", "a", "fine", "!", ".", "ship", "whale")
    assert sorted(text.decode(row, spec) for row in train) == ["a fine ship !", "a fine whale ."]
    assert text.decode(test[0], spec) == "a <unk> whale !"


def test_unknown_and_non_text_datasets(tmp_path):
    with pytest.raises(ZooError) as error:
        text.describe(_config("no_such_text_xyz", data_dir=str(tmp_path)))
    assert str(error.value) == (
        "unknown dataset 'no_such_text_xyz'; use text_oracle (the synthetic oracle, offline), "
        "moby_dick (embedded English), textfile:/path/to/lines.txt, or a TFDS dataset with a "
        "'text' feature such as imdb_reviews or lm1b")
    import tfgan_zoo.data  # noqa: F401  (registers sklearn_digits)

    with pytest.raises(ZooError, match=r"'sklearn_digits' has no 'text' feature \(it has: "
                                       r"image, label\); use text_oracle"):
        text.describe(_config("sklearn_digits", data_dir=str(tmp_path)))
