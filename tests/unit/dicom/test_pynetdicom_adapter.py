"""Each pynetdicom internal the SCP relies on is checked at start-up: with one of them gone (as in a
pynetdicom release that renamed it), start-up fails with a message naming that hook."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pynetdicom import _config, dimse_messages, dimse_primitives, fsm
from pynetdicom.association import Association
from pynetdicom.dimse import DIMSEServiceProvider
from pynetdicom.dul import DULServiceProvider
from pynetdicom.transport import AssociationSocket, ThreadedAssociationServer

from ris_ai_module.dicom import pynetdicom_adapter as adapter


def _no_servers(mp: pytest.MonkeyPatch) -> None:
    class BareAE:
        pass

    mp.setattr(adapter, "AE", BareAE)


def _stub(*_args: Any, **_kwargs: Any) -> None:
    return None


#: hook -> how a pynetdicom without it would look.
BREAKERS: dict[str, Callable[[pytest.MonkeyPatch], None]] = {
    "_config.STORE_RECV_CHUNKED_DATASET": lambda mp: mp.delattr(_config, "STORE_RECV_CHUNKED_DATASET"),
    "dimse_messages.NamedTemporaryFile": lambda mp: mp.delattr(dimse_messages, "NamedTemporaryFile"),
    "C_STORE._dataset_file": lambda mp: mp.setattr(dimse_messages.DIMSEMessage, "message_to_primitive", _stub),
    "ae._servers": _no_servers,
    "dul._run_loop_delay": lambda mp: mp.setattr(DULServiceProvider, "run_reactor", _stub),
    "AssociationSocket.recv (per connection)": lambda mp: mp.setattr(AssociationSocket, "__slots__", ("socket",),
                                                                      raising=False),
    "dul.to_user_queue": lambda mp: mp.setattr(Association, "run_reactor", _stub),
    "ThreadedAssociationServer.get_request/finish_request/verify_request":
        lambda mp: mp.setattr(ThreadedAssociationServer, "verify_request", None),
    "Association._serve_request/_is_paused": lambda mp: mp.setattr(Association, "send_n_event_report", _stub),
    "Association._accepted_cx/dimse.send_msg": lambda mp: mp.delattr(DIMSEServiceProvider, "send_msg"),
    "dimse.receive_primitive (per association)": lambda mp: mp.setattr(fsm, "DT_2", _stub),
}


def test_every_hook_has_a_test() -> None:
    assert set(BREAKERS) == set(adapter.HOOKS)


def test_the_installed_pynetdicom_has_every_hook() -> None:
    assert adapter.missing_hooks() == []
    adapter.check()


@pytest.mark.parametrize("hook", sorted(BREAKERS))
def test_a_missing_hook_stops_start_up_naming_it(hook: str, monkeypatch: pytest.MonkeyPatch) -> None:
    BREAKERS[hook](monkeypatch)
    assert adapter.missing_hooks() == [hook]
    with pytest.raises(adapter.PynetdicomMismatch) as caught:
        adapter.check()
    message = str(caught.value)
    assert hook in message and adapter.HOOKS[hook][0] in message and adapter.TESTED in message


def test_recv_and_file_hooks_act_on_one_association_only() -> None:
    class Dul:
        socket = AssociationSocket.__new__(AssociationSocket)
        to_user_queue: list[Any] = []

    class Assoc:
        dul = Dul()

    reader = lambda n: bytearray(n)  # noqa: E731
    adapter.install_recv(Assoc(), reader)
    assert Dul.socket.recv is reader and AssociationSocket.recv is not reader
    request = dimse_primitives.C_STORE()
    assert adapter.received_file(request) is None
