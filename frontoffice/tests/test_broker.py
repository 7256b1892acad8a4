"""The embedded broker (frontoffice/broker.py, what the settings use without REDIS_URL):
a reader never gets a message that is still being written, and a file it cannot decode
does not stop it. The same through real workers: tests/integration/test_broker_stress.py."""

from __future__ import annotations

import builtins
import logging
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from queue import Empty
from typing import Any

import pytest
from kombu import Connection

from frontoffice import broker


@pytest.fixture
def queue_name() -> str:
    # kombu keeps queue bindings in process-wide state: a name used by an earlier test
    # would be taken as bound already, and its binding never written to this test's folder.
    return f"probe-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def folders(tmp_path: Path) -> dict[str, str]:
    for name in ("queue", "processed", "control"):
        (tmp_path / name).mkdir()
    return {
        "data_folder_in": str(tmp_path / "queue"),
        "data_folder_out": str(tmp_path / "queue"),
        "processed_folder": str(tmp_path / "processed"),
        "control_folder": str(tmp_path / "control"),
        "store_processed": False,
    }


@pytest.fixture
def connect(folders: dict[str, str]) -> Iterator[Callable[[], Connection]]:
    """Connections to the embedded broker in its own folders: one per process it stands for."""
    opened: list[Connection] = []

    def open_one() -> Connection:
        connection = Connection(f"{broker.SCHEME}://", transport_options=folders)
        opened.append(connection)
        return connection

    yield open_one
    for connection in opened:
        connection.release()


class HalfWrittenFile:
    """A file whose write stops halfway and lets `pause` run before it finishes."""

    def __init__(self, file: Any, pause: Callable[[], None]) -> None:
        self._file = file
        self._pause = pause

    def write(self, data: bytes) -> int:
        half = len(data) // 2
        written = self._file.write(data[:half])
        self._file.flush()
        self._pause()
        return written + self._file.write(data[half:])

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)

    def __enter__(self) -> HalfWrittenFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()


def test_a_reader_polling_while_a_message_is_written_gets_it_only_once_it_is_whole(
    connect: Callable[[], Connection],
    folders: dict[str, str],
    queue_name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given: a publisher whose message file is half written when a consumer polls
    consumer = connect().SimpleQueue(queue_name)
    publisher = connect().SimpleQueue(queue_name)
    seen_while_writing: list[object] = []

    def poll() -> None:
        try:
            seen_while_writing.append(consumer.get(block=False).payload)
        except Empty:
            seen_while_writing.append("nothing yet")
        except Exception as exc:  # what kombu's own transport raised: a JSONDecodeError
            seen_while_writing.append(exc)

    real_open = builtins.open

    def open_slowly(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        opened = real_open(file, mode, *args, **kwargs)
        if "w" in mode and str(file).startswith(folders["data_folder_out"]):
            return HalfWrittenFile(opened, poll)
        return opened

    monkeypatch.setattr(builtins, "open", open_slowly)

    # when
    publisher.put({"n": 1})
    monkeypatch.undo()
    after = consumer.get(block=False)

    # then
    assert seen_while_writing == ["nothing yet"]
    assert after.payload == {"n": 1}
    with pytest.raises(Empty):
        consumer.get(block=False)


def test_an_unreadable_message_file_is_set_aside_and_the_next_message_delivered(
    connect: Callable[[], Connection],
    folders: dict[str, str],
    queue_name: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given: an empty message file (what a writer that died, or kombu's own writer
    # caught halfway, leaves) before a good message
    queue_folder = Path(folders["data_folder_in"])
    empty = queue_folder / f"{0:020d}_00000000-0000-0000-0000-000000000000.{queue_name}.msg"
    empty.touch()
    consumer = connect().SimpleQueue(queue_name)
    connect().SimpleQueue(queue_name).put({"n": 2})

    # when
    with caplog.at_level(logging.ERROR, logger="frontoffice.broker"):
        message = consumer.get(block=False)

    # then
    assert message.payload == {"n": 2}
    assert not empty.exists()
    assert (queue_folder / (empty.name + broker.UNREADABLE_SUFFIX)).exists()
    assert any(empty.name in record.getMessage() for record in caplog.records)
    with pytest.raises(Empty):
        consumer.get(block=False)


def test_a_reader_working_from_a_stale_listing_never_takes_a_message_already_taken(
    connect: Callable[[], Connection],
    folders: dict[str, str],
    queue_name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given: two messages, and a second consumer that listed the folder while both were
    # there, before the first consumer took one
    publisher = connect().SimpleQueue(queue_name)
    publisher.put({"n": 1})
    publisher.put({"n": 2})
    first, second = connect().SimpleQueue(queue_name), connect().SimpleQueue(queue_name)
    stale = os.listdir(folders["data_folder_in"])
    taken = [first.get(block=False).payload["n"]]

    # when
    monkeypatch.setattr(os, "listdir", lambda _folder: list(stale))
    taken.append(second.get(block=False).payload["n"])

    # then
    assert sorted(taken) == [1, 2]


def test_an_exchange_table_read_the_instant_it_is_created_has_no_bindings_yet(
    connect: Callable[[], Connection], folders: dict[str, str]
) -> None:
    # given: the empty file kombu creates for a new exchange before it locks and writes it
    (Path(folders["control_folder"]) / "just-created.exchange").touch()

    # when
    table = connect().default_channel.get_table("just-created")

    # then
    assert table == []


def test_messages_are_taken_in_the_order_they_were_published(
    connect: Callable[[], Connection], queue_name: str
) -> None:
    # given: more messages than fit in one millisecond's worth of names of one length
    publisher = connect().SimpleQueue(queue_name)
    for n in range(30):
        publisher.put({"n": n})

    # when
    consumer = connect().SimpleQueue(queue_name)
    taken = [consumer.get(block=False).payload["n"] for _ in range(30)]

    # then
    assert taken == list(range(30))
