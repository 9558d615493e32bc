"""``cupy.cuda`` of the stand-in: one device; events and streams are complete as soon as they exist
(the host build runs each launch to the end before returning)."""

from __future__ import annotations

import os
from typing import Any

from cupy.cuda import nvrtc, runtime

__all__ = ["Device", "Event", "Stream", "get_current_stream", "get_elapsed_time", "is_available", "nvrtc", "runtime"]


class Event:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.done = False

    def record(self, stream: Any = None) -> None:
        self.done = True

    def synchronize(self) -> None:
        pass

    def query(self) -> bool:
        return True


class Stream:
    null: Stream

    def __init__(self, null: bool = False, non_blocking: bool = False, ptds: bool = False) -> None:
        self.ptr = 0

    def synchronize(self) -> None:
        pass

    def wait_event(self, event: Event) -> None:
        pass

    def use(self) -> Stream:
        return self

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc: Any) -> None:
        pass


Stream.null = Stream(null=True)


def get_current_stream() -> Stream:
    return Stream.null


def get_elapsed_time(start: Event, end: Event) -> float:
    return 0.0


class Device:
    def __init__(self, device: int | None = None) -> None:
        self.id = int(device or 0)
        if self.id >= runtime.getDeviceCount():
            raise runtime.CUDARuntimeError(f"cudaErrorInvalidDevice: invalid device ordinal {self.id}")

    @property
    def compute_capability(self) -> str:
        return "90"

    @property
    def mem_info(self) -> tuple[int, int]:
        return runtime.memGetInfo()

    def synchronize(self) -> None:
        pass

    def use(self) -> None:
        pass

    def __enter__(self) -> Device:
        return self

    def __exit__(self, *exc: Any) -> None:
        pass


def is_available() -> bool:
    return os.environ.get("GPUQD_CUPY_STANDIN_DEVICES", "1") != "0"
