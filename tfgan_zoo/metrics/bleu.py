"""BLEU-n and self-BLEU-n of generated text, computed the way Texygen computes them, but fast.

What is computed:

- ``bleu(hypotheses, references, n)``: the mean over hypotheses of sentence-level BLEU-n, each
  hypothesis scored against the *whole* reference set (every held-out line is a reference for
  every generated line), with uniform weights 1/n over the 1..n-gram precisions and Chen and
  Cherry's smoothing method 1 (a precision with no matches counts 0.1 matches instead of 0).
  This is Texygen's BLEU (Zhu et al. 2018, "Texygen: A Benchmarking Platform for Text
  Generation Models"): ``sum(sentence_bleu(references, h, (1/n,) * n,
  smoothing_function=SmoothingFunction().method1) for h in hypotheses) / len(hypotheses)``.
  RelGAN (Nie et al. 2019) scores the first 200 generated sentences against the whole test set;
  Texygen's default "fast" mode instead keeps only the first 500 test lines as references, so
  pass the references you mean to compare with: figures are only comparable at equal counts.
- ``self_bleu(sentences, n)``: the same score with each generated sentence as the hypothesis and
  all the *other* generated sentences as references (leave-one-out), averaged. It measures
  diversity: 1 means every sentence is reproduced by the others, lower is more diverse. Texygen
  uses 500 generated sentences.

The results equal NLTK 3.10.4's ``nltk.translate.bleu_score.sentence_bleu`` to 1e-12 (the tests
check it; in practice they agree to the last bit). The version matters, as the same call has
given different figures across NLTK releases: Texygen pinned nltk 3.2.3, whose BLEU still backed
off to lower orders where NLTK 3.4 on scores ~0 without smoothing (nltk#1844, #2245); a zero
precision whose ``Fraction`` is normalised (0/d to 0/1) is smoothed to 0.1 instead of 0.1/d,
which is why NLTK keeps its fractions unnormalised (nltk#1319); and Python 3.12 dropped the
private ``Fraction(_normalize=False)``, which broke sentence_bleu in NLTK 3.8.1 until NLTK
wrapped Fraction (nltk#3207). The details reproduced here:

- p_k, the modified k-gram precision, is sum over the hypothesis' distinct k-grams of
  min(count in hypothesis, max count in any one reference), over max(1, number of k-grams in the
  hypothesis): a hypothesis shorter than k has p_k = 0/1, smoothed to 0.1.
- No unigram matches (this includes the empty hypothesis) gives a score of exactly 0, before any
  smoothing. Otherwise a p_k with no matches becomes 0.1 / denominator (method 1).
- BLEU-n = BP * exp(fsum((1/n) * log(p_k) for k in 1..n)), with BP = 1 if the hypothesis is
  longer than r, else exp(1 - r / length), where r is the reference length closest to the
  hypothesis length, the shorter one on a tie.

Speed: NLTK recounts every reference's n-grams for every hypothesis. ``References`` counts them
once (each n-gram's maximum count over the references, and the sorted reference lengths), so
scoring a hypothesis costs O(its length): 1,000 hypotheses of 20 tokens against 10,000
references take under a second (mostly counting the references) where NLTK's loop takes 7-10
minutes per order. Self-BLEU keeps each n-gram's two largest counts over the sentences and the
multiset of lengths, so leaving one sentence out is also O(its length).

Pure Python: NLTK is not needed at run time (only the tests import it).
"""
from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Iterable, Sequence

# Chen and Cherry's method 1, as NLTK's SmoothingFunction() defaults it: 0.1 "matches" for an
# order with none.
EPSILON = 0.1
DEFAULT_ORDERS = (2, 3, 4, 5)

Sentence = Sequence[str]


def _tokens(sentence, what: str) -> tuple:
    if isinstance(sentence, str):
        # NLTK would silently score the characters of a string.
        raise TypeError(f"{what} must be a list of tokens, not a string: split it first "
                        f"(got {sentence[:40]!r})")
    return tuple(sentence)


def _sentences(sentences: Iterable[Sentence], what: str) -> list[tuple]:
    return [_tokens(sentence, what) for sentence in sentences]


def _check_order(max_n: int) -> int:
    if isinstance(max_n, bool) or not isinstance(max_n, int) or max_n < 1:
        raise ValueError(f"BLEU order must be a positive integer, got {max_n!r}")
    return max_n


def _kgrams(tokens: tuple, k: int):
    """The k-grams of tokens as tuples, in order (none if the sentence is shorter than k)."""
    # The shifted copies differ in length on purpose: the shortest one ends the window.
    return zip(*(tokens[i:] for i in range(k)), strict=False)


def _order_counts(tokens: tuple, max_n: int) -> list[Counter]:
    """[Counter of 1-grams, ..., Counter of max_n-grams] of one sentence."""
    return [Counter(_kgrams(tokens, k)) for k in range(1, max_n + 1)]


def _closest_length(lengths: list[int], multiplicity: dict[int, int], length: int,
                    exclude: int | None = None) -> int:
    """The reference length closest to ``length``, the shorter on a tie (as NLTK picks it).

    ``lengths`` are the distinct reference lengths, sorted, with ``multiplicity`` counting the
    references of each; ``exclude`` removes one reference of that length (leave-one-out).
    """
    def present(i: int) -> bool:
        return multiplicity[lengths[i]] > (1 if lengths[i] == exclude else 0)

    above = bisect.bisect_left(lengths, length)  # First candidate >= length.
    while above < len(lengths) and not present(above):
        above += 1
    below = bisect.bisect_left(lengths, length) - 1  # Last candidate < length.
    while below >= 0 and not present(below):
        below -= 1
    if above == len(lengths):
        return lengths[below]
    if below < 0 or lengths[above] - length < length - lengths[below]:
        return lengths[above]
    return lengths[below]


def _score(matches: Sequence[tuple[int, int]], n: int, length: int, closest: int) -> float:
    """Sentence BLEU-n from (clipped matches, k-grams in the hypothesis) for k = 1..n or more."""
    if matches[0][0] == 0:  # No unigram in common (or an empty hypothesis): NLTK returns 0.
        return 0.0
    weight = 1 / n
    log_precisions = []
    for matched, total in matches[:n]:
        denominator = max(1, total)
        # Both branches divide exactly as NLTK does (int / int, and 0.1 / int), so the logs are
        # bit-identical to its.
        precision = matched / denominator if matched else EPSILON / denominator
        log_precisions.append(weight * math.log(precision))
    brevity = 1.0 if length > closest else math.exp(1 - closest / length)
    return brevity * math.exp(math.fsum(log_precisions))


class References:
    """A reference set prepared once for scoring many hypotheses with BLEU up to ``max_n``.

    Holds, for every k-gram (k <= max_n) of any reference, its largest count in any single
    reference, and the sorted reference lengths. Build it once per test set and pass it to
    ``bleu``/``bleu_scores`` in place of the token lists to skip the counting on later calls.

    Args:
        references: token lists (lists of strings), at least one; empty lists are allowed.
        max_n: the highest n-gram order it can score (BLEU-1..max_n).
    """

    def __init__(self, references: Iterable[Sentence], max_n: int = 5):
        self.max_n = _check_order(max_n)
        sentences = _sentences(references, "a reference")
        if not sentences:
            raise ValueError("BLEU needs at least one reference sentence, got none")
        self.size = len(sentences)
        self.multiplicity = dict(Counter(len(sentence) for sentence in sentences))
        self.lengths = sorted(self.multiplicity)
        self.max_counts = self._max_counts(sentences, max_n)

    @staticmethod
    def _max_counts(sentences: list[tuple], max_n: int) -> dict[tuple, int]:
        # Almost every n-gram occurs at most once in its sentence: collect them all in a set (at
        # C speed) with count 1, then count only the n-grams that can repeat, those starting at
        # a repeated token, up to the first order where none repeats (none above can then).
        present: set[tuple] = set()
        repeated: dict[tuple, int] = {}
        for sentence in sentences:
            length = len(sentence)
            for k in range(1, min(max_n, length) + 1):
                present.update(_kgrams(sentence, k))
            unigrams = Counter(sentence)
            if len(unigrams) == length:
                continue
            starts = [i for i, token in enumerate(sentence) if unigrams[token] > 1]
            for k in range(1, max_n + 1):
                candidates = Counter(sentence[i:i + k] for i in starts if i + k <= length)
                repeats = [(gram, count) for gram, count in candidates.items() if count > 1]
                if not repeats:
                    break
                for gram, count in repeats:
                    if count > repeated.get(gram, 1):
                        repeated[gram] = count
        max_counts = dict.fromkeys(present, 1)
        max_counts.update(repeated)
        return max_counts

    def __len__(self) -> int:
        return self.size

    def matches(self, hypothesis: tuple, max_n: int) -> list[tuple[int, int]]:
        """[(clipped k-gram matches, k-grams in the hypothesis) for k in 1..max_n]."""
        get = self.max_counts.get
        return [(sum(min(count, get(gram, 0)) for gram, count in counts.items()),
                 max(0, len(hypothesis) - k + 1))
                for k, counts in enumerate(_order_counts(hypothesis, max_n), start=1)]

    def closest_length(self, length: int) -> int:
        """The reference length nearest ``length`` (the shorter on a tie), BLEU's r."""
        return _closest_length(self.lengths, self.multiplicity, length)

    def sentence_bleu(self, hypothesis: Sentence, n: int) -> float:
        """Sentence BLEU-n of one token list against all the references, in [0, 1]."""
        if _check_order(n) > self.max_n:
            raise ValueError(f"these References count n-grams up to {self.max_n}, so they "
                             f"cannot give BLEU-{n}: build them with max_n={n}")
        tokens = _tokens(hypothesis, "a hypothesis")
        return _score(self.matches(tokens, n), n, len(tokens),
                      self.closest_length(len(tokens)))


def _mean(scores: list[float]) -> float:
    # Texygen's mean: the sum over the count (summation order only moves the last bit).
    return sum(scores) / len(scores)


def bleu_scores(hypotheses: Iterable[Sentence], references: Iterable[Sentence] | References,
                orders: Sequence[int] = DEFAULT_ORDERS) -> dict[str, float]:
    """Texygen's BLEU for several orders at once: ``{"bleu2": ..., "bleu3": ..., ...}``.

    Args:
        hypotheses: generated token lists (lists of strings), at least one.
        references: held-out token lists, or a ``References`` built with max_n >= max(orders).
        orders: the n of each BLEU-n wanted.

    Returns:
        {"bleu<n>": mean sentence BLEU-n over the hypotheses, in [0, 1]} in the order given.
    """
    orders = [_check_order(n) for n in orders]
    if not orders:
        raise ValueError("give at least one BLEU order, e.g. orders=(2, 3, 4, 5)")
    top = max(orders)
    if not isinstance(references, References):
        references = References(references, top)
    elif references.max_n < top:
        raise ValueError(f"these References count n-grams up to {references.max_n}, so they "
                         f"cannot give BLEU-{top}: build them with max_n={top}")
    sentences = _sentences(hypotheses, "a hypothesis")
    if not sentences:
        raise ValueError("BLEU needs at least one hypothesis, got none")
    scores: dict[int, list[float]] = {n: [] for n in orders}
    for tokens in sentences:
        matches = references.matches(tokens, top)
        closest = references.closest_length(len(tokens))
        for n in orders:
            scores[n].append(_score(matches, n, len(tokens), closest))
    return {f"bleu{n}": _mean(scores[n]) for n in orders}


def bleu(hypotheses: Iterable[Sentence], references: Iterable[Sentence] | References,
         max_n: int) -> float:
    """Texygen's BLEU-max_n: mean sentence BLEU of the hypotheses against all references.

    Args:
        hypotheses: generated token lists (lists of strings), at least one.
        references: held-out token lists, at least one, or a ``References`` built with a
            max_n at least this one.
        max_n: the n of BLEU-n (uniform weights 1/n over 1..n-grams).

    Returns:
        A float in [0, 1], equal to NLTK 3.10.4's sentence_bleu with method1 smoothing averaged
        over the hypotheses.
    """
    return bleu_scores(hypotheses, references, (max_n,))[f"bleu{max_n}"]


class _LeaveOneOut:
    """Sentences that are each scored against all the others."""

    def __init__(self, sentences: list[tuple], max_n: int):
        self.sentences = sentences
        self.max_n = max_n
        self.counts = [_order_counts(sentence, max_n) for sentence in sentences]
        # Each n-gram's two largest counts over the sentences (a tie keeps both): the largest
        # among the others is the second one exactly when this sentence holds the first.
        self.top_two: dict[tuple, list[int]] = {}
        for orders in self.counts:
            for counts in orders:
                for gram, count in counts.items():
                    top = self.top_two.get(gram)
                    if top is None:
                        self.top_two[gram] = [count, 0]
                    elif count > top[0]:
                        top[0], top[1] = count, top[0]
                    elif count > top[1]:
                        top[1] = count
        self.multiplicity = dict(Counter(len(sentence) for sentence in sentences))
        self.lengths = sorted(self.multiplicity)

    def matches(self, index: int) -> list[tuple[int, int]]:
        length = len(self.sentences[index])
        result = []
        for k, counts in enumerate(self.counts[index], start=1):
            matched = 0
            for gram, count in counts.items():
                first, second = self.top_two[gram]
                matched += min(count, second if count == first else first)
            result.append((matched, max(0, length - k + 1)))
        return result

    def closest_length(self, index: int) -> int:
        length = len(self.sentences[index])
        return _closest_length(self.lengths, self.multiplicity, length, exclude=length)


def self_bleu_scores(sentences: Iterable[Sentence],
                     orders: Sequence[int] = DEFAULT_ORDERS) -> dict[str, float]:
    """Texygen's self-BLEU for several orders: ``{"self_bleu2": ..., ...}``.

    Args:
        sentences: generated token lists (lists of strings), at least two.
        orders: the n of each self-BLEU-n wanted.

    Returns:
        {"self_bleu<n>": mean over sentences of its BLEU-n against all the others, in [0, 1]}.
    """
    orders = [_check_order(n) for n in orders]
    if not orders:
        raise ValueError("give at least one BLEU order, e.g. orders=(2, 3, 4, 5)")
    tokens = _sentences(sentences, "a sentence")
    if len(tokens) < 2:
        raise ValueError(f"self-BLEU needs at least two sentences, got {len(tokens)}")
    top = max(orders)
    corpus = _LeaveOneOut(tokens, top)
    scores: dict[int, list[float]] = {n: [] for n in orders}
    for index, sentence in enumerate(tokens):
        matches = corpus.matches(index)
        closest = corpus.closest_length(index)
        for n in orders:
            scores[n].append(_score(matches, n, len(sentence), closest))
    return {f"self_bleu{n}": _mean(scores[n]) for n in orders}


def self_bleu(sentences: Iterable[Sentence], max_n: int) -> float:
    """Texygen's self-BLEU-max_n: each sentence's BLEU against all the others, averaged.

    Args:
        sentences: generated token lists (lists of strings), at least two.
        max_n: the n of BLEU-n.

    Returns:
        A float in [0, 1]; higher means less diverse.
    """
    return self_bleu_scores(sentences, (max_n,))[f"self_bleu{max_n}"]
