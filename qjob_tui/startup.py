"""A face's start-up without garbage collections: held from the settings on, resumed once the face is up.

Starting the dashboard imports about 700 modules and builds its widgets; meanwhile Python's collector ran
about 250 times, three of them full passes over every object, all of which live as long as the process:
measured, 55 ms of CPU before the first frame and 120 ms before the states of 1,000 jobs show (a bare
Textual table's whole first paint is about 280 ms). So the entry holds collections (`hold_collections`,
`cli.main` before it loads the settings) and the face says when it is up (`started`: the dashboard once its
first frame is drawn, the relay before it serves). Then what the start-up made moves to the permanent
generation (`gc.freeze`: no later collection walks it again) and collections resume.

A process that did not hold them is left as it is: the tests build dashboards in one long process. A start
that ends before its face is up (a config error) resumes them without freezing anything
(`resume_collections`).
"""

from __future__ import annotations

import gc

_held = False  # the process's collector is off because of hold_collections, until started()


def hold_collections() -> None:
    """No garbage collection until `started()`."""
    global _held
    if gc.isenabled():
        gc.disable()
        _held = True


def started() -> None:
    """The face is up: what exists now is frozen, and collections resume. Does nothing unless held."""
    if _held:
        gc.freeze()
        resume_collections()


def resume_collections() -> None:
    """Collections as usual again, nothing frozen (a start that ended before its face was up). Does nothing
    unless held."""
    global _held
    if _held:
        _held = False
        gc.enable()
