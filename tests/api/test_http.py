"""Raw UTF-8 in the request line, as curl sends `?q=Суджа`: `frontline serve` reads it as
the percent-encoded URL a browser would have sent (app.web.http)."""

import json
import socket
from collections.abc import Iterator
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.web.http import encode_request_line
from tests.conftest import live_server

# Characters a person may type in a query: anything but controls, spaces, '%' and '#'.
typed = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zs", "Zl", "Zp"), blacklist_characters="%#"),
    min_size=1,
)


@given(query=typed, body=st.binary(max_size=64))
def test_only_the_request_target_is_encoded(query: str, body: bytes) -> None:
    head = f"GET /places/search?q={query} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    encoded = encode_request_line(head + body)
    line, _, rest = encoded.partition(b"\r\n")
    method, target, version = line.split(b" ")
    assert (method, version) == (b"GET", b"HTTP/1.1")
    assert target.isascii()
    assert unquote(target.decode("ascii")) == f"/places/search?q={query}"
    assert rest == head.partition(b"\r\n")[2] + body


@pytest.fixture(scope="module")
def served(seeded_url: str) -> Iterator[int]:
    """`frontline serve` itself: its port."""
    with live_server(seeded_url, frontline_serve=True) as base:
        yield int(base.rsplit(":", 1)[1])


def _answers(port: int, *requests: bytes) -> list[tuple[int, bytes]]:
    """Send each request on one kept-alive connection after the answer to the one before;
    the status and body of each answer."""
    answers: list[tuple[int, bytes]] = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        for request in requests:
            sock.sendall(request)
            data = b""
            while True:
                data += sock.recv(65536)
                head, _, body = data.partition(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), None)  # fmt: skip
                if length is not None and len(body) >= length:
                    answers.append((int(head.split(b" ")[1]), body[:length]))
                    break
    return answers


def test_curl_with_cyrillic_in_the_url(served: int) -> None:
    search = "GET /places/search?q=Суджа HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    # Twice on one connection: the second request line is read as the first was.
    answers = _answers(served, search, search)
    assert [status for status, _ in answers] == [200, 200]
    for _, body in answers:
        slugs = [f["properties"]["slug"] for f in json.loads(body)["features"]]
        assert slugs[0] == "sudzha"


def test_a_body_in_utf8_is_passed_on_as_sent(served: int) -> None:
    body = json.dumps({"title": "Обстріл Суджі"}, ensure_ascii=False).encode()
    request = (f"POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
               f"\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body  # fmt: skip
    [(status, answer)] = _answers(served, request)
    assert status == 401  # no key: the body reached the app whole, and was refused there
    assert json.loads(answer)["status"] == 401
