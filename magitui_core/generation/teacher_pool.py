"""Several endpoints serving the same teacher, used as one.

Each request goes to the endpoint with the most free capacity (its adaptive
limit minus the requests already given to it), so a server that slows down or
rate-limits gets less. An endpoint that fails fatally (unreachable, bad key)
is dropped and its request goes to another; only when none is left is the run
stopped. With one endpoint this is the plain client.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from magitui_core.generation.teacher import Completion, TeacherClient, TeacherFatal


class TeacherPool:
    def __init__(
        self, clients: list[TeacherClient], on_warning: Callable[[str, str], None] | None = None
    ) -> None:
        if not clients:
            raise ValueError("a teacher pool needs at least one endpoint")
        self.clients = list(clients)
        self.live = list(clients)
        self._assigned: dict[int, int] = {id(c): 0 for c in clients}
        self._warn = on_warning or (lambda key, message: None)

    # ---- choosing --------------------------------------------------------------------------
    def pick(self) -> TeacherClient | None:
        if len(self.live) < 2:
            return self.live[0] if self.live else None
        return max(self.live, key=lambda c: c.limit.limit - self._assigned[id(c)])

    def drop(self, client: TeacherClient, problem: str) -> None:
        """Stop using an endpoint; raises TeacherFatal when it was the last one."""
        if client in self.live:
            self.live.remove(client)
        if not self.live:
            raise TeacherFatal(problem)
        self._warn(
            f"dropped:{client.base_url}",
            f"endpoint {client.base_url} dropped ({problem}); "
            f"{len(self.live)} endpoint(s) carry on",
        )

    async def complete(
        self, system: str, user: str, max_tokens: int, temperature: float, seed: int | None = None
    ) -> Completion:
        while True:
            client = self.pick()
            if client is None:
                raise TeacherFatal("no teacher endpoint is left")
            self._assigned[id(client)] += 1
            try:
                return await client.complete(system, user, max_tokens, temperature, seed)
            except TeacherFatal as exc:
                self.drop(client, str(exc))  # the request is tried again elsewhere
            finally:
                self._assigned[id(client)] -= 1

    # ---- totals ----------------------------------------------------------------------------
    @property
    def in_flight(self) -> int:
        return sum(c.limit.in_flight for c in self.clients)

    @property
    def concurrency(self) -> int:
        return sum(c.limit.limit for c in self.live)

    @property
    def retries(self) -> int:
        return sum(c.stats.retries for c in self.clients)

    @property
    def merge_system(self) -> bool:
        return any(c.merge_system for c in self.clients)

    async def close(self) -> None:
        for client in self.clients:
            with contextlib.suppress(Exception):
                await client.close()
