"""The client address behind our proxies: the right-most X-Forwarded-For hop outside TRUSTED_PROXIES."""

from __future__ import annotations

import pytest

from nexuscart.client_ip import parse_networks, resolve

EDGE = parse_networks(["10.0.0.0/8", "127.0.0.2"])


@pytest.mark.parametrize(
    ("peer", "xff", "expected"),
    [
        # no proxy trusted: the socket peer, whatever the header says
        ("203.0.113.5", "1.2.3.4", "203.0.113.5"),
        # a peer outside the proxies: its header is the client's own words
        ("203.0.113.5", "10.0.0.1", "203.0.113.5"),
        # through the edge: the hop the edge appended is the client; the forged left part is ignored
        ("10.0.0.7", "1.2.3.4, 198.51.100.9", "198.51.100.9"),
        ("10.0.0.7", "9.9.9.9, 8.8.8.8, 198.51.100.9", "198.51.100.9"),
        # two proxies of ours (ingress then edge)
        ("127.0.0.2", "1.2.3.4, 198.51.100.9, 10.1.2.3", "198.51.100.9"),
        # garbage the edge would never write: the last address we can vouch for
        ("10.0.0.7", "not-an-ip", "10.0.0.7"),
        ("10.0.0.7", "198.51.100.9:5555", "198.51.100.9"),
        ("10.0.0.7", "[2001:db8::1]:443", "2001:db8::1"),
        ("::ffff:10.0.0.7", "198.51.100.9", "198.51.100.9"),
        # every hop ours: a request from inside
        ("10.0.0.7", "10.0.0.8", "10.0.0.8"),
        ("10.0.0.7", None, "10.0.0.7"),
    ],
)
def test_right_most_untrusted_hop(peer, xff, expected):
    assert resolve(peer, xff, EDGE) == expected


def test_no_trusted_proxies_means_the_peer():
    assert resolve("10.0.0.7", "1.2.3.4", ()) == "10.0.0.7"


def test_settings_are_read(settings):
    settings.TRUSTED_PROXIES = ["127.0.0.0/8"]
    assert resolve("127.0.0.1", "1.2.3.4") == "1.2.3.4"
    settings.TRUSTED_PROXIES = []
    assert resolve("127.0.0.1", "1.2.3.4") == "127.0.0.1"
