"""bench/soak/caller.xml (the SIP caller of the soak and cluster tests) against a scripted SIP server.

Behind Kamailio the node that challenged a call can die before the authenticated INVITE reaches it; the proxy
fails the INVITE over to a node that never issued that nonce, which challenges again. A phone answers the
second challenge; the test caller must too, or the cluster test counts a caller it dropped itself as a call
the cluster did not answer. The server here challenges once or twice and checks what a UAS would: each
INVITE's CSeq above the last, the ACKs carrying their INVITE's number, a digest computed from the newest nonce
and the right password, and a BYE whose CSeq is above every INVITE's. Needs the `sipp` binary that
scripts/setup.sh installs (Debian `sip-tester`); no Asterisk.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import socket
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CALLER_XML = Path(__file__).resolve().parent.parent / "bench" / "soak" / "caller.xml"
USER, PASSWORD, REALM = "testcaller", "s3cret", "asterisk"


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # SIP digest is MD5 by definition


def _header(message: str, name: str) -> str:
    match = re.search(rf"^{name}:\s*(.*)$", message, re.MULTILINE | re.IGNORECASE)
    assert match, f"no {name} header in:\n{message}"
    return match.group(1).strip()


def _cseq(message: str) -> tuple[int, str]:
    number, method = _header(message, "CSeq").split()
    return int(number), method


@dataclass
class ScriptedServer:
    """A UAS on a UDP socket: `challenges` 401s, then a 200 OK; 5.5 s after the ACK it hangs up with a BYE."""

    challenges: int
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    sock: socket.socket = field(default_factory=lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM))

    def __post_init__(self) -> None:
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.5)
        self.port: int = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()

    def _reply(self, request: str, peer: tuple[str, int], status: str, extra: str = "", body: str = "") -> None:
        to = _header(request, "To")
        if ";tag=" not in to:
            to += ";tag=uas1"
        head = (
            f"SIP/2.0 {status}\r\nVia: {_header(request, 'Via')}\r\nFrom: {_header(request, 'From')}\r\n"
            f"To: {to}\r\nCall-ID: {_header(request, 'Call-ID')}\r\nCSeq: {_header(request, 'CSeq')}\r\n"
        )
        content = f"Content-Length: {len(body)}\r\n\r\n{body}"
        self.sock.sendto((head + extra + content).encode(), peer)

    def _serve(self) -> None:
        invites = 0
        caller: tuple[str, int] | None = None
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            message = data.decode(errors="replace")
            if message.startswith("SIP/2.0"):
                continue  # the caller's 200 OK to our BYE
            self.requests.append(message)
            method = message.split(" ", 1)[0]
            if method == "INVITE" and _header(message, "Via") not in {_header(r, "Via") for r in self.requests[:-1]}:
                invites += 1
                if invites <= self.challenges:
                    self._reply(message, peer, "401 Unauthorized",
                                f'WWW-Authenticate: Digest realm="{REALM}",nonce="nonce-{invites}",algorithm=MD5\r\n')
                else:
                    sdp = ("v=0\r\no=uas 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                           "m=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
                    self._reply(message, peer, "200 OK",
                                f"Contact: <sip:uas@127.0.0.1:{self.port}>\r\nContent-Type: application/sdp\r\n",
                                sdp)  # fmt: skip
                caller = peer
            elif method == "ACK" and invites > self.challenges and caller is not None:
                invite = next(r for r in reversed(self.requests) if r.startswith("INVITE"))
                bye = (
                    f"BYE sip:{USER}@{caller[0]}:{caller[1]} SIP/2.0\r\n"
                    f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch=z9hG4bKbye1\r\n"
                    f"From: {_header(invite, 'To')};tag=uas1\r\nTo: {_header(invite, 'From')}\r\n"
                    f"Call-ID: {_header(invite, 'Call-ID')}\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n"
                )
                # Not before the caller's random 0-5 s wait to start talking: SIPp aborts a call on a BYE that
                # arrives while its scenario pauses (Asterisk never hangs up that early).
                threading.Timer(5.5, self.sock.sendto, (bye.encode(), caller)).start()


def _call(tmp_path: Path, challenges: int) -> ScriptedServer:
    sipp = shutil.which("sipp")
    assert sipp, "sipp is not installed: run scripts/setup.sh (it installs Debian's sip-tester)"
    (tmp_path / "caller.ulaw").write_bytes(b"\xff" * 1600)  # 0.2 s of mu-law silence, looped
    shutil.copy(CALLER_XML, tmp_path / "caller.xml")
    server = ScriptedServer(challenges)
    try:
        out = subprocess.run(
            [sipp, f"127.0.0.1:{server.port}", "-sf", "caller.xml", "-s", "600", "-au", USER, "-ap", PASSWORD,
             "-i", "127.0.0.1", "-mi", "127.0.0.1", "-mp", "0", "-m", "1", "-nostdin",
             "-trace_err", "-error_file", "errors.log", "-timeout", "20s"],
            cwd=tmp_path, capture_output=True, text=True, timeout=40, check=False,
        )  # fmt: skip
    finally:
        server.close()
    errors = (tmp_path / "errors.log").read_text() if (tmp_path / "errors.log").exists() else ""
    assert out.returncode == 0, f"SIPp failed the call (exit {out.returncode}):\n{errors}\n{out.stdout[-2000:]}"
    return server


def _digest_ok(invite: str, nonce: str) -> bool:
    auth = _header(invite, "Authorization")
    fields = dict(re.findall(r'(\w+)="?([^",]+)"?', auth))
    expected = _md5(f"{_md5(f'{USER}:{REALM}:{PASSWORD}')}:{nonce}:{_md5('INVITE:' + fields['uri'])}")
    return fields.get("nonce") == nonce and fields.get("response") == expected


@pytest.mark.parametrize("challenges", [1, 2])
def test_the_caller_answers_each_challenge_with_the_newest_nonce(tmp_path: Path, challenges: int) -> None:
    server = _call(tmp_path, challenges)
    invites = [r for r in server.requests if r.startswith("INVITE")]
    acks = [r for r in server.requests if r.startswith("ACK")]
    # Retransmissions repeat a CSeq; each new INVITE must be above the last.
    numbers = sorted({_cseq(r)[0] for r in invites})
    assert numbers == list(range(1, challenges + 2))
    assert "Authorization" not in invites[0]
    for n in range(2, challenges + 2):
        invite = next(r for r in invites if _cseq(r)[0] == n)
        assert _digest_ok(invite, f"nonce-{n - 1}"), f"INVITE {n} does not answer nonce-{n - 1}:\n{invite}"
    # One ACK per final response, each with its INVITE's number.
    assert sorted({_cseq(r)[0] for r in acks}) == numbers
    assert all(_cseq(r)[1] == "ACK" for r in acks)


def test_the_callers_own_bye_is_numbered_above_every_invite() -> None:
    """The caller hangs up on its own after 30 s or more, too long to wait for here: its BYE's CSeq is read from
    the scenario, against the highest INVITE number the scenario can send."""
    text = CALLER_XML.read_text()
    invites = [int(n) for n in re.findall(r"CSeq: (\d+) INVITE", text)]
    byes = [int(n) for n in re.findall(r"CSeq: (\d+) BYE", text)]
    assert byes and min(byes) > max(invites)
