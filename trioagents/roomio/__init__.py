"""Layer 6: the voice session in a LiveKit room.

Room audio in → the session's VAD/STT; the session's speech → a published track;
``lk.chat`` text from the linked participant → user turns;
transcriptions out as ``lk.transcription`` text streams; the agent state mirrored in
the ``lk.agent.state`` attribute. Kept out of ``trioagents.voice`` so that importing
the voice layer does not load aiortc and PyAV.
"""

from ._linked_audio import LinkedAudioInput as LinkedAudioInput
from ._room_io import RoomAudioOutput as RoomAudioOutput
from ._room_io import RoomIO as RoomIO
from ._room_io import TextInputCallback as TextInputCallback
from ._room_io import TextInputEvent as TextInputEvent
from ._room_io import default_text_input as default_text_input
from ._room_io import open_room_audio_input as open_room_audio_input
from ._room_io import open_room_io as open_room_io
from ._room_io import start_in_room as start_in_room
from ._text_output import RoomTextOutput as RoomTextOutput

__all__ = [
    "LinkedAudioInput",
    "RoomAudioOutput",
    "RoomIO",
    "RoomTextOutput",
    "TextInputCallback",
    "TextInputEvent",
    "default_text_input",
    "open_room_audio_input",
    "open_room_io",
    "start_in_room",
]
