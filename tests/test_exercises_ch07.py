"""The chapter 7 self-checks accept the book's solutions and reject typical mistakes."""
import statistics

from ssgan_lib.exercises import ch07
from ssgan_lib.evidence.study import summarize


def gains(rows):  # the book's solution
    errors = {}
    for r in rows:
        errors.setdefault((r["method"], r["labels"]), []).append(r["test_error"])
    mean = {k: sum(v) / len(v) for k, v in errors.items()}
    return {n: mean["supervised", n] - mean["ssgan-fm", n]
            for (m, n) in mean if m == "ssgan-fm" and ("supervised", n) in mean}


def sweep_rows():
    """Rows shaped like a real sweep's (two label counts, two seeds, both methods)."""
    errs = {("ssgan-fm", 20): [30.5, 25.0], ("supervised", 20): [45.0, 41.2],
            ("ssgan-fm", 100): [9.0, 11.0], ("supervised", 100): [25.0, 27.5]}
    return [{"method": m, "labels": n, "seed": s + 1, "test_error": e, "epochs": 0.5, "recipe": "final",
             "device": "cpu", "commit": None} for (m, n), v in errs.items() for s, e in enumerate(v)]


def test_gains_accepts_the_solution(capsys):
    assert ch07.check_gains(gains)
    assert ch07.check_gains(gains, sweep_rows())
    assert "correct" in capsys.readouterr().out


def test_gains_agrees_with_summarize():
    s = summarize(sweep_rows())
    fm = {n: m for n, m, _, _ in s["ssgan-fm"]}
    sup = {n: m for n, m, _, _ in s["supervised"]}
    assert ch07.reference_gains(sweep_rows()) == {n: sup[n] - fm[n] for n in fm}


def test_gains_rejects_typical_mistakes(capsys):
    assert not ch07.check_gains(lambda rows: {n: -g for n, g in gains(rows).items()})  # sign flipped
    assert "sign" in capsys.readouterr().out

    def first_seed(rows):
        first = {}
        for r in rows:
            first.setdefault((r["method"], r["labels"]), r["test_error"])
        return {n: first["supervised", n] - first["ssgan-fm", n]
                for (m, n) in first if m == "ssgan-fm" and ("supervised", n) in first}
    assert not ch07.check_gains(first_seed)

    def median(rows):
        errors = {}
        for r in rows:
            errors.setdefault((r["method"], r["labels"]), []).append(r["test_error"])
        return {n: statistics.median(errors["supervised", n]) - statistics.median(v)
                for (m, n), v in errors.items() if m == "ssgan-fm" and ("supervised", n) in errors}
    assert not ch07.check_gains(median)

    def every_count(rows):  # a label count with one method only is not a comparison
        errors = {}
        for r in rows:
            errors.setdefault((r["method"], r["labels"]), []).append(r["test_error"])
        mean = {k: sum(v) / len(v) for k, v in errors.items()}
        return {n: mean.get(("supervised", n), 0.0) - mean.get(("ssgan-fm", n), 0.0) for (_, n) in mean}
    assert not ch07.check_gains(every_count)
    assert not ch07.check_gains(lambda rows: 1 / 0)
    assert not ch07.check_gains(lambda rows: [1.0, 2.0])
    assert not ch07.check_gains(lambda rows: {20: 17.0, 100: 15.75})  # hard-coded for one sweep
    out = capsys.readouterr().out
    assert out.count("not yet") == 6 and "correct" not in out


def test_earlier_chapter7_checks_still_reject_wrong_answers():
    assert ch07.check_rate_labels(30) and not ch07.check_rate_labels(300)
    assert not ch07.check_best_of(1.0)
