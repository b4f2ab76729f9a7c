"""reviewqueue/outbound.py: admin-given URLs are https, resolve only to global addresses (checked when
saved and again at connect time) and are never redirected, unless CALLBACK_ALLOW_PRIVATE_NETWORKS."""

import datetime
import ipaddress
import socket
import ssl
import threading

import httpx
import pytest

from reviewqueue import outbound
from reviewqueue.outbound import OutboundURLRefused, check_outbound_url, outbound_client, send_checked
from tests.http_receiver import Answer, Receiver

_real_getaddrinfo = socket.getaddrinfo


@pytest.fixture
def dns(monkeypatch):
    """A resolver whose answers the test sets: {name: [addresses]}; other names resolve for real."""
    answers: dict[str, list[str]] = {}

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            return [
                (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                for a in answers[host]
            ]
        return _real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


@pytest.fixture
def strict(settings):
    settings.CALLBACK_ALLOW_PRIVATE_NETWORKS = False


@pytest.fixture
def lenient(settings):
    settings.CALLBACK_ALLOW_PRIVATE_NETWORKS = True


REFUSED = [
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("192.168.1.1", "private"),
    ("100.64.0.1", "private or reserved"),  # shared address space (CGNAT)
    ("127.0.0.1", "loopback"),
    ("127.8.9.10", "loopback"),
    ("0.0.0.0", "private or reserved"),
    ("169.254.169.254", "link-local"),  # cloud metadata
    ("224.0.0.1", "multicast"),
    ("255.255.255.255", "private or reserved"),
    ("::1", "loopback"),
    ("::", "private or reserved"),
    ("fe80::1", "link-local"),
    ("fc00::1", "private"),
    ("fd12:3456::1", "private"),
    ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
    ("::ffff:10.0.0.1", "private"),
    ("::ffff:169.254.169.254", "link-local"),
    ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 of 169.254.169.254
    ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
    ("ff02::1", "multicast"),
]


@pytest.mark.parametrize(("address", "kind"), REFUSED)
def test_non_global_addresses_are_refused_when_saved(strict, dns, address, kind):
    dns["agent.example.com"] = [address]
    with pytest.raises(OutboundURLRefused, match=kind) as refused:
        check_outbound_url("https://agent.example.com/hook")
    assert str(refused.value).startswith("agent.example.com resolves to ")


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700::1111", "::ffff:93.184.215.14"])
def test_global_addresses_are_accepted(strict, dns, address):
    dns["agent.example.com"] = [address]
    assert check_outbound_url("  https://agent.example.com/hook ") == "https://agent.example.com/hook"


def test_ip_literals_are_checked_like_names(strict):
    with pytest.raises(OutboundURLRefused, match="loopback"):
        check_outbound_url("https://127.0.0.1:8443/hook")
    with pytest.raises(OutboundURLRefused, match="link-local"):
        check_outbound_url("https://[fe80::1]/hook")


def test_one_private_answer_among_public_ones_refuses_the_host(strict, dns):
    dns["agent.example.com"] = ["93.184.215.14", "10.0.0.7"]
    with pytest.raises(OutboundURLRefused, match=r"10\.0\.0\.7"):
        check_outbound_url("https://agent.example.com/hook")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://agent.example.com/hook", "must start with https://"),
        ("ftp://agent.example.com/hook", "must start with https://"),
        ("agent.example.com/hook", "must start with https://"),
        ("https:///hook", "no host"),
        ("https://user:pw@agent.example.com/hook", "user name or password"),
        ("https://agent.example.com:99999/hook", "not a valid URL"),
    ],
)
def test_bad_urls_are_refused_with_a_message(strict, dns, url, message):
    dns["agent.example.com"] = ["93.184.215.14"]
    with pytest.raises(OutboundURLRefused, match=message):
        check_outbound_url(url)


def test_a_name_that_does_not_resolve_is_refused(strict):
    with pytest.raises(OutboundURLRefused, match="does not resolve"):
        check_outbound_url("https://no-such-host.invalid/hook")


def test_the_flag_allows_private_addresses_and_http(lenient):
    assert check_outbound_url("http://127.0.0.1:9/hook") == "http://127.0.0.1:9/hook"


def test_refused_at_connect_time_after_the_name_changes_its_answer(strict, dns):
    """Saved while public; at send time the name answers 127.0.0.1 (DNS rebinding): no connection."""
    dns["agent.example.com"] = ["93.184.215.14"]
    check_outbound_url("https://agent.example.com/hook")
    with Receiver() as receiver:
        dns["agent.example.com"] = ["127.0.0.1"]
        with outbound_client() as client, pytest.raises(OutboundURLRefused, match="loopback"):
            client.post(f"https://agent.example.com:{receiver.port}/hook", content=b"{}")
        assert receiver.requests == []


def test_the_guard_runs_in_the_connection_even_for_http(settings, dns):
    """The address check is the transport's own (not only send_checked's), whatever the scheme."""
    settings.CALLBACK_ALLOW_PRIVATE_NETWORKS = False
    with Receiver() as receiver, outbound_client() as client:
        with pytest.raises(OutboundURLRefused, match="loopback"):
            client.get(f"{receiver.url}/hook")
        assert receiver.requests == []


def test_send_checked_refuses_http_before_connecting(strict):
    with Receiver() as receiver, outbound_client() as client:
        with pytest.raises(OutboundURLRefused, match="https"):
            send_checked(client, client.build_request("POST", f"{receiver.url}/hook", content=b"{}"))
        assert receiver.requests == []


def test_with_the_flag_the_connection_goes_to_the_checked_address(lenient, dns):
    dns["agent.example.com"] = ["127.0.0.1"]
    with Receiver() as receiver, outbound_client() as client:
        response = send_checked(
            client, client.build_request("POST", f"http://agent.example.com:{receiver.port}/hook", content=b"{}")
        )
    assert response.status_code == 200
    assert receiver.requests[0].headers["host"] == f"agent.example.com:{receiver.port}"


def test_a_redirect_is_not_followed(lenient):
    with Receiver([Answer(302, {"Location": "/elsewhere"})]) as receiver, outbound_client() as client:
        response = send_checked(client, client.build_request("POST", f"{receiver.url}/hook", content=b"{}"))
    assert response.status_code == 302
    assert [r.path for r in receiver.requests] == ["/hook"]


def test_proxy_variables_are_ignored(lenient, monkeypatch):
    """A proxy would be the host the guard checks instead of the URL's; none is used."""
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    with Receiver() as receiver, outbound_client() as client:
        assert client.get(f"{receiver.url}/hook").status_code == 200


def test_connection_refused_is_an_ordinary_connect_error(lenient):
    with outbound_client(timeout=2) as client, pytest.raises(httpx.ConnectError):
        client.get("http://127.0.0.1:9/hook")


def test_the_message_names_the_host_the_address_and_its_kind(strict, dns):
    dns["agent.example.com"] = ["::ffff:10.0.0.1"]
    with pytest.raises(OutboundURLRefused) as refused:
        check_outbound_url("https://agent.example.com/hook")
    assert str(refused.value).startswith(
        "agent.example.com resolves to ::ffff:a00:1, 10.0.0.1 in IPv6 form, a private or reserved address; "
    )
    with pytest.raises(OutboundURLRefused) as refused:
        check_outbound_url("https://127.0.0.1/hook")
    assert str(refused.value).startswith("127.0.0.1 is a loopback address; requests go only to public addresses")


def test_a_name_that_stops_resolving_is_told_apart_at_request_time(strict):
    """Callers retry a passing DNS failure but not a refused address: the error says which."""
    with outbound_client() as client, pytest.raises(outbound.OutboundHostUnresolved):
        client.get("https://no-such-host.invalid/hook")


def _self_signed_certificate(directory) -> tuple[str, str]:
    """A certificate for 127.0.0.1 that no CA signed: (certificate file, key file)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_file), str(key_file)


def _tls_listener(cert_file: str, key_file: str, handshakes: int) -> tuple[socket.socket, threading.Thread]:
    """A TLS server on 127.0.0.1 that offers its certificate to `handshakes` clients, then stops."""
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert_file, key_file)
    listener = socket.create_server(("127.0.0.1", 0))

    def serve():
        for _ in range(handshakes):
            connection, _address = listener.accept()
            try:
                with server_context.wrap_socket(connection, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                pass  # the client refused the certificate: what the test expects

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener, thread


def test_outbound_clients_share_one_tls_context_that_still_verifies_certificates(lenient, tmp_path):
    """Building a TLS context loads the CA bundle (~20 ms of CPU): every outbound client reuses the
    process's one, which still checks certificates against the default CA trust and host names."""
    with outbound_client() as first, outbound_client() as second:
        contexts = [client._transport._pool._ssl_context for client in (first, second)]
        assert contexts[0] is contexts[1]
        context = contexts[0]
        assert context.verify_mode == ssl.CERT_REQUIRED
        assert context.check_hostname
        assert context.cert_store_stats()["x509_ca"] > 0  # the CA bundle is loaded

        listener, thread = _tls_listener(*_self_signed_certificate(tmp_path), handshakes=2)
        port = listener.getsockname()[1]
        for client in (first, second):
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                client.get(f"https://127.0.0.1:{port}/hook")
        thread.join(timeout=5)
        listener.close()
