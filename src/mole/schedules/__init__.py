"""Schedules: the order in which modules learn."""
from __future__ import annotations

from ..validation import choose
from .asynchronous import AsynchronousSchedule
from .base import Schedule
from .sequential import SequentialSchedule
from .simultaneous import SimultaneousSchedule

#: every schedule by name (``--schedule``), built by :func:`schedule_resolver`
SCHEDULES: dict[str, type[Schedule]] = {cls.name: cls for cls in (SequentialSchedule, SimultaneousSchedule,
                                                                  AsynchronousSchedule)}


def schedule_resolver(name: str | Schedule, config=None) -> Schedule:
    """A schedule by registered name, built from a TrainConfig's settings (e.g. ``workers``) if given."""
    if isinstance(name, Schedule):
        return name
    cls = SCHEDULES[choose("schedule", name, SCHEDULES)]
    return cls.from_config(config) if config is not None else cls()


__all__ = ["SCHEDULES", "AsynchronousSchedule", "Schedule", "SequentialSchedule", "SimultaneousSchedule", "schedule_resolver"]
