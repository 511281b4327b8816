"""The HTTP/1.1 protocol `frontline serve` runs: uvicorn's (httptools), taking raw UTF-8 in
the request line as the percent-encoded URL it stands for.

People type `curl 'http://127.0.0.1:8000/places/search?q=Суджа'`; curl sends the Cyrillic
bytes as they are, and the HTTP parser refuses them ("Invalid HTTP request received."). A
browser would have percent-encoded those bytes (RFC 3986, section 2.5: UTF-8, then
percent-encoding), so that is what is done here, to the request line only and only at the
start of a request: headers and bodies are passed on untouched.
"""

from urllib.parse import quote

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# Every printable ASCII byte stays as sent, percent signs of an encoded URL included.
_PRINTABLE = bytes(range(0x21, 0x7F))


def encode_request_line(data: bytes) -> bytes:
    """The bytes with the request target's non-ASCII bytes percent-encoded; the method, the
    version and everything after the request line unchanged."""
    end = data.find(b"\r\n")
    line, rest = (data, b"") if end < 0 else (data[:end], data[end:])
    method, _, remainder = line.partition(b" ")
    target, space, version = remainder.rpartition(b" ")
    if not space:  # no version yet (the line goes on in the next chunk)
        target, version = remainder, b""
    encoded = quote(target, safe=_PRINTABLE).encode("ascii")
    return method + b" " + encoded + (b" " + version if space else b"") + rest


class Utf8RequestLineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with a request line's raw UTF-8 percent-encoded."""

    _between_requests = True

    def data_received(self, data: bytes) -> None:
        if self._between_requests and not data.isascii():
            data = encode_request_line(data)
        super().data_received(data)

    def on_message_begin(self) -> None:
        self._between_requests = False
        super().on_message_begin()

    def on_message_complete(self) -> None:
        self._between_requests = True
        super().on_message_complete()
