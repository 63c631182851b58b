"""Schedules: the order in which modules learn."""
from __future__ import annotations

from ..validation import choose
from .base import Schedule
from .sequential import SequentialSchedule
from .simultaneous import SimultaneousSchedule

SCHEDULES: dict[str, type[Schedule]] = {cls.name: cls for cls in (SequentialSchedule, SimultaneousSchedule)}


def schedule_resolver(name: str | Schedule) -> Schedule:
    if isinstance(name, Schedule):
        return name
    return SCHEDULES[choose("schedule", name, SCHEDULES)]()


__all__ = ["SCHEDULES", "Schedule", "SequentialSchedule", "SimultaneousSchedule", "schedule_resolver"]
