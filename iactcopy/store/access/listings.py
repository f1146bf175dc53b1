"""Folder listings of a remote store, each asked for once and shared by every look-up.

The sftp and root clients find a file's size, time and mode in the listing
of its folder: one listing answers the look-ups of all the files there, in a
few round trips instead of one a file.  A listing started ahead (while the
master file is read, say) and never awaited must not have its failure
reported by asyncio on stderr; the look-ups that await it see the failure.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

__all__ = ["Listings"]


class Listings:
    """The listings of folders by name, each started once, in the client's event loop.

    Parameters
    ----------
    list_folder : callable
        ``await list_folder(folder)`` gives the entries of *folder* by name.
    """

    def __init__(self, list_folder: Callable[[str], Awaitable[dict]]):
        self._list_folder = list_folder
        self._started: dict[str, asyncio.Future] = {}

    def start(self, folder: str) -> asyncio.Future:
        """The listing of *folder*, started now if it is not under way; call in the loop."""
        listing = self._started.get(folder)
        if listing is None:
            listing = self._started[folder] = asyncio.ensure_future(self._list_folder(folder))
            listing.add_done_callback(lambda done: done.cancelled() or done.exception())
        return listing

    async def get(self, folder: str) -> dict:
        """The entries of *folder*; a look-up cancelled while waiting leaves the listing on."""
        return await asyncio.shield(self.start(folder))
