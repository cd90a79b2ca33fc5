"""The ordered-and-bounded scheduler: every frame of a source, in order, through a stylizer to a sink.

This is how ``convert`` runs (the window's live path is the newest-wins scheduler in
:mod:`rtstyle.stream.newest`).  Decoding, stylizing and encoding each keep a CPU core (or the
GPU) busy, so they run as three stages joined by small bounded queues: a decode thread, the
caller's thread (which runs the stylizer, so a model never has to be shared across threads) and
an encode thread.  The queues are bounded to keep memory flat however fast one stage outruns
another.  Whatever fails first -- a corrupt input, the stylizer, a full disk, Ctrl-C -- stops all
three stages and is re-raised to the caller; a file sink then leaves nothing at the destination.
A conversion fixes glibc's threshold for mapping large blocks on their own
(:func:`rtstyle.memory.release_large_blocks`): three threads trading frame-sized buffers would
otherwise leave holes in their heaps (~110 MiB more at 1080p).  The live window does not: the
page faults of freshly mapped buffers cost it half its frame rate at 720p (bench/RESULTS.md).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import av
import numpy as np

from rtstyle.interrupts import interrupts_held
from rtstyle.memory import release_large_blocks
from rtstyle.stream.sinks import VideoSink, open_video_sink
from rtstyle.stream.sources import Source, until_dropped
from rtstyle.video.frames import Frame
from rtstyle.video.reader import VideoReader
from rtstyle.video.writer import EncodeOptions, check_encodable

log = logging.getLogger(__name__)

#: Chunks (batches plus their audio) waiting between two stages.  Two keeps every stage fed
#: while bounding memory to a handful of batches.
_QUEUE_CHUNKS = 2
#: Bytes of frames one queue may hold in waiting chunks.  A chunk of eight 4K frames (the CUDA
#: batch) is 200 MB, and eight chunks are in flight with two per queue (plus one being decoded,
#: two at the stylizer, one being encoded): 1.6 GB of frames.  Such chunks wait one per queue,
#: which still overlaps the three stages.  Single frames up to 4K and batches of 8 up to 1080p
#: keep two.
_QUEUE_BYTES = 128 * 2**20
#: How often a blocked stage looks up to see whether another stage has failed, in seconds.
_POLL_S = 0.1

_T = TypeVar("_T")


@dataclass
class ConvertStats:
    """What a conversion did; ``seconds`` is wall time from the first decode to the last write."""

    frames: int
    seconds: float
    audio_packets: int

    @property
    def fps(self) -> float:
        """Frames converted per second of wall time."""
        return self.frames / self.seconds if self.seconds > 0 else 0.0


@dataclass
class _Chunk:
    """One batch of frames plus the audio packets demuxed since the previous batch."""

    frames: list[Frame]
    audio: list[av.Packet] = field(default_factory=list)


class _Stopped(Exception):
    """Unwinds a stage because another stage failed (its error is the one reported)."""


class _Flow:
    """Shared stop flag, first error and counters of the three stages."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self._lock = threading.Lock()
        # Written by the encode thread only; read by the caller for progress.
        self.frames_written = 0
        self.audio_packets = 0

    def fail(self, exc: BaseException) -> None:
        """Record ``exc`` unless an earlier failure is already recorded, and stop every stage."""
        with self._lock:
            if self.error is None:
                self.error = exc
        self.stop.set()

    def run(self, stage: Callable[..., None], *args: object) -> None:
        """Thread body: run ``stage`` and turn its failure into a stop of the whole flow."""
        try:
            stage(*args)
        except _Stopped:
            pass
        except BaseException as exc:  # re-raised in the caller's thread
            self.fail(exc)

    def put(self, q: queue.Queue[_T], item: _T) -> None:
        """``q.put`` that gives up with ``_Stopped`` once the flow is stopping."""
        while not self.stop.is_set():
            try:
                with interrupts_held():  # not with the queue's lock taken: the other stage needs it
                    q.put(item, timeout=_POLL_S)
                return
            except queue.Full:
                continue
        raise _Stopped

    def get(self, q: queue.Queue[_T]) -> _T:
        """``q.get`` that gives up with ``_Stopped`` once the flow is stopping."""
        while not self.stop.is_set():
            try:
                with interrupts_held():
                    return q.get(timeout=_POLL_S)
            except queue.Empty:
                continue
        raise _Stopped


def convert_stream(
    source: Source,
    sink: VideoSink,
    process: Callable[[np.ndarray], np.ndarray],
    *,
    batch_size: int = 1,
    duration: float | None = None,
    live: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> ConvertStats:
    """Stylize every frame of ``source`` with ``process`` into ``sink``, with its audio.

    ``process`` receives ``uint8 [N, H, W, 3]`` RGB batches of at most ``batch_size`` frames and
    returns ``uint8 [N, H', W', 3]``; the sink takes the size it returns.  Timestamps (variable
    frame rate included) are carried over.  ``duration`` ends the input after that many seconds
    of its own time; a ``live`` source (camera, network stream) that stops delivering ends the
    input with one line instead of failing.  ``on_progress`` gets the number of frames written so
    far; it runs, like ``process``, in the calling thread.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    release_large_blocks()
    items = source.items()
    if live:
        items = until_dropped(items, source.label)
    if duration is not None:
        items = _first_seconds(items, duration)
    stats = _run(items, source.width * source.height * 3, sink, process, batch_size, on_progress)
    log.info("%s: %d frames and %d audio packets in %.1f s (%.1f fps)", sink.label, stats.frames,
             stats.audio_packets, stats.seconds, stats.fps)
    return stats


def convert_video(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    process: Callable[[np.ndarray], np.ndarray],
    *,
    options: EncodeOptions = EncodeOptions(),
    batch_size: int = 1,
    overwrite: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> ConvertStats:
    """File to file: :func:`convert_stream` from ``src`` into ``dst``, written only when complete."""
    with VideoReader(src) as reader:
        check_encodable(dst, options)
        with open_video_sink(str(dst), time_base=reader.time_base, rate=reader.average_rate,
                             audio_streams=reader.audio_streams, options=options, overwrite=overwrite,
                             inputs=[Path(src)]) as sink:
            return convert_stream(reader, sink, process, batch_size=batch_size, on_progress=on_progress)


def _first_seconds(items: Iterator[Frame | av.Packet], duration: float) -> Iterator[Frame | av.Packet]:
    """``items`` up to the first frame ``duration`` seconds after the first one (audio alongside)."""
    start: float | None = None
    with closing(items):  # type: ignore[arg-type]  # a generator: closing releases the source's pass
        for item in items:
            if isinstance(item, Frame) and item.time is not None:
                start = item.time if start is None else start
                if item.time - start >= duration:
                    return
            yield item


def _run(
    items: Iterator[Frame | av.Packet],
    frame_bytes: int,
    sink: VideoSink,
    process: Callable[[np.ndarray], np.ndarray],
    batch_size: int,
    on_progress: Callable[[int], None] | None,
) -> ConvertStats:
    """Run the three stages to completion (or first failure) and report what was written."""
    flow = _Flow()
    depth = queue_depth(frame_bytes, batch_size)
    decoded: queue.Queue[_Chunk | None] = queue.Queue(depth)
    stylized: queue.Queue[_Chunk | None] = queue.Queue(depth)
    threads = [
        threading.Thread(
            target=flow.run,
            args=(_decode, items, batch_size, decoded, flow),
            name="rtstyle-decode",
            daemon=True,
        ),
        threading.Thread(
            target=flow.run,
            args=(_encode, sink, stylized, flow),
            name="rtstyle-encode",
            daemon=True,
        ),
    ]
    started = time.perf_counter()
    reported = 0

    def report() -> None:
        nonlocal reported
        if on_progress is not None and flow.frames_written > reported:
            reported = flow.frames_written
            with interrupts_held():  # a progress bar takes a lock its monitor thread shares
                on_progress(reported)

    running = False
    try:
        with interrupts_held():  # every stage started, or none: the clean-up below joins what runs
            for thread in threads:
                thread.start()
            running = True
        while (chunk := flow.get(decoded)) is not None:
            if chunk.frames:
                chunk = _Chunk(_stylize(process, chunk.frames), chunk.audio)
            flow.put(stylized, chunk)
            report()
        flow.put(stylized, None)
        while threads[1].is_alive():
            threads[1].join(_POLL_S)
            report()
    except _Stopped:
        pass
    except BaseException as exc:  # Ctrl-C included; re-raised below
        flow.fail(exc)
    finally:
        flow.stop.set()
        for thread in threads if running else ():
            thread.join()
    if flow.error is not None:
        raise flow.error
    report()
    return ConvertStats(flow.frames_written, time.perf_counter() - started, flow.audio_packets)


def queue_depth(frame_bytes: int, batch_size: int) -> int:
    """Chunks of ``batch_size`` frames of ``frame_bytes`` each that one queue between stages holds.

    ``_QUEUE_CHUNKS`` where they fit in ``_QUEUE_BYTES``, fewer for large batches of large
    frames, and always at least one (a chunk must be able to pass).  The stylized queue is sized
    from the source frames too: the stylizer returns frames of their size.
    """
    return max(1, min(_QUEUE_CHUNKS, _QUEUE_BYTES // max(1, frame_bytes * batch_size)))


def _decode(
    items: Iterator[Frame | av.Packet], batch_size: int, out: queue.Queue[_Chunk | None], flow: _Flow
) -> None:
    """Decode thread: group frames into batches, each carrying the audio demuxed alongside."""
    chunk = _Chunk([])
    with closing(items):  # type: ignore[arg-type]  # generators: closing ends the source's pass
        for item in items:
            if isinstance(item, Frame):
                chunk.frames.append(item)
                if len(chunk.frames) == batch_size:
                    flow.put(out, chunk)
                    chunk = _Chunk([])
            else:
                chunk.audio.append(item)
    if chunk.frames or chunk.audio:
        flow.put(out, chunk)
    flow.put(out, None)


def _stylize(process: Callable[[np.ndarray], np.ndarray], frames: list[Frame]) -> list[Frame]:
    """Run ``process`` on one batch and re-attach each frame's timestamp to its result."""
    result = process(np.stack([frame.rgb for frame in frames]))
    if (
        not isinstance(result, np.ndarray)
        or result.dtype != np.uint8
        or result.ndim != 4
        or result.shape[0] != len(frames)
        or result.shape[3] != 3
        or 0 in result.shape
    ):
        got = f"{result.dtype} {result.shape}" if isinstance(result, np.ndarray) else type(result)
        raise ValueError(f"process must return uint8 [{len(frames)}, H, W, 3], got {got}")
    result = np.ascontiguousarray(result)
    return [Frame(rgb, frame.pts, frame.time_base) for rgb, frame in zip(result, frames)]


def _encode(sink: VideoSink, source: queue.Queue[_Chunk | None], flow: _Flow) -> None:
    """Encode thread: write every stylized chunk (the sink opens its encoder at the first frame)."""
    while (chunk := flow.get(source)) is not None:
        for packet in chunk.audio:
            sink.mux_audio(packet)
            flow.audio_packets += 1
        for frame in chunk.frames:
            sink.write(frame)
        flow.frames_written += len(chunk.frames)
