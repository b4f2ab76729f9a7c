"""The local OIDC provider (python -m reviewqueue.sandbox.oidc) for tests: started as its own process on
a free port, with its own state directory, and a client that signs people in through it as a browser
would (its sign-in form, then the redirect back to reviewqueue's callback)."""

import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx

from reviewqueue.sandbox.oidc import defaults
from tests.livesystem import Process, free_port, wait_for

TEST_CALLBACK = "http://testserver/accounts/oidc/callback/"
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass
class OidcSandbox:
    port: int
    process: Process

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def issuer(self) -> str:
        return f"{self.url}/o"

    def fault(self, id_token_fault: str) -> None:
        httpx.post(f"{self.url}/_sandbox/knobs", json={"id_token_fault": id_token_fault}).raise_for_status()

    def person(self, username: str, *, email: str = "", groups=(), email_verified: bool = True) -> None:
        body = {
            "username": username,
            "email": email or f"{username}@fernhill.example",
            "groups": list(groups),
            "email_verified": email_verified,
            "password": defaults.demo_password(username),
        }
        httpx.post(f"{self.url}/_sandbox/people", json=body).raise_for_status()

    def authorize(self, authorize_url: str, username: str) -> str:
        """Sign in at the provider as `username`; returns the URL it sends the browser back to."""
        with httpx.Client(timeout=10) as browser:
            response = browser.get(authorize_url)
            for _ in range(6):
                if response.status_code != 302:
                    break
                location = urljoin(str(response.url), response.headers["location"])
                if not location.startswith(self.url):
                    return location  # back to reviewqueue, with code and state
                response = browser.get(location)
            match = _CSRF.search(response.text)
            assert match, f"no sign-in form at {response.url}: {response.status_code} {response.text[:300]}"
            next_url = dict(httpx.QueryParams(urlsplit(str(response.url)).query)).get("next", "")
            form = {
                "csrfmiddlewaretoken": match.group(1),
                "username": username,
                "password": defaults.demo_password(username),
                "next": next_url,
            }
            response = browser.post(str(response.url), data=form, headers={"Referer": str(response.url)})
            while response.status_code == 302:
                location = urljoin(str(response.url), response.headers["location"])
                if not location.startswith(self.url):
                    return location
                response = browser.get(location)
            problem = f"the provider did not send the browser back: {response.status_code} {response.text[:300]}"
            raise AssertionError(problem)

    def stop(self) -> None:
        self.process.stop()


def start_oidc_sandbox(*redirect_uris: str) -> OidcSandbox:
    port = free_port()
    state_dir = Path(tempfile.mkdtemp(prefix="rq-oidc-"))
    argv = [sys.executable, "-m", "reviewqueue.sandbox.oidc", "--port", str(port), "--state-dir", str(state_dir)]
    for uri in redirect_uris or (TEST_CALLBACK,):
        argv += ["--redirect-uri", uri]
    process = Process(name="oidc-sandbox", argv=argv, env=dict(os.environ), log_path=state_dir / "provider.log")
    sandbox = OidcSandbox(port=port, process=process.start())
    wait_for(
        lambda: httpx.get(f"{sandbox.url}/healthz", timeout=2).status_code == 200,
        timeout=60,
        what="OIDC sandbox",
        process=process,
    )
    return sandbox
