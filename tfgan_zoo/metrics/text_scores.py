"""Scoring a text generator: NLL_oracle and NLL_gen on the synthetic oracle, BLEU and self-BLEU
on real text (the measures of SeqGAN, Texygen and RelGAN).

  nll_oracle    the oracle LSTM's per-token negative log-likelihood of generated sequences,
                averaged over them: quality as the true model judges it (lower is better).
                Published at length 20: real data 5.750, MLE 9.038, SeqGAN 8.736, LeakGAN
                7.038, RelGAN 6.680.
  nll_gen       the generator's own per-token NLL of the held-out real sequences, by teacher
                forcing: how much of the real data it still covers (lower is better; a
                collapsed generator scores a good nll_oracle and a bad nll_gen). Real text is
                scored over the whole fixed length, the <eos> padding included.
  bleuN         BLEU-N of BLEU_HYPOTHESES generated sentences, each against all the held-out
                lines (RelGAN's protocol), Texygen's way (tfgan_zoo.metrics.bleu).
  self_bleuN    BLEU-N of each of SELF_BLEU_SENTENCES generated sentences against the others:
                how alike the samples are (lower is more diverse).

The real-data floor (`floor`) scores real training sequences the same way: the oracle's NLL of
its own data, BLEU and self-BLEU of real lines.
"""
import numpy as np

from tfgan_zoo.metrics import bleu

BLEU_HYPOTHESES = 200  # RelGAN's count of generated sentences scored against the test set
SELF_BLEU_SENTENCES = 500  # Texygen's count for self-BLEU
ORACLE_SAMPLES = 10_000  # generated sequences whose NLL_oracle is averaged (Texygen's)
BLEU_ORDERS = (2, 3, 4, 5)
_CHUNK = 500  # sequences generated at a time: a sequence's noise is T x V floats


class TextScorer:
    """Scores generators against one real split.

    Args:
      real: token ids int [N, T] of the split scored against (references, NLL_gen's data).
      train: token ids of the training split, for the real-data floor.
      split: the name of `real`'s split, for reports.
      oracle: the oracle (`tfgan_zoo.data.oracle.Oracle`) of oracle data, None for real text.
      decode: fn(token ids [T]) -> str, the run's decoder (cuts at <eos>).
      num_samples: generated sequences (0: ORACLE_SAMPLES for the oracle, SELF_BLEU_SENTENCES
        for real text, which also bounds the BLEU hypotheses).
    """

    test_accuracy = None  # no trained extractor, so no accuracy to report

    def __init__(self, real, train, *, split, oracle, decode, num_samples=0, seed=0):
        self.real, self.train, self.split = np.asarray(real), np.asarray(train), split
        self.oracle, self.decode, self.seed = oracle, decode, seed
        default = ORACLE_SAMPLES if oracle is not None else SELF_BLEU_SENTENCES
        self.num_samples = num_samples or default
        self.real_count = len(self.real)
        if oracle is not None:
            self.name = "the oracle LSTM"
        else:
            self.name = f"BLEU against the {self.real_count} lines of the {split} split"
            self._references = bleu.References(self._words(self.real), max(BLEU_ORDERS))

    def __call__(self, gan):
        generated = generate_tokens(gan, self.num_samples, self.seed)
        return {**self._score(generated), "nll_gen": self.nll_gen(gan)}

    def floor(self):
        """Real training sequences scored like a generator's."""
        return self._score(self.train[:self.num_samples])

    def nll_gen(self, gan, batch_size=_CHUNK):
        """The generator's (EMA copy's, if kept) mean per-token NLL of the real split."""
        total = 0.0
        for start in range(0, len(self.real), batch_size):
            batch = self.real[start:start + batch_size]
            total += float(gan.pretrain_loss(gan.sampler, batch, None)) * len(batch)
        return total / len(self.real)

    def _score(self, tokens):
        if self.oracle is not None:
            return {"nll_oracle": float(self.oracle.mean_nll(tokens)),
                    "num_generated": len(tokens), "num_real": self.real_count}
        sentences = self._words(tokens)
        hypotheses = sentences[:BLEU_HYPOTHESES]
        return {**bleu.bleu_scores(hypotheses, self._references, BLEU_ORDERS),
                **bleu.self_bleu_scores(sentences, BLEU_ORDERS),
                "num_generated": len(hypotheses), "num_self_bleu": len(sentences),
                "num_real": self.real_count}

    def _words(self, tokens):
        """Sentences as word lists, as BLEU compares them: decoded, then split on spaces."""
        return [self.decode(ids).split() for ids in tokens]


def generate_tokens(gan, count, seed=0):
    """Token ids int32 [count, T] from `gan.generate`, from noise fixed by `seed`, drawn
    _CHUNK sequences at a time (all of 10,000 sequences' noise at once would take 4 GB)."""
    chunks = []
    for index, start in enumerate(range(0, count, _CHUNK)):
        n = min(_CHUNK, count - start)
        z = gan.prior.stateless(n, seed * 1_000_003 + index)
        chunks.append(np.argmax(gan.generate(z).numpy(), axis=-1).astype(np.int32))
    return np.concatenate(chunks)
