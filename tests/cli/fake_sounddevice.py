"""A stand-in for the ``sounddevice`` module: PortAudio's callback threads, no hardware.

Each started stream runs a real thread that calls the stream's callback once per
block, paced at the block's duration of real time, as PortAudio does (this is a
device's clock, not a test waiting for something). The input thread delivers the
blocks a test queued with :meth:`FakeSoundDevice.speak` (silence when none is
queued); the output thread records every block the callback filled. ``abort`` /
``close`` stop the thread; everything is recorded for assertions.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

import numpy as np


class PortAudioError(Exception):
    pass


class _Stream:
    def __init__(
        self,
        device_module: FakeSoundDevice,
        *,
        samplerate: int,
        blocksize: int,
        channels: int,
        dtype: str,
        device: Any,
        callback: Any,
    ) -> None:
        assert (channels, dtype) == (1, "int16")
        self.samplerate, self.blocksize, self.device = samplerate, blocksize, device
        self.callback = callback
        self.started = self.aborted = self.closed = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._module = device_module

    def start(self) -> None:
        self.started = True
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        period = self.blocksize / self.samplerate
        while not self._stop.wait(period):
            self._block()

    def _block(self) -> None:
        raise NotImplementedError

    def abort(self) -> None:
        self.aborted = True
        self._stop.set()
        if self._thread is not None:
            self._thread.join()  # PortAudio returns once the callback has returned

    def close(self) -> None:
        self._stop.set()
        self.closed = True


class InputStream(_Stream):
    def _block(self) -> None:
        queued = self._module.microphone_blocks
        block = queued.popleft() if queued else np.zeros(self.blocksize, dtype=np.int16)
        self.callback(block.reshape(-1, 1), self.blocksize, None, None)


class OutputStream(_Stream):
    def _block(self) -> None:
        out = np.full((self.blocksize, 1), -1, dtype=np.int16)  # garbage, as a real buffer
        self.callback(out, self.blocksize, None, None)
        self._module.played.append(out[:, 0].copy())


class FakeSoundDevice:
    """Pass where the console expects the ``sounddevice`` module."""

    PortAudioError = PortAudioError

    def __init__(self, *, has_devices: bool = True) -> None:
        self.has_devices = has_devices
        self.streams: list[_Stream] = []
        self.microphone_blocks: deque[np.ndarray] = deque()
        self.played: deque[np.ndarray] = deque()  # appended by the output thread

    def query_devices(self, device: Any = None, kind: str | None = None) -> Any:
        if not self.has_devices:
            raise PortAudioError(f"Error querying device {device}")
        return {"name": f"fake {kind}", "max_input_channels": 1, "max_output_channels": 1}

    def InputStream(self, **options: Any) -> InputStream:
        stream = InputStream(self, **options)
        self.streams.append(stream)
        return stream

    def OutputStream(self, **options: Any) -> OutputStream:
        stream = OutputStream(self, **options)
        self.streams.append(stream)
        return stream

    def speak(self, samples: np.ndarray, blocksize: int) -> None:
        """Queue ``samples`` for the microphone, cut into device blocks."""
        for start in range(0, samples.size, blocksize):
            block = np.zeros(blocksize, dtype=np.int16)
            chunk = samples[start : start + blocksize]
            block[: chunk.size] = chunk
            self.microphone_blocks.append(block)

    def played_samples(self) -> np.ndarray:
        blocks = list(self.played)
        return np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.int16)
