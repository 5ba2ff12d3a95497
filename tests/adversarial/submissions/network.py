"""conv_ops: at import, tries the network: the test's listener on the host's loopback, DNS, HTTP."""

import socket
import urllib.request

MARKER = "ADVERSARIAL_network"
PLANTED = {"port": 9}  # the test fills in the port of the listener it opened on 127.0.0.1

attempts = {
    "loopback": lambda: socket.create_connection(("127.0.0.1", PLANTED["port"]), timeout=2).sendall(MARKER.encode()),
    "dns": lambda: socket.getaddrinfo("pypi.org", 443),
    "internet": lambda: socket.create_connection(("1.1.1.1", 53), timeout=2),
    "http": lambda: urllib.request.urlopen("http://example.com/", timeout=2).read(100),
    "http-loopback": lambda: urllib.request.urlopen(f"http://127.0.0.1:{PLANTED['port']}/{MARKER}", timeout=2),
}
for name, attempt in attempts.items():
    try:
        attempt()
        print(f"CONNECTED {name}")
    except OSError as error:
        print(f"BLOCKED {name} {type(error).__name__}")
