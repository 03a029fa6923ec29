"""Text <-> token ids: the tokenisers, the vocabulary, encoding and decoding.

Pure Python and NumPy, shared by the text pipeline (`tfgan_zoo.data.text`, which re-exports
these names), the script that makes the embedded corpus, and the text kind, which decodes
generated ids. Real text's vocabulary starts with EOS (id 0: ends a line, and pads it to the
sequence length) and UNK (id 1: every token outside the vocabulary); the oracle's is its token
ids as strings, with neither.
"""
from __future__ import annotations

import collections
import re
from collections.abc import Iterable, Sequence

import numpy as np

from tfgan_zoo.data.spec import DatasetSpec

EOS = "<eos>"  # id 0 of real text: ends a line, and pads it to the sequence length
UNK = "<unk>"  # id 1 of real text: every token outside the vocabulary
SPECIALS = (EOS, UNK)
TOKENIZERS = ("word", "char")
LONG_LINES = ("drop", "truncate")  # what becomes of a line longer than the sequence length
DEFAULT_MAX_VOCABULARY = 5000

# A word keeps inner apostrophes and hyphens ("don't", "sea-captain"); a number keeps its
# decimal point and thousands separators ("3.5", "1,000"); every other non-space character is
# a token of its own.
_WORD_TOKENS = re.compile(r"\d+(?:[.,]\d+)+|[^\W_]+(?:['’-][^\W_]+)*|\S")


def tokenize(line: str, tokenizer: str = "word", lowercase: bool = True) -> list[str]:
    """The tokens of `line`.

    "word": words (with inner apostrophes and hyphens, "don't", "sea-captain"), numbers ("42",
    "3.5", "1,000") and each other non-space character (punctuation) as a token of its own;
    spaces separate tokens and are not kept. "char": every character, spaces included.
    """
    if lowercase:
        line = line.lower()
    if tokenizer == "word":
        return _WORD_TOKENS.findall(line)
    if tokenizer == "char":
        return list(line)
    raise ValueError(f"tokenizer must be one of {', '.join(TOKENIZERS)}, got {tokenizer!r}")


def detokenize(tokens: Iterable[str], tokenizer: str = "word") -> str:
    """Tokens back to a string: joined by single spaces ("word") or with nothing ("char")."""
    return (" " if tokenizer == "word" else "").join(tokens)


def build_vocabulary(examples: Iterable[Sequence[str]],
                     max_vocabulary: int | None = DEFAULT_MAX_VOCABULARY) -> tuple[str, ...]:
    """<eos>, <unk>, then the tokens of `examples` by descending count, ties alphabetical, cut
    to `max_vocabulary` entries in all (None: every token)."""
    counts = collections.Counter(token for tokens in examples for token in tokens)
    ranked = sorted(counts, key=lambda token: (-counts[token], token))
    if max_vocabulary is not None:
        ranked = ranked[:max_vocabulary - len(SPECIALS)]
    return SPECIALS + tuple(ranked)


def encode(lines: Iterable[str], vocabulary: Sequence[str], length: int,
           tokenizer: str = "word", lowercase: bool = True,
           long_lines: str = "drop") -> np.ndarray:
    """Lines of text -> token ids int32 [n, length], one row per line kept.

    A line of more than `length` tokens is dropped ("drop": n is then smaller than the number
    of lines) or cut to its first `length` tokens ("truncate"); a shorter one is padded with
    <eos>. Tokens outside `vocabulary` become <unk>. Raises ValueError where the vocabulary
    lacks the <eos> or <unk> a line needs.
    """
    if long_lines not in LONG_LINES:
        raise ValueError(f"long_lines must be one of {', '.join(LONG_LINES)}, got {long_lines!r}")
    examples = [fit(tokenize(line, tokenizer, lowercase), length, long_lines) for line in lines]
    return to_ids([tokens for tokens in examples if tokens is not None], vocabulary, length)


def decode(ids, vocabulary: DatasetSpec | Sequence[str], tokenizer: str | None = None) -> str:
    """Token ids [T] -> their text, joined as `detokenize` joins them.

    `vocabulary` is a DatasetSpec (its vocabulary and tokenizer are used) or the token strings
    in id order, with `tokenizer` then given. Where the vocabulary is real text's (<eos> is id
    0), the text ends before the first <eos>; the oracle's ids all decode.
    """
    if isinstance(vocabulary, DatasetSpec):
        vocabulary, tokenizer = vocabulary.vocabulary, vocabulary.tokenizer
    if tokenizer not in TOKENIZERS:
        raise ValueError(f"tokenizer must be one of {', '.join(TOKENIZERS)}, got {tokenizer!r}")
    ids = np.asarray(ids)
    if ids.ndim != 1:
        raise ValueError(f"decode takes one sequence of ids [T], got shape {ids.shape}")
    ids = ids.tolist()
    if len(vocabulary) and vocabulary[0] == EOS and 0 in ids:
        ids = ids[:ids.index(0)]
    return detokenize((vocabulary[i] for i in ids), tokenizer)


def fit(tokens: list[str], length: int, long_lines: str) -> list[str] | None:
    """`tokens` if they fit in `length`; else None ("drop") or their first `length`
    ("truncate")."""
    if len(tokens) <= length:
        return tokens
    return tokens[:length] if long_lines == "truncate" else None


def to_ids(examples: Sequence[Sequence[str]], vocabulary: Sequence[str],
           length: int) -> np.ndarray:
    """Token lists of at most `length` tokens -> int32 [n, length], padded with <eos>, tokens
    outside `vocabulary` as <unk>. Raises ValueError where <eos> or <unk> is needed and
    missing."""
    index = {token: i for i, token in enumerate(vocabulary)}
    unknown, pad = index.get(UNK), index.get(EOS)
    ids = np.full((len(examples), length), 0 if pad is None else pad, np.int32)
    for row, tokens in enumerate(examples):
        if len(tokens) < length and pad is None:
            raise ValueError(f"the vocabulary has no {EOS} to pad a line of {len(tokens)} "
                             f"tokens to {length}")
        try:
            ids[row, :len(tokens)] = [index[t] if unknown is None else index.get(t, unknown)
                                      for t in tokens]
        except KeyError as e:
            raise ValueError(f"token {e.args[0]!r} is not in the vocabulary, which has no "
                             f"{UNK}") from None
    return ids
