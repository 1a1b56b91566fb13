"""A hostile network, short versions of bench/abuse.py's rows: the SCP stays up for the legitimate,
whitelisted peer (127.0.0.1, real DCMTK echoscu/storescu) while other loopback hosts (127.0.0.2 and up) send
oversized, slow, silent or truncated PDUs over raw sockets. Expected bytes come from PS3.8 §9.3."""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.integration.dicom import dcmtk, raw
from tests.integration.dicom import objects as make
from tests.support import wait_until

#: The legitimate AI host from 127.0.0.1, and a LAN range (so that abusers pass the accept-time check and
#: reach the deeper limits).
PEERS = [{"name": "demo-ai", "ae_title": "DEMO_AI", "addresses": ["127.0.0.1"]},
         {"name": "lan", "ae_title": "MODALITY", "addresses": ["127.0.0.0/24"]}]

#: PS3.8 §9.3.4 A-ASSOCIATE-RJ: type 03, length 4, result 1 (permanent), source 3 (presentation), reason 2.
RJ_TOO_LARGE = bytes([0x03, 0x00, 0, 0, 0, 4, 0x00, 0x01, 0x03, 0x02])
#: PS3.8 §9.3.8 A-ABORT: type 07, length 4, source 2 (service provider), reason 6 (invalid parameter value).
ABORT_INVALID = bytes([0x07, 0x00, 0, 0, 0, 4, 0x00, 0x00, 0x02, 0x06])


def _echo_ok(port: int) -> bool:
    return dcmtk.echoscu(port).returncode == 0


def test_an_address_no_peer_admits_is_closed_at_accept_without_reading(start_scp) -> None:
    env = start_scp()  # only 127.0.0.1 is whitelisted
    with raw.connect(env.port, "127.0.0.2") as s:
        try:
            s.sendall(raw.associate_rq())
        except OSError:
            pass
        assert raw.closed_within(s, 3) is not None  # closed, and no A-ASSOCIATE-RJ was ever produced
    assert _echo_ok(env.port)


def test_the_listen_backlog_holds_a_burst_of_connections(start_scp) -> None:
    """The kernel's queue of connections not yet accepted (``ss`` shows a listener's backlog as Send-Q):
    with socketserver's default of 5, a burst of scans made the legitimate peer's SYN wait a retransmit."""
    import subprocess

    env = start_scp()
    out = subprocess.run(["ss", "-Hltn", f"sport = :{env.port}"], capture_output=True, text=True, timeout=10).stdout
    (line,) = [row for row in out.splitlines() if row.startswith("LISTEN")]
    assert int(line.split()[2]) >= 128, line


def test_an_associate_rq_declaring_4_gb_is_rejected_unread(start_scp) -> None:
    env = start_scp(peers=PEERS)
    with raw.connect(env.port, "127.0.0.2") as s:
        s.sendall(raw.header(0x01, 4 * 1024**3 - 1) + b"\0" * 65536)
        answer = s.recv(10)
        assert answer == RJ_TOO_LARGE
        assert raw.closed_within(s, 3) is not None
    assert _echo_ok(env.port)


def test_a_request_over_max_request_pdu_is_rejected_and_a_normal_one_admitted(start_scp) -> None:
    env = start_scp(peers=PEERS, max_request_pdu="8KB")
    with raw.connect(env.port, "127.0.0.2") as s:
        s.sendall(raw.header(0x01, 9000))
        assert s.recv(10) == RJ_TOO_LARGE
    sock = raw.associated(env.port, "127.0.0.3", calling="MODALITY")
    sock.close()


def test_a_p_data_over_the_negotiated_maximum_is_aborted(start_scp) -> None:
    env = start_scp(peers=PEERS, max_pdu="16KB")
    sock = raw.associated(env.port, "127.0.0.2", calling="MODALITY")
    with sock:
        sock.sendall(raw.header(0x04, 4 * 1024**3 - 1) + b"\0" * 65536)
        assert raw.read_pdu(sock) == (0x07, ABORT_INVALID[6:])
        assert raw.closed_within(sock, 3) is not None
    sock = raw.associated(env.port, "127.0.0.2", calling="MODALITY")  # exactly the maximum is fine
    with sock:
        sock.sendall(raw.header(0x04, 16384) + b"\0" * 10)
    assert _echo_ok(env.port)


def test_silent_connections_do_not_use_association_slots(start_scp) -> None:
    """A port scan: 9 connections that send nothing (or close at once) while max_associations is 2."""
    env = start_scp(peers=PEERS, max_associations=2, acse_timeout="3s")
    silent = [raw.connect(env.port, f"127.0.0.{2 + i % 3}") for i in range(9)]
    try:
        for s in silent[:4]:
            s.close()
        started = time.monotonic()
        for _ in range(3):
            assert _echo_ok(env.port)
        assert time.monotonic() - started < 10
    finally:
        for s in silent:
            s.close()


def test_silent_and_slow_connections_are_closed_within_artim(start_scp) -> None:
    env = start_scp(peers=PEERS, acse_timeout="2s")
    silent = raw.connect(env.port, "127.0.0.2")
    slow = raw.connect(env.port, "127.0.0.3")
    request = raw.associate_rq("MODALITY")
    stop = threading.Event()

    def trickle() -> None:
        for byte in request:
            if stop.wait(0.5):
                return
            try:
                slow.sendall(bytes([byte]))
            except OSError:
                return

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        assert _echo_ok(env.port)  # served meanwhile
        assert raw.closed_within(silent, 6) is not None
        assert raw.closed_within(slow, 6) is not None
    finally:
        stop.set()
        thread.join(5)
        silent.close()
        slow.close()


def test_slow_associate_requests_do_not_block_the_legitimate_peer(start_scp) -> None:
    """10 connections sending a valid A-ASSOCIATE-RQ at 1 byte/s (5 sources): every legitimate C-ECHO works."""
    env = start_scp(peers=PEERS, acse_timeout="3s")
    stop = threading.Event()
    request = raw.associate_rq("MODALITY")

    def trickle(source: str) -> None:
        while not stop.is_set():
            try:
                with raw.connect(env.port, source) as s:
                    for byte in request:
                        if stop.wait(1.0):
                            return
                        s.sendall(bytes([byte]))
            except OSError:
                if stop.wait(0.2):
                    return

    threads = [threading.Thread(target=trickle, args=(f"127.0.0.{2 + i % 5}",), daemon=True) for i in range(10)]
    for t in threads:
        t.start()
    try:
        time.sleep(1.0)
        results = [_echo_ok(env.port) for _ in range(8)]
        assert all(results), results
    finally:
        stop.set()
        for t in threads:
            t.join(5)


def test_handshake_caps_per_source_and_in_total(start_scp) -> None:
    env = start_scp(peers=PEERS, max_handshakes=6, max_handshakes_per_source=2, acse_timeout="5s")
    assert _echo_ok(env.port)  # 127.0.0.1 is now a known peer
    first = [raw.connect(env.port, "127.0.0.2") for _ in range(2)]
    try:
        wait_until(lambda: env.scp.gate.counts()["handshake"] == 2, timeout=3)
        extra = raw.connect(env.port, "127.0.0.2")  # third from the same source: closed at once
        assert raw.closed_within(extra, 2) is not None
        others = [raw.connect(env.port, f"127.0.0.{3 + i // 2}") for i in range(4)]  # fills the global 6
        wait_until(lambda: env.scp.gate.counts()["handshake"] == 6, timeout=3)
        late = raw.connect(env.port, "127.0.0.9")
        assert raw.closed_within(late, 2) is not None
        assert _echo_ok(env.port)  # a known peer is held to its own cap only: strangers cannot lock it out
        for s in others:
            s.close()
        assert wait_until(lambda: env.scp.gate.counts()["handshake"] <= 2, timeout=5)
        assert _echo_ok(env.port)
    finally:
        for s in first:
            s.close()


def test_many_partial_pdus_cost_little_and_the_peer_still_stores(start_scp, tmp_path: Path) -> None:
    """Connections each sending 10 bytes of a large A-ASSOCIATE-RQ: refused or held at a few KB each; a real
    storescu C-STORE from the whitelisted peer succeeds meanwhile."""
    env = start_scp(peers=PEERS, acse_timeout="4s")
    assert _echo_ok(env.port)  # the AI host has associated before: a known peer
    held: list[socket.socket] = []

    def partial(i: int) -> None:
        try:
            s = raw.connect(env.port, f"127.0.0.{2 + i % 60}")
            held.append(s)
            s.sendall(raw.header(0x01, 200_000) + b"\0\1\0\0")
        except OSError:
            pass

    # From 60 hosts, 10 at a time: more than dicom.max_handshakes (64) in all. One after the other took 23 s,
    # most of it SYN retransmits (1 s each) while the SCP's listen backlog was full; in parallel those overlap.
    with ThreadPoolExecutor(10) as pool:
        list(pool.map(partial, range(150)))
    try:
        assert env.scp.gate.counts()["handshake"] <= 64
        make.sc(tmp_path / "sc.dcm")
        result = dcmtk.storescu(env.port, tmp_path / "sc.dcm")
        assert result.returncode == 0 and dcmtk.store_statuses(result.stderr) == ["Success"]
    finally:
        for s in held:
            s.close()


def test_a_stalled_pdu_inside_an_association_is_aborted(start_scp) -> None:
    env = start_scp(peers=PEERS, max_pdu="16KB", acse_timeout="1s", min_transfer_rate="8KB")
    sock = raw.associated(env.port, "127.0.0.2", calling="MODALITY")
    with sock:
        sock.sendall(raw.header(0x04, 16000) + b"\0" * 100)  # deadline 1 s + 16000 / 8192 s ≈ 2.95 s
        started = time.monotonic()
        answer = raw.read_pdu(sock, timeout=15)
        elapsed = time.monotonic() - started
        assert answer == (0x07, bytes([0, 0, 0x02, 0x00])), answer  # A-ABORT, service provider, not specified
        # more than ARTIM alone (1 s): the PDU's length at min_transfer_rate counts; and bounded
        assert 2.3 < elapsed < 8, elapsed
    assert _echo_ok(env.port)


def test_an_association_slot_is_freed_and_the_limit_rejects_transiently(start_scp) -> None:
    env = start_scp(peers=PEERS, max_associations=1)
    held = raw.associated(env.port, "127.0.0.2", calling="MODALITY")
    try:
        result = dcmtk.echoscu(env.port)
        assert result.returncode != 0
        assert "Local Limit Exceeded" in result.stdout + result.stderr
    finally:
        held.close()
    assert wait_until(lambda: _echo_ok(env.port), timeout=10, interval=0.3)


def test_socket_option_shutdown_does_not_break_the_reader_contract(start_scp) -> None:
    """A peer that closes in the middle of a PDU header: the SCP keeps serving."""
    env = start_scp(peers=PEERS)
    with raw.connect(env.port, "127.0.0.2") as s:
        s.sendall(b"\x01\x00\x00")
        s.shutdown(socket.SHUT_WR)
        assert raw.closed_within(s, 5) is not None
    assert _echo_ok(env.port)


def test_finished_connections_leave_no_association_behind(start_scp) -> None:
    """Refused, cut and completed connections: none of their associations (and buffers) stays in memory."""
    import gc

    from pynetdicom.association import Association

    env = start_scp(peers=PEERS)
    for i in range(30):
        with raw.connect(env.port, f"127.0.0.{2 + i % 3}") as s:
            s.sendall(raw.header(0x01, 4 * 1024**3 - 1))
            raw.closed_within(s, 3)
    for _ in range(3):
        assert _echo_ok(env.port)

    def alive() -> int:
        gc.collect()
        return sum(1 for o in gc.get_objects() if isinstance(o, Association) and o.ae is env.scp.ae)

    assert wait_until(lambda: alive() == 0, timeout=10, interval=0.5), alive()
