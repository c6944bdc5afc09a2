"""The fake TTS servers' voice: deterministic speech, its alignment, what was seen.

Every received character -- spaces and ElevenLabs' leading ``" "`` included -- is
spoken for ``char_ms`` milliseconds. Each sample holds ``1 +`` the number of the
utterance's received characters fully spoken by the end of that sample (like
:class:`~trioagents.testing.FakeTTS`), so a test can read from the audio itself
how far the speech had got at the end of any frame. A generation (a piece of text
the server decided to speak) goes out as messages of ``message_ms`` of audio
(the server's generations are spoken in the order received);
``odd_bytes`` makes their byte lengths odd (alternately one more and one less),
so samples straddle messages.

:class:`TTSUtterance` records one utterance as the server saw it -- the text
received, the alignment it sent as ``timeline`` (``(seconds, chars)``: by that time
the speech had reached that offset of ``received``; per character for ElevenLabs,
per word for Cartesia, offsets at the end of the word's token), when the cancel
arrived -- and :class:`TTSSession` one connection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._tts_faults import TTSFault
from ._websocket_fake import WebSocketSession

__all__ = ["FakeTTSOptions", "FakeVoice", "TTSSession", "TTSUtterance", "VoiceMessage"]


@dataclass(frozen=True, slots=True)
class FakeTTSOptions:
    """How the fake TTS servers speak.

    ``api_key``: the key the auth header must hold (None: any). ``pace``: audio is
    sent at this multiple of real time (None: as fast as the socket takes it), so a
    barge-in can land mid-generation. ``timestamps_first`` (Cartesia): word
    timestamps before the audio they describe (default: after, as a lagging
    aligner would).
    """

    api_key: str | None = None
    char_ms: int = 60
    message_ms: int = 200
    odd_bytes: bool = False
    pace: float | None = None
    timestamps_first: bool = False


@dataclass(slots=True)
class VoiceMessage:
    """One audio message: its PCM, start, and the characters starting in it
    (``(index, start, end)``: their index in the utterance's received text, seconds
    from the utterance's first sample)."""

    pcm: bytes
    start: float
    chars: list[tuple[int, float, float]]


@dataclass(slots=True)
class TTSUtterance:
    """One utterance (context) as the fake server saw it."""

    context_id: str | None
    opened_at: float
    received: str = ""
    init_text: str = ""  # ElevenLabs' first message (" "): received, spoken, not ours
    settings: dict[str, Any] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    timeline: list[tuple[float, int]] = field(default_factory=list)
    audio_bytes: int = 0
    ended: bool = False  # the end of input arrived
    done_at: float | None = None
    cancelled_at: float | None = None
    cancelled_by: str | None = None  # "message" (cancel, close_context) or "disconnect"

    @property
    def text(self) -> str:
        """What the client pushed (the received text without the init text)."""
        return self.received[len(self.init_text) :]


@dataclass(slots=True)
class TTSSession(WebSocketSession[TTSFault]):
    """One connection as the server saw it (``index``, ``path``, ``query``,
    ``headers``, ``opened_at``, ``fault``, ``refused``, ``sent``, ``audio_bytes``
    -- here the audio *sent* --, ``ended_at``, ``ended_by``: the record every fake
    keeps); ``messages`` are the client's, parsed, in order."""

    utterances: list[TTSUtterance] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    sample_rate: int = 24000

    @property
    def audio_seconds(self) -> float:
        return self.audio_bytes / 2 / self.sample_rate

    def utterance(self, context_id: str | None, now: float) -> TTSUtterance:
        """The open utterance named ``context_id``, opened now if there is none."""
        for utterance in reversed(self.utterances):
            if utterance.context_id == context_id and utterance.done_at is None:
                return utterance
        utterance = TTSUtterance(context_id, now)
        self.utterances.append(utterance)
        return utterance


class FakeVoice:
    """Speaks one utterance, generation by generation (see module docs)."""

    def __init__(self, sample_rate: int, options: FakeTTSOptions) -> None:
        self._rate = sample_rate
        self._options = options
        self._chars = 0  # characters spoken so far
        self._samples = 0

    def speak(self, text: str) -> list[VoiceMessage]:
        per_char = self._rate * self._options.char_ms // 1000
        start_sample, first = self._samples, self._chars
        values = np.repeat(np.arange(first + 1, first + len(text) + 1), per_char)
        values[per_char - 1 :: per_char] += 1  # a character is spoken by its last sample
        pcm = np.minimum(values, 32767).astype("<i2").tobytes()
        duration = per_char / self._rate
        begins = [(start_sample + i * per_char) / self._rate for i in range(len(text))]
        chars = [(first + i, at, at + duration) for i, at in enumerate(begins)]
        self._chars += len(text)
        self._samples += len(text) * per_char
        return self._split(pcm, start_sample / self._rate, chars)

    def _split(
        self, pcm: bytes, start: float, chars: list[tuple[int, float, float]]
    ) -> list[VoiceMessage]:
        size = 2 * (self._rate * self._options.message_ms // 1000)
        messages: list[VoiceMessage] = []
        offset, odd = 0, self._options.odd_bytes
        while offset < len(pcm):
            length = size + (1 if odd and not len(messages) % 2 else -1 if odd else 0)
            piece = pcm[offset : offset + length]
            begin = start + offset / 2 / self._rate
            end = start + (offset + len(piece)) / 2 / self._rate
            mine = [c for c in chars if begin - 1e-9 <= c[1] < end - 1e-9]
            messages.append(VoiceMessage(piece, begin, mine))
            offset += len(piece)
        return messages
