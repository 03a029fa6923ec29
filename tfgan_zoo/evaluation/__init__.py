"""Evaluation: `scoring` turns a generator's samples and real data into metrics through the
kind's feature extractor (used during training too); `report` scores a checkpoint of a finished
run and writes its JSON report (what `python -m tfgan_zoo.evaluate` calls)."""
