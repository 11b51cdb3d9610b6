"""A long chat folds the exchanges far above the view and nothing on screen shows it: the same
rows at every scroll position as with every exchange laid out, the same scrollbar, folds opened
before they come into view, and after a resize, a new turn or a cleared chat."""

from __future__ import annotations

from pathlib import Path

from pilot_helpers import drive, screen_text, settle
from test_chat_screen import open_chat, send, shown, with_teacher
from textual.pilot import Pilot
from textual.scrollbar import ScrollBar
from textual.widget import Widget

from magitui.app import MagituiApp
from magitui.screens.chat.chat_log import ChatLog
from magitui.screens.chat.screen import ChatScreen
from magitui_core.chat.client import ChatSettings, Conversation
from tests.chat.scripted_server import Script, scripted_server

SIZE = (100, 30)


def answer(index: int) -> str:
    """Answers of varied shapes and lengths: prose, lists, code, a heading every third."""
    parts = [f"Answer {index}: " + "words " * (5 + 17 * (index % 4))]
    if index % 3 == 0:
        parts.insert(0, f"## Part {index}")
    if index % 2:
        parts.append("\n".join(f"- item {index}.{n}" for n in range(1 + index % 5)))
    parts.append(f"```python\ndef f_{index}():\n" + "    pass\n" * (1 + index % 6) + "```")
    return "\n\n".join(parts)


def transcript(
    folder: Path, turns: int, base_url: str = "http://127.0.0.1:9/v1", model: str = "saved-model"
) -> Path:
    conversation = Conversation(ChatSettings(base_url, model))
    for index in range(turns):
        conversation.turns.append({"role": "user", "content": f"Question {index}"})
        conversation.turns.append({"role": "assistant", "content": answer(index)})
    return conversation.save(folder / "long.json")


async def settled(pilot: Pilot[None]) -> None:
    for _ in range(3):  # folding waits for the layout after a scroll; then the layout again
        await settle(pilot)


async def load(pilot: Pilot[None], path: Path) -> tuple[ChatScreen, ChatLog]:
    """The chat pane with the transcript at PATH loaded and laid out."""
    screen = await open_chat(pilot)
    await screen.load_transcript(path)
    await settled(pilot)
    return screen, screen.query_one(ChatLog)


def view(screen: ChatScreen) -> tuple[str, int, float]:
    log = screen.query_one(ChatLog)
    return screen_text(screen.app), log.virtual_size.height, log.scroll_y


async def unfolded_view(pilot: Pilot[None], screen: ChatScreen) -> tuple[str, int, float]:
    """The same place with every exchange laid out (what the log showed before it folded)."""
    log = screen.query_one(ChatLog)
    log.unfold_all()
    await settle(pilot)
    return view(screen)


async def folded_view(pilot: Pilot[None], screen: ChatScreen) -> tuple[str, int, float]:
    log = screen.query_one(ChatLog)
    step = 1 if log.scroll_y < 1 else -1
    for y in (log.scroll_y + step, log.scroll_y):  # a scroll, there and back, folds again
        log.scroll_to(y=y, animate=False, immediate=True)
        await settled(pilot)
    return view(screen)


def test_a_long_chat_folds_far_above_and_every_row_stays_where_it_was(tmp_path: Path) -> None:
    path = transcript(tmp_path, 40)

    async def scenario(pilot: Pilot[None]) -> None:
        screen, log = await load(pilot, path)
        exchanges = screen.exchanges()
        assert len(exchanges) == 40
        # At the end of the log, most of the chat is folded: not laid out, not in the frame.
        assert len(log.folded) >= 30
        assert log.folded == exchanges[: len(log.folded)]
        assert all(not exchange.display for exchange in log.folded)
        at_end = view(screen)
        assert "Answer 39" in at_end[0]
        assert at_end == await unfolded_view(pilot, screen)
        # Up in steps of two pages and a half: no frame shows the fold, each shows what the
        # unfolded log does.
        assert (await folded_view(pilot, screen)) == at_end
        heights = set()
        while log.scroll_y > 0:
            log.scroll_to(y=max(0, log.scroll_y - 60), animate=False, immediate=True)
            await settled(pilot)
            fold = log.query_one(".chat-fold")
            assert not fold.display or fold.virtual_region.bottom <= log.scroll_y
            here = view(screen)
            heights.add(here[1])
            assert here == await unfolded_view(pilot, screen), f"at row {log.scroll_y}"
            assert (await folded_view(pilot, screen)) == here
        assert heights == {at_end[1]}  # the scrollbar never changed size
        assert log.folded == [] and "Question 0" in screen_text(pilot.app)
        # Back down with End: folded again.
        await pilot.press("end")
        await settled(pilot)
        assert len(log.folded) >= 30 and view(screen) == at_end

    drive(MagituiApp(), scenario, size=SIZE)


def test_a_resize_measures_the_folds_again(tmp_path: Path) -> None:
    path = transcript(tmp_path, 30)

    async def scenario(pilot: Pilot[None]) -> None:
        screen, log = await load(pilot, path)
        wide = len(log.folded)
        assert wide >= 20
        unfolded_height = (await unfolded_view(pilot, screen))[1]
        await folded_view(pilot, screen)
        await pilot.resize_terminal(60, 30)  # narrower: every answer wraps onto more rows
        await settled(pilot)
        await pilot.press("end")
        await settled(pilot)
        assert log.folded
        narrow = view(screen)
        assert narrow == await unfolded_view(pilot, screen)
        assert narrow[1] > unfolded_height and "f_29" in narrow[0]
        # Half-way up, too.
        log.scroll_to(y=log.max_scroll_y // 2, animate=False, immediate=True)
        await settled(pilot)
        assert log.folded
        middle = view(screen)
        assert middle == await unfolded_view(pilot, screen)

    drive(MagituiApp(), scenario, size=SIZE)


def test_a_new_turn_and_a_cleared_chat_after_folding(tmp_path: Path, write_config) -> None:  # type: ignore[no-untyped-def]
    with scripted_server(Script(["Fresh", " answer"])) as server:
        with_teacher(write_config, server.base_url, "scripted")
        path = transcript(tmp_path, 30, server.base_url, "scripted")  # it goes on there

        async def scenario(pilot: Pilot[None]) -> None:
            screen, log = await load(pilot, path)
            assert log.folded
            await send(pilot, screen, "One more")
            await settled(pilot)
            last = screen.exchanges()[-1]
            assert last.user_text == "One more" and shown(last.answers[0]) == "Fresh answer"
            assert last not in log.folded and "Fresh answer" in screen_text(pilot.app)
            after_turn = view(screen)
            assert after_turn == await unfolded_view(pilot, screen)
            # A new chat drops the folds with the exchanges.
            await pilot.press("escape", "x", "y")
            await settled(pilot)
            assert screen.exchanges() == [] and log.folded == []
            assert not log.query_one(".chat-fold").display
            assert "No messages yet" in screen_text(pilot.app)

        drive(MagituiApp(), scenario, size=SIZE)


def test_moving_the_focus_restyles_the_log_not_every_answer_in_it(tmp_path: Path) -> None:
    path = transcript(tmp_path, 40)

    async def scenario(pilot: Pilot[None]) -> None:
        _, log = await load(pilot, path)
        widgets = len(list(log.walk_children()))
        assert widgets > 600
        stylesheet = pilot.app.stylesheet
        styled: list[object] = []
        real_apply = stylesheet.apply

        def counting_apply(node, *args, **kwargs):  # type: ignore[no-untyped-def]
            styled.append(node)
            return real_apply(node, *args, **kwargs)

        stylesheet.apply = counting_apply  # type: ignore[method-assign]
        for key, focused in (("enter", "chat-input"), ("escape", "chat-log")) * 2:
            styled.clear()
            await pilot.press(key)
            await settle(pilot)
            assert pilot.app.focused is not None and pilot.app.focused.id == focused
            assert log in styled  # its own focus rules still apply, as it gains or loses it
            inside = [
                node
                for node in styled
                if isinstance(node, Widget)
                and log in node.ancestors
                and not isinstance(node, ScrollBar)
            ]
            assert not inside, f"{key}: {len(inside)} of the log's {widgets} widgets restyled"

    drive(MagituiApp(), scenario, size=SIZE)


def test_turns_sent_one_after_another_fold_what_they_push_far_up(write_config) -> None:  # type: ignore[no-untyped-def]
    # No loaded chat and no scrolling by hand: the log follows each answer to its end (it moves
    # the view without a scroll event), and what the answers push far up is folded all the same.
    lines = [f"Line {n} of a long answer." for n in range(40)]
    with scripted_server(
        Script(["\n\n".join(lines[:20]), "\n\n", "\n\n".join(lines[20:])])
    ) as server:
        with_teacher(write_config, server.base_url, "scripted")

        async def scenario(pilot: Pilot[None]) -> None:
            screen = await open_chat(pilot)
            for turn in range(4):
                await send(pilot, screen, f"Turn {turn}")
            await settled(pilot)
            log = screen.query_one(ChatLog)
            exchanges = screen.exchanges()
            assert [e.user_text for e in exchanges] == [f"Turn {n}" for n in range(4)]
            assert log.folded and log.folded == exchanges[: len(log.folded)]
            assert log.scroll_y == log.max_scroll_y and "Line 39" in screen_text(pilot.app)
            assert view(screen) == await unfolded_view(pilot, screen)

        drive(MagituiApp(), scenario, size=SIZE)
