"""Stopping an asyncio listener without losing the connections it has just accepted. Standard library only, and
nothing else of qjob_tui: the relay's servers (`server/serving.py`) and the simulator's (`simulator/serve.py`)
both stop this way.

asyncio accepts a connection in one round of the loop, makes its transport in a task of its own the next, and
tells the protocol the round after. On Python 3.11 a listener closed between the first and the second refuses
the new transport (an assertion inside asyncio): the connection is neither served nor closed — its client waits
for nothing — and the half-made transport is found unclosed when it is collected (a ResourceWarning, which fails
whatever test runs then). One closed between the second and the third leaves a connection the server's stop
never saw, open until its idle deadline. So: stop accepting first, let those rounds pass, then close.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

# The rounds from asyncio's accept to the protocol's connection_made (the transport's task, then the call), and
# one to spare.
_ACCEPT_ROUNDS = 3


async def stop_accepting(listeners: Iterable[asyncio.Server]) -> None:
    """Accept no more on `listeners`, and return once every connection they accepted has reached its protocol
    (so that a stop that closes the listeners, then the protocols' connections, misses none)."""
    loop = asyncio.get_running_loop()
    for listener in listeners:
        for sock in listener.sockets:
            loop.remove_reader(sock.fileno())
    for _ in range(_ACCEPT_ROUNDS):
        await asyncio.sleep(0)
