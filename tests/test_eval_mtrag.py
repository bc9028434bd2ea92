"""MTRAG replay on a tiny hand-made file whose right numbers are known."""

from __future__ import annotations

import json
from pathlib import Path

from qa.answerability import Judgement
from qa.eval_mtrag import load_mtrag, relevance_sweep, run_mtrag_eval, threshold_sweep
from tests.conftest import make_settings


def _task(
    tid: str, turns: list[tuple[str, str]], contexts: dict[str, str], target: str, label: str
) -> dict[str, object]:
    return {
        "task_id": tid,
        "input": [{"speaker": s, "text": t} for s, t in turns],
        "contexts": [{"document_id": d, "text": t} for d, t in contexts.items()],
        "targets": [{"text": target}],
        "answerability": [label],
    }


PASSAGES = {
    "p-ferry": "The harbor ferry resumed service on Monday after three weeks of pier repairs.",
    "p-bikes": "The council approved 14 kilometres of protected bike lanes along the river.",
    "p-crane": "Volunteers counted 31,000 cranes at the lake, a record since counts began.",
}


def write(path: Path) -> Path:
    rows = [
        _task(
            "t1",
            [("user", "When did the harbor ferry start running again?")],
            {"p-ferry": PASSAGES["p-ferry"]},
            "It resumed on Monday.",
            "ANSWERABLE",
        ),
        _task(
            "t2",
            [
                ("user", "What did the council approve?"),
                ("agent", "Bike lanes."),
                ("user", "how long are they?"),
            ],
            {"p-bikes": PASSAGES["p-bikes"]},
            "14 kilometres.",
            "ANSWERABLE",
        ),
        _task(
            "t3",
            [("user", "What is the airspeed of an unladen swallow in a vacuum?")],
            {"p-crane": PASSAGES["p-crane"]},
            "",
            "UNANSWERABLE",
        ),
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    return path


def test_load_mtrag_reads_history_and_labels(tmp_path: Path) -> None:
    tasks, passages = load_mtrag(write(tmp_path / "m.jsonl"))
    assert [t.id for t in tasks] == ["t1", "t2", "t3"]
    assert tasks[1].history[0] == {"role": "user", "content": "What did the council approve?"}
    assert tasks[1].question == "how long are they?" and tasks[2].answerable == "UNANSWERABLE"
    assert set(passages) == set(PASSAGES)


def test_replay_reports_recall_refusal_and_f1(tmp_path: Path, embeddings) -> None:
    report = run_mtrag_eval(
        write(tmp_path / "m.jsonl"), make_settings(tmp_path, k=1), embeddings=embeddings
    )
    assert report.tasks == 3 and report.passages == 3
    # Rewriting carries "council" into the follow-up, so its passage is found at k=1.
    assert report.recall_rewritten == 1.0
    assert report.recall_rewritten >= report.recall_plain
    assert report.refusal_recall == 1.0 and report.refusal_precision == 1.0
    assert 0.0 < report.answer_f1 <= 1.0


def test_threshold_sweep_counts() -> None:
    signals = [(0.1, True), (0.2, False), (0.5, False), (0.05, True)]
    rows = threshold_sweep(signals, [0.15, 0.3])
    assert rows[0] == {"threshold": 0.15, "refused": 2, "precision": 1.0, "recall": 1.0}
    assert rows[1]["refused"] == 3 and abs(rows[1]["precision"] - 2 / 3) < 1e-9


def test_relevance_sweep_redecides_from_the_signals() -> None:
    def j(relevance: float) -> Judgement:
        return Judgement(True, "", {"cosine": 0.5, "relevance": relevance, "coverage": 0.1})

    judgements = [(j(0.42), True), (j(0.52), False), (j(0.62), True)]
    rows = relevance_sweep(judgements, [0.5, 0.7], min_cosine=0.3)
    assert rows[0] == {"threshold": 0.5, "refused": 1, "precision": 1.0, "recall": 0.5}
    assert rows[1]["refused"] == 3 and abs(rows[1]["precision"] - 2 / 3) < 1e-9
