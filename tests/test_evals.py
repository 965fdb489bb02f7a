"""CI's quality gate: the offline engine must hold every eval threshold, and
the datasets must stay valid and as large as promised."""

import tomllib

import pytest
from pydantic import ValidationError

from evals.dataset import Retro, load_coverage, load_injection, load_retros
from evals.run import THRESHOLDS, check_thresholds, run


def test_datasets_are_valid_and_large_enough():
    retros = load_retros()
    assert len(retros) >= 12
    assert sum(len(r.cards) for r in retros) >= 500
    assert {r.domain for r in retros} >= {"software", "support", "operations", "finance", "healthcare", "public_sector"}
    assert min(len(r.cards) for r in retros) <= 10 and max(len(r.cards) for r in retros) >= 100
    assert len(load_coverage().cases) >= 40
    assert len(load_injection().cases) >= 50


def test_dataset_schema_rejects_unknown_keys():
    good = load_retros()[0].model_dump()
    good["themes"][0]["colour"] = "red"
    with pytest.raises(ValidationError, match="colour"):
        Retro.model_validate(good)


def test_offline_engine_holds_every_threshold(local_engine):
    report = run(local_engine, "local")
    failures = check_thresholds(report["metrics"], tomllib.loads(THRESHOLDS.read_text()))
    assert not failures, "\n".join(failures)
    # The engine must beat every naive grouping by a clear margin.
    for name in ("singletons", "one_group", "tfidf"):
        assert report["metrics"]["ari"] > report["baselines"][name]["ari"] + 0.1
