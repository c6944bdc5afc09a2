"""Hypothesis properties: speech from inside a tool × barge-in × close × handoff.

Run in virtual time (60 examples) and on the real clock (5 examples, a faster TTS,
the OS's scheduling jitter).

Each example: the user asks, the LLM calls a tool, the tool says a few hold messages
(random lengths and priorities, some awaited, some not, with work in between), then
may hand the caller to another agent; the user may barge in and the session may
close, each at a random instant. Checks:

* I1: no frame reaches the sink while the speech playing, or the turn it is nested
  in, is interrupted or done, nor after close;
* every await of a hold message ends (returned, or the tool cancelled with its turn)
  within a bound of the turn's cut; the session closes within its close bound;
* nothing the cut turn scheduled after the cut is heard; the chat context holds,
  in order, exactly the words the played audio contained.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trioagents.core import AudioFrame, LLMToolCall
from trioagents.testing import (
    FakeAudioInput,
    FakeAudioOutput,
    FakeLLM,
    FakeSTT,
    FakeTTS,
    FakeVAD,
    LLMScript,
    Timeline,
    UserSpeech,
)
from trioagents.voice import (
    Agent,
    AgentSession,
    RunContext,
    SessionOptions,
    SpeechHandle,
    SpeechPriority,
    function_tool,
)

from .harness import heard_text_from_audio

GRACE = 0.5
LOOKUP = LLMToolCall(call_id="c1", name="lookup", arguments="{}")
FINAL = "All set, your table is booked."
ANSWER = "Okay, stopping."
DESK = "Desk here, how can I help?"
WORDS = [
    "please",
    "hold",
    "while",
    "I",
    "look",
    "that",
    "up",
    "for",
    "you",
    "in",
    "our",
    "booking",
    "system",
]


@dataclass
class Hold:
    text: str
    awaited: bool
    work: float
    priority: int
    handle: SpeechHandle | None = None
    made_at: float = 0.0
    left_at: float | None = None  # the await ended (returned or cancelled)


@dataclass
class Watch:
    session: AgentSession[None] | None = None
    violations: list[str] = field(default_factory=list)
    cut_at: float | None = None
    segment_speech: dict[int, SpeechHandle] = field(default_factory=dict)


class WatchedOutput(FakeAudioOutput):
    def __init__(self, watch: Watch) -> None:
        super().__init__()
        self.watch = watch

    def capture_frame(self, frame: AudioFrame) -> None:
        session = self.watch.session
        assert session is not None
        playing = session._activity.interruptions.current if session._activity else None
        chain = []
        while playing is not None:
            chain.append(playing)
            playing = playing.parent
        if not chain or any(s.interrupted or s.done() for s in chain):
            self.watch.violations.append(f"frame accepted at {trio.current_time()}")
        else:
            self.watch.segment_speech.setdefault(len(self.segments), chain[0])
        if session.close_reason is not None:
            self.watch.violations.append("frame accepted after close")
        super().capture_frame(frame)


class Holder(Agent):
    def __init__(self, holds: list[Hold], watch: Watch) -> None:
        super().__init__(instructions="hold test")
        self.holds = holds
        self.watch = watch

    @function_tool
    async def lookup(self, context: RunContext[None]) -> str:
        """Looks up a table, telling the caller to hold on."""
        await self.hold_on(context)
        return "booked"

    async def hold_on(self, context: RunContext[None]) -> None:
        context.speech_handle.on_interrupt(self._cut)
        for hold in self.holds:
            hold.handle = context.session.say(hold.text, priority=hold.priority)
            hold.made_at = trio.current_time()
            if hold.awaited:
                try:
                    await hold.handle
                finally:
                    hold.left_at = trio.current_time()
            await trio.sleep(hold.work)

    def _cut(self) -> None:
        if self.watch.cut_at is None:
            self.watch.cut_at = trio.current_time()


class HandingHolder(Holder):
    """Holds on, then hands the caller to the desk (a handoff decided in the tool)."""

    @function_tool
    async def lookup(self, context: RunContext[None]) -> tuple[Desk, str]:
        """Looks up a table, then passes the caller on."""
        await self.hold_on(context)
        return Desk(), "passed on"


class Desk(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="desk")

    async def on_enter(self) -> None:
        self.session.say(DESK)


@st.composite
def holds(draw: st.DrawFn, work: tuple[float, ...] = (0.0, 0.3, 1.5)) -> list[Hold]:
    out = []
    for i in range(draw(st.integers(1, 4))):
        words = draw(st.integers(1, len(WORDS)))
        out.append(
            Hold(
                text=f"{i}: " + " ".join(WORDS[:words]) + ".",
                awaited=draw(st.booleans()),
                work=draw(st.sampled_from(work)),
                priority=draw(st.sampled_from([SpeechPriority.NORMAL, SpeechPriority.HIGH])),
            )
        )
    return out


@dataclass
class Example:
    plan: list[Hold]
    ttfb: float
    barge_in: float | None
    close_at: float
    handoff: bool
    chars_per_second: float = 16.0
    slack: float = 1e-6  # real time: scheduling noise allowed on the bounds


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    plan=holds(),
    ttfb=st.floats(0.0, 0.4),
    barge_in=st.none() | st.floats(1.6, 9.0),
    close_at=st.floats(2.0, 16.0),
    handoff=st.booleans(),
)
async def test_nested_speech_under_barge_in_and_close(
    autojump_clock: trio.testing.MockClock,
    plan: list[Hold],
    ttfb: float,
    barge_in: float | None,
    close_at: float,
    handoff: bool,
) -> None:
    await check(Example(plan, ttfb, barge_in, close_at, handoff))


@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    plan=holds(work=(0.0, 0.05, 0.3)),
    ttfb=st.floats(0.0, 0.1),
    barge_in=st.none() | st.floats(1.6, 3.5),
    close_at=st.floats(2.0, 5.0),
    handoff=st.booleans(),
)
async def test_nested_speech_in_real_time(
    plan: list[Hold], ttfb: float, barge_in: float | None, close_at: float, handoff: bool
) -> None:
    """The same properties on the real clock: OS scheduling jitter, a faster TTS."""
    example = Example(plan, ttfb, barge_in, close_at, handoff, chars_per_second=64.0)
    example.slack = 0.05
    await check(example)


async def check(example: Example) -> None:
    plan, handoff, slack = example.plan, example.handoff, example.slack
    watch = Watch()
    segments = [UserSpeech(0.5, 1.5, "book")]
    if example.barge_in is not None:
        at = round(example.barge_in, 2)
        segments.append(UserSpeech(at, at + 1.0, "stop it now"))
    timeline = Timeline(segments, tail=20.0)
    llm = FakeLLM(
        {"book": [LLMScript("", tool_calls=[LOOKUP]), LLMScript(FINAL)]},
        default=LLMScript(ANSWER),
    )
    tts = FakeTTS(ttfb=example.ttfb, chars_per_second=example.chars_per_second)
    stt, vad = FakeSTT(timeline), FakeVAD()
    output = WatchedOutput(watch)
    session: AgentSession[None] = AgentSession(
        stt=stt, llm=llm, tts=tts, vad=vad, options=SessionOptions(close_grace=GRACE)
    )
    watch.session = session
    start = trio.current_time()
    async with session.start(
        (HandingHolder if handoff else Holder)(plan, watch),
        audio_input=FakeAudioInput(timeline),
        audio_output=output,
    ):
        await trio.sleep_until(start + example.close_at)
        closing = trio.current_time()
    assert trio.current_time() - closing <= 3 * GRACE + slack
    assert watch.violations == []
    for tracker in (llm.streams, tts.streams, stt.streams, vad.streams):
        assert tracker.all_closed()

    cut = watch.cut_at
    made = [h for h in plan if h.handle is not None]
    for hold in made:
        assert hold.handle is not None
        assert hold.handle.done(), "every speech ends, played or cut"
        if hold.awaited:
            assert hold.left_at is not None, "an await of a hold never ended"
            if cut is not None:  # waiting at the cut, or after it: released within the bound
                assert hold.left_at <= max(cut, hold.made_at) + 2 * GRACE + slack

    # the chat context, in order, is what the played audio contained
    messages = [m for m in session.history.messages() if m.role == "assistant"]
    sources = {id(h.handle): h.text for h in made}
    heard = []
    for index, segment in enumerate(output.segments):
        if not segment.markers:
            continue
        speech = watch.segment_speech[index]
        source = sources.get(id(speech)) or _reply_text(speech, made)
        heard.append(heard_text_from_audio(source, segment.markers))
    assert [m.content for m in messages] == [h for h in heard if h]
    said = [m.content for m in messages]
    if handoff and DESK in said:  # the desk speaks after every hold; the old turn is over
        held = [i for i, text in enumerate(said) if text[:1].isdigit()]
        assert all(i < said.index(DESK) for i in held)
        assert FINAL not in said
    # a hold created after its turn was cut is never heard
    if cut is not None:
        late = {h.text for h in made if h.handle is not None and h.handle.interrupted}
        heard_in_full = {m.content for m in messages if not m.interrupted}
        assert not late & heard_in_full


def _reply_text(speech: SpeechHandle, made: list[Hold]) -> str:
    """What a speech that is not a hold says."""
    if speech.source == "say":
        return DESK  # the desk's on_enter
    if any(h.handle is not None and h.handle.parent is speech for h in made):
        return FINAL  # the turn the holds were nested in
    return ANSWER
