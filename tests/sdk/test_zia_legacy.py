#!/usr/bin/env python3
"""The public Zscaler Python SDK against a real Keyport (`make test-sdk`).

Runs the SDK exactly as PyPI ships it (zscaler-sdk-python, pinned in
tests/sdk/requirements.txt; nothing patched) against `keyport serve --demo`
on a free port over a fresh SQLite database. Through the SDK's
`LegacyZIAClientHelper`, with the Base URL the portal shows as its
`override_url`: sign in, a status call and an activation; the key
regenerated on the portal, the old key's sign-in refused with the SDK's own
error and the new key signing in; the key edited (set to a chosen value)
and the previous one refused; sign out, and the session dead afterwards.
The portal side (reveal, regenerate, edit) goes through the portal's server
functions as the demo's API Admin, as a script would.

Usage: test_zia_legacy.py [path/to/keyport]   (default target/debug/keyport)
Exits 0 when every step passed; otherwise prints the step, the reason and
the end of the server log, and exits 1.
"""

import os
import secrets
import socket
import string
import subprocess
import sys
import tempfile
import time

import requests
from zscaler.errors.zscaler_api_error import ZscalerAPIError
from zscaler.zia.legacy import LegacyZIAClientHelper

ORG = "acme"
# The demo's API Admin of acme (src/server/demo.rs): may reveal, regenerate
# and edit the Cloud Service API key, and has API access.
ADMIN = "api@acme.example"
KIND = "cloud_service"
# Keyport's own start-up and the SDK's calls; the whole run takes seconds.
START_TIMEOUT_S = 60
# The organisation's default limit is 2 requests a second (fixed one-second
# windows), and the SDK checks the session (GET authenticatedSession) before
# every call, so one SDK call is two requests. A 429 on that check makes the
# SDK sign in again, and a 429 on signing in is raised, not retried: so each
# counted SDK operation starts in a fresh window, as a client at the
# production limits must (docs/CONSUMER-API.md#the-public-python-sdk).
WINDOW_S = 1.0


class StepFailed(Exception):
    pass


def check(ok, what):
    if not ok:
        raise StepFailed(what)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_keyport(binary, workdir, log_path, started):
    """`keyport serve --demo` on a free port over a fresh database in
    `workdir`, its output in `log_path`; `started(process)` is called at
    once, so the caller can stop it whatever happens next. Returns the
    portal's URL once it answers."""
    port = free_port()
    env = dict(
        os.environ,
        DATABASE_URL=f"sqlite://{workdir}/keyport.db",
        LEPTOS_SITE_ROOT=os.path.join(workdir, "site"),
        RUST_LOG="warn",
    )
    # The defaults are production's: the SDK must cope with the real rate
    # limits and idle timeout, not a test-only configuration.
    for name in list(env):
        if name.startswith("KEYPORT_"):
            del env[name]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [binary, "serve", "--demo", "--addr", f"127.0.0.1:{port}"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    started(proc)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            raise StepFailed(f"keyport exited with {proc.returncode} at start-up")
        try:
            if requests.post(f"{url}/api/session/info", timeout=2).ok:
                return url
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            raise StepFailed(f"keyport did not answer within {START_TIMEOUT_S} s")
        time.sleep(0.2)


class Portal:
    """The portal's server functions, signed in as `ADMIN`."""

    def __init__(self, url):
        self.url = url
        self.http = requests.Session()
        info = self.http.post(f"{url}/api/session/info", timeout=10).json()
        self.password = info.get("demo_password")
        check(self.password, "the --demo portal names its demo password")
        self.call("session/sign-in", username=ADMIN, password=self.password)

    def call(self, endpoint, **form):
        r = self.http.post(f"{self.url}/api/{endpoint}", data=form, timeout=30)
        check(r.ok, f"portal {endpoint}: {r.status_code} {r.text[:300]}")
        return r.json()

    def reveal(self):
        return self.call("api-keys/reveal", kind=KIND)

    def regenerate(self):
        return self.call("api-keys/regenerate", kind=KIND)

    def edit(self, key):
        self.call("api-keys/edit", kind=KIND, key=key)


def pace():
    """Waits out the organisation's one-second rate-limit window."""
    time.sleep(WINDOW_S)


def sdk_sign_in(base, key, password):
    """The SDK signs in in its constructor (`authenticate`)."""
    pace()
    return LegacyZIAClientHelper(
        cloud="zscaler",
        override_url=base,
        api_key=key,
        username=ADMIN,
        password=password,
    )


def expect_refused(base, key, password, why):
    """The SDK's sign-in with `key` fails with the SDK's own error, carrying
    Keyport's status and code."""
    try:
        sdk_sign_in(base, key, password)
    except ZscalerAPIError as e:
        check(
            (e.status_code, e.error_code) == (400, "INVALID_USERNAME_OR_PASSWORD"),
            f"{why}: refused, but with {e.status_code} {e.error_code}",
        )
        return
    raise StepFailed(f"{why}: the SDK signed in")


def expect_status(client, what):
    """One status call through the SDK (`activate.status()`), ACTIVE."""
    pace()
    result, _, error = client.activate.status()
    check(error is None, f"{what}: the status call failed: {error}")
    check(result.status == "ACTIVE", f"{what}: status {result.status!r}")


def new_key():
    """A key the portal's Edit accepts: 12 characters A-Z a-z 0-9."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(12))


def run(url):
    base = f"{url}/o/{ORG}"
    portal = Portal(url)
    password = portal.password
    first = portal.reveal()
    check(isinstance(first, str) and len(first) == 12, "reveal answers the 12-character key")

    step("sign in with the key the portal reveals")
    client = sdk_sign_in(base, first, password)
    check(client.session_id, "the SDK found JSESSIONID in Set-Cookie")
    check(client.auth_details.get("authType") == "ADMIN_LOGIN", f"sign-in body {client.auth_details}")
    expect_status(client, "first key")
    pace()
    result, _, error = client.activate.activate()
    check(error is None and result.status == "ACTIVE", f"activate: {error or result.status}")

    step("regenerate on the portal: the old key and its session stop working")
    second = portal.regenerate()
    check(second != first, "regenerate gives a new key")
    check(not client.validate_session_status(), "the old key's session survived Regenerate")
    expect_refused(base, first, password, "the regenerated-away key")
    client = sdk_sign_in(base, second, password)
    expect_status(client, "regenerated key")

    step("edit on the portal (a chosen value): the previous key stops working")
    third = new_key()
    while third in (first, second):
        third = new_key()
    portal.edit(third)
    check(portal.reveal() == third, "the portal keeps the edited value")
    expect_refused(base, second, password, "the edited-away key")
    client = sdk_sign_in(base, third, password)
    expect_status(client, "edited key")

    step("sign out through the SDK: the session is dead")
    session_id = client.session_id
    check(client.deauthenticate() is True, "deauthenticate() saw 204")
    headers = dict(client.headers, Cookie=f"JSESSIONID={session_id}")
    after = requests.get(f"{base}/api/v1/status", headers=headers, timeout=10)
    check(
        after.status_code == 401 and after.json().get("code") == "SESSION_NOT_VALID",
        f"the signed-out session answered {after.status_code} {after.text[:200]}",
    )
    alive = requests.get(f"{base}/api/v1/authenticatedSession", headers=headers, timeout=10)
    check(alive.status_code == 401, f"GET authenticatedSession after sign-out: {alive.status_code}")


CURRENT = ["start Keyport"]


def step(what):
    CURRENT[0] = what
    print(f"-- {what}", flush=True)


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "target/debug/keyport"
    if not os.access(binary, os.X_OK):
        print(f"no Keyport binary at {binary}: build it with `cargo build --features ssr`", file=sys.stderr)
        return 1
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="keyport-sdk-") as workdir:
        log_path = os.path.join(workdir, "keyport.log")
        procs = []
        try:
            run(start_keyport(binary, workdir, log_path, procs.append))
        except (StepFailed, AssertionError, ZscalerAPIError, requests.RequestException) as e:
            print(f"FAILED at '{CURRENT[0]}': {e}", file=sys.stderr)
            if os.path.exists(log_path):
                with open(log_path, errors="replace") as log:
                    tail = log.read()[-4000:]
                print(f"--- end of the Keyport log ---\n{tail}", file=sys.stderr)
            return 1
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.terminate()
                    try:
                        proc.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        proc.kill()
    print(f"zscaler-sdk-python against Keyport: every step passed ({time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
