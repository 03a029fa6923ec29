"""BLEU and self-BLEU against NLTK's sentence_bleu, called exactly as Texygen calls it."""
import random

import nltk
import pytest
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

from tfgan_zoo.metrics.bleu import References, bleu, bleu_scores, self_bleu, self_bleu_scores

TOLERANCE = 1e-12


def nltk_sentence(references, hypothesis, n):
    """Texygen's call: uniform weights 1/n and smoothing method 1."""
    weights = tuple(1.0 / n for _ in range(n))
    return sentence_bleu(references, hypothesis, weights,
                         smoothing_function=SmoothingFunction().method1)


def nltk_bleu(hypotheses, references, n):
    """Texygen's BLEU: the running sum of sentence scores over their count."""
    return sum(nltk_sentence(references, h, n) for h in hypotheses) / len(hypotheses)


def nltk_self_bleu(sentences, n):
    """Texygen's self-BLEU: each sentence against all the others."""
    scores = [nltk_sentence(sentences[:i] + sentences[i + 1:], sentence, n)
              for i, sentence in enumerate(sentences)]
    return sum(scores) / len(scores)


def tokens(*lines):
    return [line.split() for line in lines]


# Lengths 6, 7, 7, 3, 4: no reference of length 5, so a 5-token hypothesis ties between 4 and 6.
REFERENCES = tokens(
    "the cat sat on the mat",
    "there is a cat on the mat",
    "the cat and the cat ran away",  # "the cat" twice: its max count over references is 2.
    "a dog barked",
    "the mat is red",
)
HYPOTHESES = dict(zip(
    ["exact match", "no overlap", "partial overlap", "shorter than n", "one token", "empty",
     "clipped unigrams", "clipped bigrams", "tie for closest length", "longer than all"],
    tokens(
        "the cat sat on the mat",
        "zebra quantum flux",
        "the cat is on a mat today",
        "cat mat",
        "dog",
        "",
        "the the the the the the the",
        "the cat the cat the cat",
        "the mat is red today",
        "the cat sat on the mat and the dog sat on the red mat",
    ), strict=True))


def random_sentences(rng, count, min_length=0, max_length=14, vocabulary=30):
    """Sentences over a small vocabulary, so n-grams repeat and match often."""
    words = [f"w{i}" for i in range(vocabulary)]
    return [[rng.choice(words) for _ in range(rng.randint(min_length, max_length))]
            for _ in range(count)]


def test_checked_against_the_pinned_nltk():
    assert nltk.__version__ == "3.10.4", (
        "bleu.py is verified against NLTK 3.10.4 (the test extra pins it); BLEU figures differ "
        "between NLTK versions, so re-verify before moving the pin")


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("case", list(HYPOTHESES))
def test_sentence_bleu_matches_nltk(case, n):
    hypothesis = HYPOTHESES[case]
    expected = nltk_sentence(REFERENCES, hypothesis, n)
    assert References(REFERENCES, 5).sentence_bleu(hypothesis, n) == pytest.approx(
        expected, abs=TOLERANCE)


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_bleu_matches_nltk_on_hand_made_sets(n):
    hypotheses = list(HYPOTHESES.values())
    assert bleu(hypotheses, REFERENCES, n) == pytest.approx(
        nltk_bleu(hypotheses, REFERENCES, n), abs=TOLERANCE)
    # An empty reference takes part in the closest-length search (length 0).
    with_empty = REFERENCES + [[]]
    assert bleu(hypotheses, with_empty, n) == pytest.approx(
        nltk_bleu(hypotheses, with_empty, n), abs=TOLERANCE)
    assert self_bleu(hypotheses + REFERENCES, n) == pytest.approx(
        nltk_self_bleu(hypotheses + REFERENCES, n), abs=TOLERANCE)


def test_closest_length_tie_takes_the_shorter_reference():
    references = tokens("a b c d", "a b c d e f")
    hypothesis = tokens("a b c d e")[0]
    # Every n-gram matches the longer reference; the 4-token one is as close as the 6-token one
    # and wins the tie, so there is no brevity penalty.
    assert bleu([hypothesis], references, 4) == 1.0 == nltk_sentence(references, hypothesis, 4)
    longer_only = references[1:]
    assert bleu([hypothesis], longer_only, 4) == pytest.approx(2.718281828459045 ** (1 - 6 / 5))


def test_clipping_takes_the_max_count_in_one_reference_not_the_sum():
    # "the" occurs once in each reference: one of the two "the"s is clipped, p1 = 1/2.
    references = tokens("the cat", "the dog")
    assert bleu(tokens("the the"), references, 1) == 0.5 == nltk_sentence(
        references, tokens("the the")[0], 1)


def test_a_sentence_shorter_than_n_scores_below_one_against_itself():
    # NLTK gives 3-grams of nothing 0/1 matches, smoothed to 0.1: BLEU-5 = (0.1 * 0.1) ** (1/5).
    sentence = tokens("a dog barked")[0]
    assert bleu([sentence], [sentence], 5) == pytest.approx(0.01 ** 0.2, abs=TOLERANCE)
    assert bleu([sentence], [sentence], 5) == pytest.approx(
        nltk_sentence([sentence], sentence, 5), abs=TOLERANCE)


def test_random_set_matches_nltk():
    rng = random.Random(0)
    hypotheses = random_sentences(rng, 50)
    references = random_sentences(rng, 300)
    expected = {f"bleu{n}": nltk_bleu(hypotheses, references, n) for n in (2, 3, 4, 5)}
    scores = bleu_scores(hypotheses, references)
    assert list(scores) == ["bleu2", "bleu3", "bleu4", "bleu5"]
    for name, value in expected.items():
        assert scores[name] == pytest.approx(value, abs=TOLERANCE), name
    # A prepared reference set gives the same figures as the token lists.
    assert bleu_scores(hypotheses, References(references, 5)) == scores
    assert bleu(hypotheses, references, 3) == scores["bleu3"]


def test_random_self_bleu_matches_nltk():
    rng = random.Random(1)
    sentences = random_sentences(rng, 80, max_length=10, vocabulary=12)
    sentences += [list(sentences[0]), list(sentences[1])]  # Ties for the largest counts.
    scores = self_bleu_scores(sentences)
    assert list(scores) == ["self_bleu2", "self_bleu3", "self_bleu4", "self_bleu5"]
    for n in (2, 3, 4, 5):
        assert scores[f"self_bleu{n}"] == pytest.approx(
            nltk_self_bleu(sentences, n), abs=TOLERANCE), n


def test_self_bleu_leaves_the_sentence_out_of_the_lengths_too():
    sentences = tokens("a b c d e", "a b c d e f")
    # The 5-token sentence's closest other length is 6 (its own 5 is left out): BP exp(1 - 6/5).
    # The 6-token one has p1 = 5/6, p2 = 4/5 and no penalty.
    expected = (2.718281828459045 ** (1 - 6 / 5) + (5 / 6 * 4 / 5) ** 0.5) / 2
    assert self_bleu(sentences, 2) == pytest.approx(expected, abs=TOLERANCE)
    assert self_bleu(sentences, 2) == pytest.approx(nltk_self_bleu(sentences, 2), abs=TOLERANCE)


def test_identical_sentences_have_self_bleu_one():
    sentences = tokens(*["the cat sat on the mat"] * 5)
    assert self_bleu_scores(sentences) == pytest.approx(
        {f"self_bleu{n}": 1.0 for n in (2, 3, 4, 5)}, abs=TOLERANCE)


def test_references_score_one_against_themselves():
    # At least 5 tokens each: a sentence shorter than n scores below 1 even against itself.
    references = random_sentences(random.Random(2), 100, min_length=5)
    assert bleu_scores(references, references) == pytest.approx(
        {f"bleu{n}": 1.0 for n in (2, 3, 4, 5)}, abs=TOLERANCE)


def test_errors_say_what_to_do():
    with pytest.raises(TypeError, match="split it first"):
        bleu(["the cat sat"], REFERENCES, 2)
    with pytest.raises(ValueError, match="at least one reference"):
        bleu(tokens("the cat"), [], 2)
    with pytest.raises(ValueError, match="at least one hypothesis"):
        bleu([], REFERENCES, 2)
    with pytest.raises(ValueError, match="at least two sentences"):
        self_bleu(tokens("the cat"), 2)
    with pytest.raises(ValueError, match="build them with max_n=5"):
        bleu_scores(tokens("the cat"), References(REFERENCES, 4))
    with pytest.raises(ValueError, match="positive integer"):
        bleu(tokens("the cat"), REFERENCES, 0)
