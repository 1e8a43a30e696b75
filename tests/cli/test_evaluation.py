"""``os1 eval``: LoCoMo and the companion set, end to end in-process (scripted model, real
embeddings), on made-up data in their formats (the real data stays in ../shared)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_memory import run
from tests.conftest import SCRIPTED_REPLIES


def test_eval_locomo_rejects_a_file_that_is_not_locomo(scripted_home: Path, tmp_path: Path) -> None:
    bogus = tmp_path / "x.json"
    bogus.write_text('{"hello": 1}')
    code, out = run("eval", "locomo", "--data", str(bogus))
    assert code == 1 and "not LoCoMo data" in out


def tiny_locomo() -> list[dict[str, object]]:
    """A made-up conversation in LoCoMo's format (the real data stays in ../shared)."""
    return [
        {
            "sample_id": "tiny",
            "conversation": {
                "speaker_a": "Maya",
                "speaker_b": "Leo",
                "session_1_date_time": "2:00 pm on 3 March, 2024",
                "session_1": [
                    {
                        "speaker": "Maya",
                        "dia_id": "D1:1",
                        "text": "I adopted a grey cat named Pixel!",
                    },
                    {
                        "speaker": "Leo",
                        "dia_id": "D1:2",
                        "text": "Congrats! I started pottery classes.",
                    },
                ],
                "session_2_date_time": "9:15 am on 10 March, 2024",
                "session_2": [
                    {
                        "speaker": "Maya",
                        "dia_id": "D2:1",
                        "text": "Pixel knocked over my plant.",
                        "blip_caption": "a grey cat next to a broken pot",
                    },
                    {
                        "speaker": "Leo",
                        "dia_id": "D2:2",
                        "text": "My pottery teacher is moving away.",
                    },
                ],
            },
            "qa": [
                {
                    "question": "What is the name of Maya's cat?",
                    "answer": "Pixel",
                    "evidence": ["D1:1"],
                    "category": 4,
                },
                {
                    "question": "When did Leo start pottery?",
                    "answer": "March 2024",
                    "evidence": ["D1:2"],
                    "category": 2,
                },
                {
                    "question": "What did Maya's cat break?",
                    "answer": "a plant pot",
                    "evidence": ["D2:1"],
                    "category": 1,
                },
                {
                    "question": "Adversarial question",
                    "answer": "",
                    "evidence": ["D1:1"],
                    "category": 5,
                },
            ],
        }
    ]


def test_eval_locomo_scores_recall_and_qa(scripted_home: Path, tmp_path: Path) -> None:
    data = tmp_path / "tiny.json"
    data.write_text(json.dumps(tiny_locomo()))
    SCRIPTED_REPLIES[:] = ["Pixel"]
    code, out = run("eval", "locomo", "--data", str(data), "--json", "--qa")
    assert code == 0, out
    report = json.loads(out)
    assert report["n"] == 3  # category 5 is not scored
    assert report["overall"]["recall@5"] == 1.0  # 4 turns: everything is in the top 5
    assert set(report["by_category"]) == {"multi-hop", "temporal", "open-domain", "single-hop"}
    assert "baseline_bm25" in report and 0 < report["qa_token_f1"] <= 1


def tiny_lives() -> dict[str, object]:
    """A made-up life in the companion format."""
    return {
        "format": "os1-companion-eval/1",
        "conversations": [
            {
                "id": "tiny-01",
                "user_name": "Odile",
                "sessions": [
                    {
                        "start": "2031-04-01T19:00:00",
                        "user_turns": [
                            "My brother Anselm keeps bees in Ghent.",
                            "I work as a glassblower at Verrerie Lune.",
                        ],
                    },
                    {
                        "start": "2031-04-09T20:00:00",
                        "user_turns": ["Night! Off to bed."],
                    },
                ],
                "probes": [
                    {
                        "id": "p1",
                        "category": "fact",
                        "question": "Who is Anselm?",
                        "expect_any": ["brother"],
                    },
                    {
                        "id": "p2",
                        "category": "fact",
                        "question": "Where do I work?",
                        "expect_any": ["verrerie lune"],
                    },
                    {
                        "id": "p3",
                        "category": "identity",
                        "question": "What's your name?",
                        "expect": "self_name",
                    },
                    {
                        "id": "p4",
                        "category": "unknown",
                        "question": "What's my dog called?",
                        "expect": "abstain",
                    },
                    {
                        "id": "p5",
                        "category": "fact",
                        "question": "What does Anselm keep?",
                        "expect_any": ["wasps"],
                        "reject_any": ["bees"],
                    },
                ],
            }
        ],
    }


def test_eval_companion_replays_a_life_and_scores_its_probes(
    scripted_home: Path, tmp_path: Path
) -> None:
    data = tmp_path / "lives.json"
    data.write_text(json.dumps(tiny_lives()))
    SCRIPTED_REPLIES[:] = [
        "Ines",
        "Hello Odile, it is good to meet you.",
        "Oh, how lovely to hear that.",
        "Tell me more about the glass.",
        "Sleep well, Odile.",
    ]
    code, out = run("eval", "companion", "--data", str(data), "--json", "--verbose")
    assert code == 0, out
    report = json.loads(out)
    assert report["overall"]["n"] == 5
    # Four answered right by the skills; the last expects a wrong answer on purpose.
    assert report["overall"]["accuracy"] == 0.8
    assert report["by_category"]["identity"]["accuracy"] == 1.0
    assert report["by_category"]["unknown"]["accuracy"] == 1.0
    assert report["replies"] == 3 and report["generic_reply_rate"] == 0.0
    assert report["facts"]["n"] >= 2 and report["facts"]["precision"] == 1.0
    by_id = {p["id"]: p for p in report["probes"]}
    assert by_id["p1"]["by"] == ["recollection.memory"] and "brother" in by_id["p1"]["reply"]
    assert not by_id["p5"]["correct"]
    assert report["wall_s"] >= 0


def test_eval_companion_rejects_a_file_in_another_format(
    scripted_home: Path, tmp_path: Path
) -> None:
    bogus = tmp_path / "x.json"
    bogus.write_text('{"conversations": []}')
    code, out = run("eval", "companion", "--data", str(bogus))
    assert code == 1 and "not os1-companion-eval/1 data" in out
    broken = tmp_path / "y.json"
    broken.write_text('{"format": "os1-companion-eval/1", "conversations": [{"id": 1}]}')
    code, out = run("eval", "companion", "--data", str(broken))
    assert code == 1 and "conversation 1: malformed" in out


def test_eval_companion_runs_against_a_capable_model(home: Path, tmp_path: Path) -> None:
    """The same benchmark on a capable model (the FAKE OpenAI server): its probes go to the
    model with the skills' tools, and a recall_memory call gets the user's own words."""
    from tests.support.fake_openai_server import FakeToolCall, running

    data = tmp_path / "lives.json"
    lives = tiny_lives()
    lives["conversations"][0]["probes"] = lives["conversations"][0]["probes"][:1]  # type: ignore[index]
    data.write_text(json.dumps(lives))
    with running(reply="Ines") as fake:
        assert run("model", "use", "openai", "--url", f"{fake.url}/v1")[0] == 0
        # The told turns get the fake's plain reply; the probe calls the tool, then answers
        # from its result (turns are the requests that offer tools).
        call = FakeToolCall("c1", "recall_memory", json.dumps({"question": "Who is Anselm?"}))
        fake.tool_answers = ["How lovely.", "Tell me more.", "Sleep well."]
        fake.tool_answers += [[call], "Anselm is your brother."]
        code, out = run("eval", "companion", "--data", str(data), "--json", "--verbose")
        assert code == 0, out
        sent = [r["body"]["messages"] for r in fake.requests]
    report = json.loads(out)
    assert report["probes"][0]["reply"] == "Anselm is your brother."
    assert report["overall"]["accuracy"] == 1.0 and report["model"] != "embedded"
    tool_result = json.loads(sent[-1][-1]["content"])["result"]
    assert "Anselm is your brother" in json.loads(tool_result)["told"]
