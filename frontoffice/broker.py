"""The embedded Celery broker: kombu's file-system transport, safe for several processes.

Web, worker and beat publish into one folder and the worker consumes from it. kombu's
own transport creates a message file under its final name and only then writes it, and
its reader takes any file whose name matches: a consumer that lists the folder in
between reads an empty or half-written file, and the worker dies on the JSONDecodeError
(seen minutes into `make run`). So here:

- a message is written under a name no reader matches, then renamed into place: a rename
  within one folder is atomic, so a reader finds either no file or the whole message;
- a reader claims a file by renaming it, also within the folder, so that of two readers
  exactly one wins (kombu moves it to the temp folder, which on another file system is a
  copy that two readers can both make);
- a file that still cannot be decoded (left by another writer, a full disk) is set aside
  under a name no reader matches and logged, instead of stopping the worker.

As with kombu's transport, a message is gone from the folder once a reader took it: a
worker killed before it acknowledges a message loses it (the outbox's sweeps and leases
are there for that).

`register()` (called by the Celery app) names it `atomicfs`, so the settings choose it by
URL (`atomicfs://`); the options are those of kombu's `filesystem` transport.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from queue import Empty
from time import time_ns
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

logger = logging.getLogger(__name__)

SCHEME = "atomicfs"

# Readers take "<ms>_<uuid>.<queue>.msg" (kombu's filter: everything after the first dot
# is "<queue>.msg"); a suffix after ".msg" hides a file from every reader of every queue.
WRITING_SUFFIX = ".writing"
CLAIMED_SUFFIX = ".claimed"
UNREADABLE_SUFFIX = ".unreadable"


class Channel(filesystem.Channel):
    def _put(self, queue: Any, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]  # kombu passes **kwargs
        # Readers take files in name order: a zero-padded wall-clock time keeps that order
        # the order of publication across processes and reboots (kombu's unpadded
        # milliseconds since boot sort "9…" after "10…" and restart at each boot).
        name = f"{time_ns():020d}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        writing = final + WRITING_SUFFIX
        try:
            with open(writing, "wb") as file:
                file.write(str_to_bytes(dumps(payload)))
            # No fsync: this protects readers from half-written files, not messages from a
            # power cut (kombu's transport never did either).
            os.replace(writing, final)
        except OSError as exc:
            with contextlib.suppress(OSError):  # never created, or already renamed
                os.remove(writing)
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc

    def _get(self, queue: Any, timeout: Any = None) -> Any:
        wanted = f"{queue}.msg"
        folder = self.data_folder_in
        for name in sorted(os.listdir(folder)):
            if name.partition(".")[2] != wanted:
                continue
            path = os.path.join(folder, name)
            claimed = path + CLAIMED_SUFFIX + f"-{os.getpid()}-{uuid.uuid4().hex[:8]}"
            try:
                os.rename(path, claimed)
            except OSError:
                continue  # another reader took it first (or it is gone: kombu ignores that too)
            try:
                with open(claimed, "rb") as file:
                    payload = file.read()
                message = loads(bytes_to_str(payload))
            except (OSError, ValueError):  # ValueError: bad JSON or bad UTF-8
                self._set_aside(claimed, path)
                continue
            self._done(claimed, name)
            return message
        raise Empty()

    def _done(self, claimed: str, name: str) -> None:
        try:
            if self.store_processed:
                os.replace(claimed, os.path.join(self.processed_folder, name))
            else:
                os.remove(claimed)
        except OSError:
            # The message is read: losing it now to a cleanup failure would be worse.
            logger.exception("Broker: could not remove %s after reading it", claimed)

    def _set_aside(self, claimed: str, path: str) -> None:
        aside = path + UNREADABLE_SUFFIX
        logger.error("Broker: %s is not a readable message; set aside as %s", path, aside)
        try:
            os.replace(claimed, aside)
        except OSError:
            logger.exception("Broker: could not set %s aside", claimed)

    def get_table(self, exchange: str) -> Any:
        # kombu creates a new exchange table ("wb") before it locks it, and writes every
        # table under that lock: the only undecodable table a reader can meet is the empty
        # file of that instant, which has no bindings yet.
        try:
            return super().get_table(exchange)
        except ValueError:
            return []


class Transport(filesystem.Transport):
    Channel = Channel


def register() -> None:
    """Make `atomicfs://` URLs use this transport (kombu resolves schemes by alias)."""
    TRANSPORT_ALIASES[SCHEME] = f"{__name__}:Transport"
