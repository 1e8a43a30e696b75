"""The web app end to end, in headless Chromium against a real server on loopback.

Each test starts a fresh server (scripted model, real voice engines) and drives the page
as a person would: by role and label, with the keyboard where it matters. Every visit
also checks that no request left the page's origin and that no script error happened.
Screens are photographed at desktop and phone sizes and checked with axe-core.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from os1.memory.storage.codec import now
from tests.server.test_server import Server, running
from tests.support.paths import ROOT
from tests.support.web import (
    REPLY,
    SIZES,
    Visit,
    browser,
    make_web_server,
    require_browser,
    screenshot,
    serious_violations,
    sign_in,
    watch,
)

# CI installs playwright (the dev extra); elsewhere the suite is skipped without it.
expect = pytest.importorskip("playwright.sync_api").expect
SECRET = "zanzibarquokka"


@pytest.fixture
def web(home: Path) -> Iterator[tuple[Server, str]]:
    require_browser()
    server = make_web_server(home)
    with running(server) as base:
        yield server, base


@pytest.fixture
def chromium() -> Iterator[Any]:
    require_browser()
    with browser() as launched:
        yield launched


def open_visit(chromium: Any, base: str, size: str = "desktop") -> Visit:
    # Reduced motion: screenshots show each screen settled, not halfway through a fade.
    context = chromium.new_context(viewport=SIZES[size], reduced_motion="reduce")
    return watch(context.new_page(), base)


def set_up(base: str, server: Server, user: str) -> None:
    response = httpx.post(
        f"{base}/v1/setup", json={"name": user.title()}, headers=server.auth(user)
    )
    assert response.status_code == 201, response.text


def say(base: str, server: Server, user: str, text: str) -> None:
    response = httpx.post(
        f"{base}/v1/messages", json={"text": text}, headers=server.auth(user), timeout=30
    )
    assert response.status_code == 200, response.text


def alice_in_settings(chromium: Any, base: str, server: Server, said: str) -> Visit:
    """Alice, set up and having said ``said``, signed in and on the Settings screen."""
    set_up(base, server, "alice")
    say(base, server, "alice", said)
    visit = open_visit(chromium, base)
    sign_in(visit, server.tokens["alice"])
    visit.page.get_by_role("link", name="Settings").click()
    return visit


def check_screen(visit: Visit, size: str, screen: str) -> None:
    """Photograph the screen, and hold it to axe-core: no serious or critical violation."""
    visit.page.wait_for_load_state("networkidle")
    screenshot(visit, size, screen)
    assert serious_violations(visit) == [], f"{size} {screen}"


def wait_until(visit: Visit, condition: Callable[[], bool], timeout_s: float = 20) -> None:
    """Poll a condition on what the test has seen (page.wait_for_function would need
    eval, which the page's CSP forbids)."""
    for _ in range(int(timeout_s / 0.05)):
        if condition():
            return
        visit.page.wait_for_timeout(50)
    seen = [f.get("type") for f in visit.socket_frames][-20:]
    raise AssertionError(f"timed out; last socket events {seen}, {visit.sent_audio_frames} sent")


def finish(visit: Visit) -> None:
    assert visit.outside_origin() == []
    assert visit.errors == []
    visit.page.context.close()


def test_first_run_then_a_streamed_conversation(web: tuple[Server, str], chromium: Any) -> None:
    server, base = web
    visit = open_visit(chromium, base)
    page = visit.page
    page.goto(base + "/")
    check_screen(visit, "desktop", "sign-in")
    page.get_by_label("Your token").fill("os1_1_" + "x" * 43)
    page.get_by_role("button", name="Begin").click()
    expect(page.get_by_role("alert")).to_contain_text("not recognised")
    page.get_by_label("Your token").fill(server.tokens["alice"])
    page.get_by_role("button", name="Begin").click()

    page.get_by_role("heading", name=re.compile("what would you like me to call you")).wait_for()
    check_screen(visit, "desktop", "onboarding-question")
    page.keyboard.type("Theodore")
    page.keyboard.press("Enter")
    page.get_by_role("radio", name="Anti-social").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("textbox").fill("She was kind, and a little anxious.")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("radio", name="Neutral").check()
    check_screen(visit, "desktop", "onboarding-voice")
    page.get_by_role("button", name="Begin").click()

    name = page.locator(".reveal__name")
    name.wait_for()
    check_screen(visit, "desktop", "onboarding-name")
    me = httpx.get(f"{base}/v1/me", headers=server.auth("alice")).json()
    assert name.inner_text() == me["persona"]["name"]
    assert me["profile"] == {
        "name": "Theodore",
        "social": "anti-social",
        "mother": "She was kind, and a little anxious.",
        "voice": "neutral",
        "facts": {},
    }
    assert me["persona"]["name"] in page.locator(".reveal__greeting").inner_text()

    page.get_by_role("button", name=f"Talk with {name.inner_text()}").click()
    message = page.get_by_label(re.compile("^Message to"))
    message.fill("My sister Anna lives in Lisbon.")
    message.press("Enter")
    page.get_by_role("button", name=re.compile("answer that again")).wait_for()
    tokens, done = visit.frames("token"), visit.frames("done")
    # Streamed: in several frames (pieces within 30 ms of each other travel together).
    assert len(tokens) > 1 and "".join(t["text"] for t in tokens) == REPLY
    assert done[0]["reply"] == REPLY and done[0]["status"] == "complete"
    assert page.locator(".line--os").last.locator(".line__text").inner_text() == REPLY
    check_screen(visit, "desktop", "talk")

    # "Say it again": the last exchange is forgotten and asked anew, so it is stored once.
    page.get_by_role("button", name=re.compile("answer that again")).click()
    wait_until(visit, lambda: len(visit.frames("done")) == 2)
    page.get_by_role("button", name=re.compile("answer that again")).wait_for()
    history = httpx.get(f"{base}/v1/history", headers=server.auth("alice")).json()["turns"]
    assert [t["text"] for t in history].count("My sister Anna lives in Lisbon.") == 1
    assert page.locator(".line--os").last.locator(".line__text").inner_text() == REPLY
    finish(visit)


def test_stop_keeps_what_was_said_and_notices_wait_for_the_reply(
    web: tuple[Server, str], chromium: Any
) -> None:
    server, base = web
    set_up(base, server, "alice")
    server.backend.token_delay_s = 0.3  # slow enough to stop, and to notice mid-reply
    visit = open_visit(chromium, base)
    page = visit.page
    sign_in(visit, server.tokens["alice"])
    page.get_by_label(re.compile("^Message to")).fill("Tell me a long story.")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".shell")).to_have_attribute("data-state", "writing")
    tenant = server.state.tenants.for_account(server.state.accounts.all_accounts()[0])
    tenant.events.publish({"type": "reminder", "message": "Time for your walk."})
    page.wait_for_timeout(600)
    assert page.locator(".notice").count() == 0  # held back while the reply is written
    page.get_by_role("button", name="Stop the reply").click()
    page.get_by_text("Stopped").wait_for()
    page.get_by_text("Time for your walk.").wait_for()
    stored = visit.frames("done")[0]
    assert stored["status"] == "interrupted"
    assert REPLY.startswith(stored["reply"]) and stored["reply"] != REPLY
    finish(visit)


def test_journal_edit_and_forget_a_memory(web: tuple[Server, str], chromium: Any) -> None:
    server, base = web
    set_up(base, server, "alice")
    say(base, server, "alice", "My sister Anna lives in Lisbon.")
    visit = open_visit(chromium, base)
    page = visit.page
    sign_in(visit, server.tokens["alice"])
    page.get_by_role("link", name="Journal").click()
    fact = page.locator(".memory").filter(has_text="Anna")
    fact.wait_for()
    check_screen(visit, "desktop", "journal-memories")

    fact.get_by_role("button", name=re.compile("^Edit memory")).click()
    page.get_by_label(re.compile("^Corrected value of")).fill("Annie")
    page.get_by_role("button", name="Save").click()
    page.locator(".memory").filter(has_text="Annie").wait_for()
    memories = httpx.get(f"{base}/v1/memories", headers=server.auth("alice")).json()["memories"]
    assert [m["text"] for m in memories] == ["Alice sister: Annie"]

    page.get_by_label("Search everything said").fill("Lisbon")
    page.get_by_role("button", name="Search").click()
    said = page.locator(".memory").filter(has_text="lives in Lisbon")
    said.wait_for()
    said.get_by_role("button", name=re.compile("^Forget memory")).click()
    dialog = page.get_by_role("dialog", name="Forget this?")
    check_screen(visit, "desktop", "journal-forget")
    dialog.get_by_role("button", name="Forget").click()
    page.get_by_text("Forgotten.").wait_for()
    auth = server.auth("alice")
    history = httpx.get(f"{base}/v1/history", headers=auth).json()["turns"]
    assert all("Lisbon" not in t["text"] for t in history)
    assert httpx.get(f"{base}/v1/memories", headers=auth).json()["memories"] == []

    page.get_by_role("tab", name="Conversations").click()
    page.get_by_role("button", name=re.compile("^Read the conversation")).first.click()
    page.locator(".said").first.wait_for()
    check_screen(visit, "desktop", "journal-conversations")
    page.get_by_role("tab", name="Conversations").press("ArrowRight")
    page.get_by_role("heading", name="How I have changed").wait_for()
    check_screen(visit, "desktop", "journal-persona")
    finish(visit)


def test_settings_export_voice_and_token(web: tuple[Server, str], chromium: Any) -> None:
    server, base = web
    visit = alice_in_settings(chromium, base, server, f"The password to my diary is {SECRET}.")
    page = visit.page
    page.get_by_role("heading", name="Your data").wait_for()
    check_screen(visit, "desktop", "settings")

    with page.expect_download() as download:
        page.get_by_role("button", name="Export everything").click()
    assert download.value.suggested_filename == "os1-export.jsonl"
    records = [json.loads(line) for line in Path(download.value.path()).read_text().splitlines()]
    assert any(SECRET in json.dumps(r) for r in records)

    page.get_by_role("radio", name="Masculine").check()
    page.get_by_text("masculine voice from now on").wait_for()
    me = httpx.get(f"{base}/v1/me", headers=server.auth("alice")).json()
    assert me["persona"]["voice"] == "masculine"

    page.get_by_role("button", name="Make a new token").click()
    page.get_by_role("dialog").get_by_role("button", name="Make a new token").click()
    new_token = page.locator("#new-token").inner_text()
    assert new_token != server.tokens["alice"]
    assert httpx.get(f"{base}/v1/me", headers=server.auth("alice")).status_code == 401
    assert page.evaluate("localStorage.getItem('os1.token')") == new_token
    finish(visit)


def test_erase_everything_needs_the_account_name(web: tuple[Server, str], chromium: Any) -> None:
    server, base = web
    visit = alice_in_settings(chromium, base, server, f"Remember {SECRET}.")
    page = visit.page
    page.get_by_role("button", name="Erase everything…").click()
    dialog = page.get_by_role("dialog", name="Erase everything?")
    confirm = dialog.get_by_role("button", name="Erase everything")
    assert confirm.is_disabled()
    dialog.get_by_label("Type alice to confirm").fill("alice")
    check_screen(visit, "desktop", "settings-erase")
    confirm.click()
    page.get_by_role("heading", name=re.compile("what would you like me to call you")).wait_for()
    me = httpx.get(f"{base}/v1/me", headers=server.auth("alice")).json()
    assert me["set_up"] is False and me["persona"] is None
    export = httpx.get(f"{base}/v1/export", headers=server.auth("alice")).text
    assert SECRET not in export
    finish(visit)


def test_another_user_sees_none_of_it(web: tuple[Server, str], chromium: Any) -> None:
    server, base = web
    set_up(base, server, "alice")
    say(base, server, "alice", f"My secret word is {SECRET}.")
    set_up(base, server, "bob")
    visit = open_visit(chromium, base)
    page = visit.page
    sign_in(visit, server.tokens["bob"])
    page.get_by_role("log").get_by_text("Hi Bob", exact=False).wait_for()
    seen = [page.locator("body").inner_text()]
    page.get_by_role("link", name="Journal").click()
    page.get_by_label("Search everything said").fill(SECRET)
    with page.expect_response(lambda r: "/v1/memories/search" in r.url) as searched:
        page.get_by_role("button", name="Search").click()
    assert SECRET not in searched.value.text()
    page.wait_for_load_state("networkidle")
    seen.append(page.locator("body").inner_text())
    for tab in ("Conversations", "Who I am"):
        page.get_by_role("tab", name=tab).click()
        page.wait_for_load_state("networkidle")
        seen.append(page.locator("body").inner_text())
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("heading", name="Your data").wait_for()
    seen.append(page.locator("body").inner_text())
    with page.expect_download() as download:
        page.get_by_role("button", name="Export everything").click()
    seen.append(Path(download.value.path()).read_text())
    assert all(SECRET not in text and "alice" not in text for text in seen)
    assert "Signed in as\nbob" in seen[-2]
    finish(visit)


def test_every_screen_on_a_phone(web: tuple[Server, str], chromium: Any) -> None:
    server, base = web
    visit = open_visit(chromium, base, "phone")
    page = visit.page
    page.goto(base + "/")
    check_screen(visit, "phone", "sign-in")
    sign_in(visit, server.tokens["alice"])
    page.get_by_role("heading", name=re.compile("what would you like me to call you")).wait_for()
    check_screen(visit, "phone", "onboarding-question")
    set_up(base, server, "alice")
    say(base, server, "alice", "My sister Anna lives in Lisbon.")
    page.reload()
    page.get_by_role("log").get_by_text(REPLY, exact=True).wait_for()
    check_screen(visit, "phone", "talk")
    page.get_by_role("link", name="Journal").click()
    page.locator(".memory").first.wait_for()
    check_screen(visit, "phone", "journal-memories")
    page.get_by_role("tab", name="Conversations").click()
    page.locator(".session").first.wait_for()
    check_screen(visit, "phone", "journal-conversations")
    page.get_by_role("tab", name="Who I am").click()
    page.locator(".persona").wait_for()
    check_screen(visit, "phone", "journal-persona")
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("heading", name="Your data").wait_for()
    check_screen(visit, "phone", "settings")
    finish(visit)


SPEECH = ROOT.parent / "shared" / "benchdata" / "speech"
SPOKEN_CLIP = "pocketsphinx-goforward.wav"


def microphone_file(folder: Path) -> Path:
    """The clip as Chromium's fake microphone plays it: 48 kHz mono 16-bit, with quiet
    before (the page opens its microphone) and after (so the turn ends on silence)."""
    import numpy as np

    from os1.voice.audio import Audio, load_audio, write_wav

    manifest = [json.loads(line) for line in (SPEECH / "manifest.jsonl").read_text().splitlines()]
    assert any(entry["audio"] == SPOKEN_CLIP for entry in manifest)
    rate = 48_000
    clip = load_audio(SPEECH / SPOKEN_CLIP, rate).samples
    quiet = np.zeros(rate * 2, dtype=np.float32)
    path = folder / "microphone.wav"
    write_wav(path, Audio(np.concatenate([quiet, clip, quiet, quiet]), rate))
    return path


def test_a_spoken_turn_hands_free(web: tuple[Server, str], tmp_path: Path) -> None:
    if not (SPEECH / SPOKEN_CLIP).exists():
        pytest.skip(f"the speech clips are not here ({SPEECH})")
    server, base = web
    set_up(base, server, "alice")
    fake_microphone = (
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-audio-capture={microphone_file(tmp_path)}%noloop",
    )
    with browser(fake_microphone) as chromium:
        visit = open_visit(chromium, base)
        page = visit.page
        sign_in(visit, server.tokens["alice"])
        page.get_by_role("log").get_by_text("Hi Alice", exact=False).wait_for()
        # Every state the orb shows, in order, as the page sets them.
        page.evaluate(
            """() => {
              window.seenStates = [];
              const shell = document.querySelector('.shell');
              new MutationObserver(() => window.seenStates.push(shell.dataset.state))
                .observe(shell, {attributes: true, attributeFilter: ['data-state']});
            }"""
        )
        page.get_by_role("button", name="Hands-free").click()
        expect(page.get_by_role("button", name="Hands-free")).to_have_attribute(
            "aria-pressed", "true"
        )
        wait_until(visit, lambda: bool(visit.frames("turn_end")), timeout_s=60)
        turn = visit.frames("turn_end")[0]
        heard = visit.frames("final_transcript")[0]["text"]
        assert heard and turn["heard"] == heard and turn["error"] is None
        assert visit.frames("partial_transcript") and visit.audio_frames > 0
        assert page.locator(".line--you").last.inner_text().endswith(heard)
        page.locator(".line--os").last.get_by_text(REPLY).wait_for()
        states = page.evaluate("() => window.seenStates")
        assert {"listening", "thinking", "speaking"} <= set(states)
        assert states.index("thinking") < states.index("speaking")
        history = httpx.get(f"{base}/v1/history", headers=server.auth("alice")).json()["turns"]
        assert [t["text"] for t in history[-2:]] == [heard, turn["spoken"]]
        screenshot(visit, "desktop", "talk-voice")
        finish(visit)


def test_a_skills_question_is_answered_in_a_dialog_and_reminders_show_as_notices(
    web: tuple[Server, str], chromium: Any
) -> None:
    server, base = web
    set_up(base, server, "alice")
    auth = server.auth("alice")
    reminder = {"text": "call Amy", "when": "in 2 hours"}
    assert httpx.post(f"{base}/v1/reminders", json=reminder, headers=auth).status_code == 201
    # One due while nobody listened: it is shown, said late, when the page connects.
    tenant = server.state.tenants.for_account(server.state.accounts.all_accounts()[0])
    with tenant.lock:
        tenant.store.agenda.schedule(
            "reminders", "reminder", "water the plants", now() - timedelta(hours=2)
        )
    visit = open_visit(chromium, base)
    page = visit.page
    sign_in(visit, server.tokens["alice"])
    expect(page.locator(".notice").filter(has_text="water the plants")).to_contain_text("late")
    page.get_by_label(re.compile("^Message to")).fill("cancel my reminder to call Amy")
    page.get_by_role("button", name="Send").click()
    dialog = page.get_by_role("dialog")
    dialog.wait_for()
    asked = visit.frames("confirm")[0]
    assert asked["question"] in dialog.inner_text() and "Amy" in asked["question"]
    assert len(httpx.get(f"{base}/v1/reminders", headers=auth).json()["reminders"]) == 1
    dialog.get_by_role("button", name="Yes").click()
    expect(page.locator(".line--you").last).to_contain_text("yes")
    wait_until(
        visit, lambda: not httpx.get(f"{base}/v1/reminders", headers=auth).json()["reminders"]
    )
    history = httpx.get(f"{base}/v1/history", headers=auth).json()["turns"]
    assert history[-2]["text"] == "yes"
    expect(page.locator(".line--os").last).to_contain_text(history[-1]["text"])
    finish(visit)
