#!/usr/bin/env python3
"""Replay Keyport's adversarial tests (tests/it/adversarial/*.rs) over real HTTP.

Runs against a Keyport portal that is already running with demo data
(`make run`: http://127.0.0.1:3000, every demo account's password is
`Keyport-demo-1`) and prints a Markdown table `| attack | result | verdict |`.

    python3 replay.py [--base URL] [--pid PID] [--only N,...]

Standard library only. Nothing is built or started here.

Client addresses. The server throttles per client address: twenty failed
sign-ins from one address within five minutes answer 429 to everything
after (portal and consumer API alike), and sixty anonymous consumer-API
failures a minute answer 429. Replayed one after the other from one address
the attacks would mostly measure that throttle. When the base URL is on
127.0.0.1 (as `make run` is) every attack therefore connects from addresses
of its own in 127.0.0.0/8 (Linux routes the whole block to `lo`), chosen
afresh for each run: 127.<run>.<attack>.<n>. The server (without
--trusted-proxy) sees those as distinct clients, exactly as the Rust tests
give their requests distinct peers. --same-source turns this off.

Accounts (README.md "Demo accounts"):
  attack 1 (portal burst)      readonly@acme.example  - view-only, needed by no
                               other attack (the Rust lockout test uses it too)
  attack 2 (consumer burst)    multi@example.com      - API Admin of acme, holds
                               API access, needed by no other attack
  setup / audit checks         super@acme.example     (never attacked)
  attack 4 (real integration)  api@acme.example       (signs in correctly)
  attack 5 (provider audit)    provider@keyport.example (reads the log of
                               "no organisation", where unknown usernames go)
  attack 8 (one real sign-in)  api@globex.example     + 31 unknown usernames
Both victims stay locked for five minutes afterwards.
"""

import argparse
import collections
import concurrent.futures
import functools
import http.client
import http.cookiejar
import ipaddress
import json
import os
import random
import select
import socket
import ssl
import statistics
import sys
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

DEMO_PASSWORD = "Keyport-demo-1"
ORG = "acme"  # src/server/demo.rs: create_org("acme", "Acme Corp")
SUPER = "super@acme.example"
API_ADMIN = "api@acme.example"
PROVIDER = "provider@keyport.example"
PORTAL_VICTIM = "readonly@acme.example"
API_VICTIM = "multi@example.com"
BURST_REAL = "api@globex.example"

# src/server/oauth.rs / server/outbound.rs messages (tests/it/adversarial/ssrf.rs)
NOT_ALLOWED = "The address is not allowed: it points into a private or local network."
NOT_HTTPS = "The JWKS location must be an https URL."

LOCK_AFTER = 5  # server/lockout.rs POLICY.lock_after


def now_ms():
    return int(time.time() * 1000)


def obfuscate(key, timestamp):
    """docs/CONSUMER-API.md "The obfuscation" (login.rs obfuscate_api_key)."""
    n = timestamp[-6:]
    r = "%06d" % (int(n) >> 1)
    return "".join(key[int(d)] for d in n) + "".join(key[int(d) + 2] for d in r)


assert obfuscate("abcdefghijkl", "1700000123456") == "bcdefgcidjek"


def ms(seconds):
    return "%.1f ms" % (seconds * 1000.0)


# --------------------------------------------------------------------------
# HTTP


class Reply:
    def __init__(self, status, headers, body, elapsed):
        self.status = status
        self.headers = headers  # list of (name, value)
        self.body = body
        self.elapsed = elapsed

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def header(self, name):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    def header_names(self, ignore=("date", "x-trace-id", "content-length")):
        return sorted({k.lower() for k, _ in self.headers} - set(ignore))

    @property
    def code(self):
        try:
            data = self.json()
            return data.get("code") if isinstance(data, dict) else None
        except Exception:
            return None

    def field(self, name):
        try:
            return (self.json().get("fields") or {}).get(name)
        except Exception:
            return None

    def short(self, limit=160):
        t = self.text.replace("\n", " ")
        return t if len(t) <= limit else t[:limit] + "..."

    def expect(self, status, what):
        if self.status != status:
            raise RuntimeError("%s: expected %s, got %s %s" % (what, status, self.status, self.short()))
        return self


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class _SourceHTTP(urllib.request.HTTPHandler):
    def __init__(self, source):
        super().__init__()
        self.source = source

    def http_open(self, req):
        cls = http.client.HTTPConnection
        if self.source:
            cls = functools.partial(cls, source_address=(self.source, 0))
        return self.do_open(cls, req)


class _SourceHTTPS(urllib.request.HTTPSHandler):
    def __init__(self, source, context):
        super().__init__(context=context)
        self.source = source
        self.ctx = context

    def https_open(self, req):
        cls = functools.partial(http.client.HTTPSConnection, context=self.ctx)
        if self.source:
            cls = functools.partial(cls, source_address=(self.source, 0))
        return self.do_open(cls, req)


class Client:
    """One browser-less client: its own cookie jar, optionally its own
    source address. Server functions get no Origin header: the server's
    Origin check (server/http.rs check_origin) accepts state-changing
    requests that carry neither Origin nor Referer (scripts)."""

    def __init__(self, base, source=None, timeout=60.0):
        self.base = base.rstrip("/")
        self.source = source
        self.timeout = timeout
        self.jar = http.cookiejar.CookieJar()
        ctx = ssl.create_default_context()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar),
            _SourceHTTP(source),
            _SourceHTTPS(source, ctx),
            _NoRedirect(),
        )

    def request(self, method, path, body=None, headers=None):
        req = urllib.request.Request(self.base + path, data=body, method=method)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        start = time.perf_counter()
        try:
            resp = self.opener.open(req, timeout=self.timeout)
            status, hdrs, data = resp.status, resp.getheaders(), resp.read()
        except urllib.error.HTTPError as e:
            status, hdrs = e.code, list(e.headers.items())
            try:
                data = e.read()
            except Exception:
                data = b""
        except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
            # No answer at all (refused, reset, timeout): status 0, the
            # error as the body, so one bad request does not abort a burst.
            reason = getattr(e, "reason", e)
            return Reply(0, [], ("%s: %s" % (type(reason).__name__, reason)).encode(), time.perf_counter() - start)
        return Reply(status, hdrs, data, time.perf_counter() - start)

    def fn(self, endpoint, fields=None):
        """A server function: POST /api/<endpoint>, form-encoded (docs/API.md)."""
        body = urllib.parse.urlencode(list((fields or {}).items())).encode()
        return self.request(
            "POST",
            "/api/" + endpoint,
            body,
            {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
        )

    def consumer(self, method, path, obj=None, raw=None):
        body, headers = None, {"Accept": "application/json"}
        if obj is not None or raw is not None:
            body = raw if raw is not None else json.dumps(obj).encode()
            headers["Content-Type"] = "application/json"
        return self.request(method, path, body, headers)

    def sign_in(self, username, password=DEMO_PASSWORD):
        return self.fn("session/sign-in", {"username": username, "password": password})

    def has_cookie(self, name):
        return any(c.name == name for c in self.jar)


# --------------------------------------------------------------------------
# Context shared by the attacks


class Sources:
    def __init__(self, enabled):
        self.enabled = enabled
        self.run = random.randint(2, 254)

    def addr(self, attack, n):
        return "127.%d.%d.%d" % (self.run, attack, n) if self.enabled else None


class Ctx:
    def __init__(self, args):
        self.args = args
        self.base = args.base.rstrip("/")
        u = urllib.parse.urlsplit(self.base)
        self.scheme = u.scheme
        self.host = u.hostname
        self.port = u.port or (443 if u.scheme == "https" else 80)
        self.netloc = u.netloc
        self.org = args.org
        self.run_tag = "%06x" % random.getrandbits(24)
        self.lock = threading.RLock()
        self._cache = {}
        self.notes = []
        self.src = Sources(self._sources_usable())

    def _sources_usable(self):
        if self.args.same_source:
            self.notes.append("all requests from one client address (--same-source): expect the address throttles to answer 429")
            return False
        try:
            infos = socket.getaddrinfo(self.host, self.port, socket.AF_INET, socket.SOCK_STREAM)
            ip = ipaddress.ip_address(infos[0][4][0])
        except Exception:
            ip = None
        if ip is None or not ip.is_loopback:
            self.notes.append("the server is not on 127.0.0.0/8: every attack shares one client address, so the address throttles (20 failed sign-ins / 5 min, 60 anonymous failures / min) will answer some requests with 429")
            return False
        probe = "127.%d.0.1" % random.randint(2, 254)
        try:
            s = socket.create_connection((str(ip), self.port), timeout=5, source_address=(probe, 0))
            s.close()
            return True
        except OSError as e:
            self.notes.append("cannot connect from other loopback addresses (%s): one shared client address" % e)
            return False

    def client(self, source=None):
        return Client(self.base, source)

    def login_path(self):
        return "/o/%s/api/v1/authenticatedSession" % self.org

    def status_path(self):
        return "/o/%s/api/v1/status" % self.org

    def _cached(self, name, make):
        with self.lock:
            if name not in self._cache:
                try:
                    self._cache[name] = (True, make())
                except Exception as e:
                    self._cache[name] = (False, e)
            ok, value = self._cache[name]
        if not ok:
            raise RuntimeError("setup failed earlier: %s" % value)
        return value

    def signed_in(self, username):
        def make():
            c = self.client()
            r = c.sign_in(username)
            r.expect(200, "portal sign-in of %s" % username)
            if not c.has_cookie("keyport_session"):
                raise RuntimeError("sign-in of %s set no keyport_session cookie" % username)
            return c

        return self._cached("client:" + username, make)

    def super_client(self):
        return self.signed_in(SUPER)

    def cloud_key(self):
        """The real Cloud Service API key, revealed as a Super Admin
        (api-keys/reveal, kind=cloud_service, as tests/it/usage.rs does)."""

        def make():
            r = self.super_client().fn("api-keys/reveal", {"kind": "cloud_service"})
            r.expect(200, "api-keys/reveal")
            key = r.json()
            if not isinstance(key, str) or len(key) != 12:
                raise RuntimeError("unexpected key answer: %s" % r.short())
            return key

        return self._cached("cloud_key", make)

    def sign_in_body(self, username, password, api_key=None, key=None, ts=None):
        ts = ts or str(now_ms())
        if api_key is None:
            api_key = obfuscate(key, ts)
        return {"apiKey": api_key, "username": username, "password": password, "timestamp": ts}

    def audit(self, client, since, until=None, client_ip=None, max_pages=60, **filters):
        """Audit entries (audit-log/list, newest first, 25 a page) at or
        after `since` (epoch ms), optionally from one client address."""
        out, page = [], 1
        while page <= max_pages:
            fields = {"filter[%s]" % k: v for k, v in filters.items() if v}
            fields["filter[page]"] = str(page)
            r = client.fn("audit-log/list", fields).expect(200, "audit-log/list")
            data = r.json()
            entries = data.get("entries") or []
            for e in entries:
                if e.get("at", 0) >= since and (until is None or e["at"] <= until):
                    if client_ip is None or e.get("client_ip") == client_ip:
                        out.append(e)
            size = data.get("page_size") or 25
            if not entries or entries[-1].get("at", 0) < since or page * size >= data.get("total", 0):
                break
            page += 1
        return out


def parallel(n, prepare):
    """prepare(i) returns a callable; the n callables run in n threads,
    released together by a barrier. Returns their results in order."""
    barrier = threading.Barrier(n)

    def run(i):
        go = prepare(i)
        barrier.wait(timeout=30)
        return go()

    with concurrent.futures.ThreadPoolExecutor(max_workers=n) as ex:
        return list(ex.map(run, range(n)))


def statuses(replies):
    c = collections.Counter(r.status for r in replies)
    out = ", ".join("%d x %s" % (c[s], s if s else "no answer") for s in sorted(c))
    errors = sorted({r.text for r in replies if r.status == 0})
    if errors:
        out += " (no answer: %s)" % "; ".join(errors[:3])
    return out


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS for pid %d" % pid)


# --------------------------------------------------------------------------
# The attacks. Each returns (result text, verdict).


def _burst_verdict(refusals, expect_status, extra_ok):
    bodies = {(r.status, r.body) for r in refusals}
    same = len(bodies) <= 1 and all(r.status == expect_status for r in refusals)
    return same and extra_ok


def attack_1_portal_burst(ctx):
    """lockout.rs twelve_parallel_guesses_check_at_most_five_and_the_lock_does_not_tell."""
    user = ctx.args.portal_victim
    src = ctx.src.addr(1, 1)
    passwords = ["wrong-guess-%d-%s" % (i, ctx.run_tag) for i in range(11)] + [DEMO_PASSWORD]
    t0 = now_ms()

    def one(i):
        c = ctx.client(src)
        return lambda: c.sign_in(user, passwords[i])

    replies = parallel(12, one)
    burst_end = now_ms()
    right = replies[-1]
    refusals = [r for r in replies if r.status != 200]
    wrong_refusals = [r for r in replies[:-1]]
    # Once locked, the right password must get the wrong password's answer.
    time.sleep(0.3)
    c = ctx.client(src)
    r_right = c.sign_in(user, DEMO_PASSWORD)
    r_wrong = c.sign_in(user, "wrong-once-more-" + ctx.run_tag)
    indistinct = (
        r_right.status == r_wrong.status
        and r_right.body == r_wrong.body
        and r_right.header_names() == r_wrong.header_names()
        and r_right.status == 401
    )
    parts = [
        "account %s; burst of 12 (11 wrong + 1 right) from %s: %s" % (user, src or "the shared address", statuses(replies)),
        "right password in the burst: %s" % right.status,
        "refusals identical (status+body): %s" % ("yes" if len({(r.status, r.body) for r in refusals}) <= 1 else "NO"),
        "after the lock: right -> %s, wrong -> %s, indistinguishable (status, body, header names): %s (%s vs %s)"
        % (r_right.status, r_wrong.status, "yes" if indistinct else "NO", ms(r_right.elapsed), ms(r_wrong.elapsed)),
    ]
    checked_ok = True
    try:
        entries = ctx.audit(ctx.super_client(), t0 - 1000, client_ip=src, admin=user, action="sign_in")
        burst = [e for e in entries if e["at"] <= burst_end + 50]
        checked = sum(1 for e in burst if (e.get("result") or "").lower() == "failure" and (e.get("reason") or "").startswith("invalid credentials"))
        locked = sum(1 for e in burst if (e.get("reason") or "").startswith("account locked"))
        ok = sum(1 for e in burst if (e.get("result") or "").lower() == "success")
        later_checked = sum(1 for e in entries if e["at"] > burst_end + 50 and (e.get("reason") or "").startswith("invalid credentials"))
        checked_ok = checked + ok <= LOCK_AFTER and later_checked == 0
        parts.append(
            "audit (acme log, this address): burst passwords checked = %d wrong + %d right (limit %d), %d answered 'account locked' unchecked; checked after the lock: %d"
            % (checked, ok, LOCK_AFTER, locked, later_checked)
        )
        if src is None:
            parts.append("(shared address: audit counts may include other runs)")
    except Exception as e:
        parts.append("audit not readable: %s" % e)
    allowed = {200, 401}
    odd = [r for r in replies if r.status not in allowed]
    if any(r.status == 429 for r in replies):
        parts.append("429 = the address throttle (20 failures / 5 min from one address)")
    ok = (
        not odd
        and all(r.status == 401 for r in wrong_refusals)
        and _burst_verdict(refusals, 401, True)
        and indistinct
        and checked_ok
    )
    return "; ".join(parts), "PASS" if ok else "FAIL"


def attack_2_consumer_burst(ctx):
    """The same burst on POST /o/acme/api/v1/authenticatedSession (right key)."""
    user = ctx.args.api_victim
    if user == ctx.args.portal_victim:
        return "same account as attack 1: skipped (it is locked already)", "SKIP"
    key = ctx.cloud_key()
    src = ctx.src.addr(2, 1)
    passwords = ["wrong-guess-%d-%s" % (i, ctx.run_tag) for i in range(11)] + [DEMO_PASSWORD]
    t0 = now_ms()

    def one(i):
        c = ctx.client(src)
        body = ctx.sign_in_body(user, passwords[i], key=key)
        return lambda: c.consumer("POST", ctx.login_path(), body)

    replies = parallel(12, one)
    burst_end = now_ms()
    right = replies[-1]
    refusals = [r for r in replies if r.status != 200]
    codes = collections.Counter(r.code for r in refusals)
    time.sleep(0.3)
    c = ctx.client(src)
    r_right = c.consumer("POST", ctx.login_path(), ctx.sign_in_body(user, DEMO_PASSWORD, key=key))
    r_wrong = c.consumer("POST", ctx.login_path(), ctx.sign_in_body(user, "wrong-once-more-" + ctx.run_tag, key=key))
    indistinct = (
        r_right.status == r_wrong.status == 400
        and r_right.body == r_wrong.body
        and r_right.header_names() == r_wrong.header_names()
        and r_right.code == "INVALID_USERNAME_OR_PASSWORD"
    )
    parts = [
        "account %s, right key; burst of 12 (11 wrong passwords + 1 right) from %s: %s; refusal codes %s"
        % (user, src or "the shared address", statuses(replies), dict(codes)),
        "right password in the burst: %s%s" % (right.status, " (" + str(right.code) + ")" if right.status != 200 else ""),
        "refusals identical: %s" % ("yes" if len({(r.status, r.body) for r in refusals}) <= 1 else "NO"),
        "after the lock: right -> %s %s, wrong -> %s %s, indistinguishable: %s"
        % (r_right.status, r_right.code, r_wrong.status, r_wrong.code, "yes" if indistinct else "NO"),
    ]
    checked_ok = True
    try:
        entries = ctx.audit(ctx.super_client(), t0 - 1000, client_ip=src, admin=user, action="sign_in")
        burst = [e for e in entries if e["at"] <= burst_end + 50]
        checked = sum(1 for e in burst if (e.get("reason") or "") == "INVALID_USERNAME_OR_PASSWORD")
        locked = sum(1 for e in burst if (e.get("reason") or "").startswith("account locked"))
        ok = sum(1 for e in burst if (e.get("result") or "").lower() == "success")
        later_checked = sum(1 for e in entries if e["at"] > burst_end + 50 and (e.get("reason") or "") == "INVALID_USERNAME_OR_PASSWORD")
        checked_ok = checked + ok <= LOCK_AFTER and later_checked == 0
        parts.append(
            "audit: checked = %d wrong + %d right (limit %d), %d 'account locked' unchecked; checked after the lock: %d"
            % (checked, ok, LOCK_AFTER, locked, later_checked)
        )
    except Exception as e:
        parts.append("audit not readable: %s" % e)
    odd = [r for r in replies if r.status not in (200, 400)]
    if any(r.status == 429 for r in replies):
        parts.append("429 = address throttle or the organisation's 2/s limit")
    ok = (
        not odd
        and all(r.status == 400 and r.code == "INVALID_USERNAME_OR_PASSWORD" for r in replies[:-1])
        and _burst_verdict(refusals, 400, True)
        and indistinct
        and checked_ok
    )
    return "; ".join(parts), "PASS" if ok else "FAIL"


def attack_3_key_timing(ctx):
    """consumer.rs a_wrong_key_costs_the_same_as_a_right_key_with_a_wrong_password."""
    key = ctx.cloud_key()
    n = ctx.args.timing_samples
    src = ctx.src.addr(3, 1)
    c = ctx.client(src)
    wrong_key, right_key, answers = [], [], []
    for i in range(n):
        ts = str(now_ms())
        a = ctx.sign_in_body("timing-a-%s-%d@acme.example" % (ctx.run_tag, i), "x-wrong-x", api_key="AAAAAAAAAAAA", ts=ts)
        b = ctx.sign_in_body("timing-b-%s-%d@acme.example" % (ctx.run_tag, i), "x-wrong-x", key=key, ts=ts)
        order = [("a", a), ("b", b)] if i % 2 == 0 else [("b", b), ("a", a)]
        for kind, body in order:
            r = c.consumer("POST", ctx.login_path(), body)
            (wrong_key if kind == "a" else right_key).append(r.elapsed)
            answers.append((r.status, r.body))
    mw, mr = statistics.median(wrong_key), statistics.median(right_key)
    ratio = mr / mw if mw > 0 else float("inf")
    same = len(set(answers)) == 1
    first = answers[0]
    code = None
    try:
        code = json.loads(first[1]).get("code")
    except Exception:
        pass
    parts = [
        "%d samples each, alternating, unknown usernames, from %s" % (n, src or "the shared address"),
        "median wrong key %s, right key + wrong password %s, ratio %.2f" % (ms(mw), ms(mr), ratio),
        "range wrong key %s-%s, right key %s-%s" % (ms(min(wrong_key)), ms(max(wrong_key)), ms(min(right_key)), ms(max(right_key))),
        "answers: %s" % ("all identical: %s %s" % (first[0], code) if same else "DIFFER: %s" % collections.Counter(s for s, _ in answers)),
    ]
    ok = same and first[0] == 400 and code == "INVALID_USERNAME_OR_PASSWORD" and 0.5 < ratio < 2.0
    return "; ".join(parts), "PASS" if ok else "FAIL"


def attack_4_anonymous_flood(ctx):
    """consumer.rs anonymous_floods_do_not_use_the_organisations_limit."""
    key = ctx.cloud_key()
    rate, seconds = ctx.args.flood_rate, ctx.args.flood_seconds
    attacker = ctx.src.addr(4, 1)
    legit = ctx.client(ctx.src.addr(4, 2))
    r = legit.consumer("POST", ctx.login_path(), ctx.sign_in_body(API_ADMIN, DEMO_PASSWORD, key=key))
    r.expect(200, "the real integration's sign-in (%s)" % API_ADMIN)
    if not legit.has_cookie("JSESSIONID"):
        raise RuntimeError("sign-in set no JSESSIONID")
    time.sleep(1.1)  # the sign-in counted in the organisation's per-second window
    total = int(rate * seconds)
    flood, during = [], []
    done = threading.Event()

    def one_anon():
        return ctx.client(attacker).request("GET", ctx.status_path(), headers={"Accept": "application/json"})

    def run_flood():
        start = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as ex:
            futs = []
            for i in range(total):
                delay = start + i / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                futs.append(ex.submit(one_anon))
            for f in futs:
                flood.append(f.result())
        flood_elapsed[0] = time.perf_counter() - start
        done.set()

    flood_elapsed = [0.0]
    t = threading.Thread(target=run_flood, daemon=True)
    t.start()
    time.sleep(0.3)
    while not done.is_set():
        during.append(legit.request("GET", ctx.status_path(), headers={"Accept": "application/json"}))
        done.wait(0.6)
    t.join()
    time.sleep(0.6)
    after = legit.request("GET", ctx.status_path(), headers={"Accept": "application/json"})
    legit.request("DELETE", ctx.login_path())
    achieved = len(flood) / flood_elapsed[0] if flood_elapsed[0] else 0
    flood_codes = collections.Counter((r.status, r.code) for r in flood)
    no_retry = sum(1 for r in flood if r.status == 429 and not r.header("Retry-After"))
    parts = [
        "flood: %d cookieless GET %s from %s in %.1f s (%.1f/s): %s"
        % (len(flood), ctx.status_path(), attacker or "the shared address", flood_elapsed[0], achieved,
           ", ".join("%d x %s %s" % (n, s, c) for (s, c), n in sorted(flood_codes.items(), key=str))),
        "real API session (%s, own address) during the flood: %s" % (API_ADMIN, statuses(during) or "none"),
        "after: %s" % after.status,
    ]
    if no_retry:
        parts.append("%d x 429 without Retry-After" % no_retry)
    ok = (
        all(r.status in (401, 429) for r in flood)
        and achieved > 2.0
        and all(r.status == 200 for r in during)
        and after.status == 200
        and not no_retry
    )
    return "; ".join(parts), "PASS" if ok else "FAIL"


def _contains_bad(text, marker):
    found = []
    if marker in text:
        found.append("marker")
    if "\u202e" in text:
        found.append("U+202E")
    if "\u200b" in text:
        found.append("U+200B")
    if "a" * 300 in text or "n" * 300 in text:
        found.append("300+ char run")
    return found


def attack_5_hidden_input(ctx):
    """consumer.rs oversized_and_hidden_input_is_refused_and_nothing_is_stored."""
    key = ctx.cloud_key()
    sup = ctx.super_client()
    marker = "kpx%s" % ctx.run_tag
    anon = ctx.client(ctx.src.addr(5, 1))
    before = sup.fn("audit-log/list", {}).expect(200, "audit-log/list").json().get("total")
    t0 = now_ms()
    rows, bad = [], []

    def check(label, reply, status, code, field=None):
        good = reply.status == status and reply.code == code and (field is None or reply.field(field))
        rows.append("%s -> %s %s%s" % (label, reply.status, reply.code, "" if good else " (UNEXPECTED: %s)" % reply.short(100)))
        if not good:
            bad.append(label)

    consumer_names = [
        ("consumer 20,000-char username", marker + "a" * (20000 - len(marker))),
        ("consumer username with U+202E", "api\u202e%s@acme.example" % marker),
        ("consumer username with U+200B", "%s@acme.example\u200b" % marker),
    ]
    for label, name in consumer_names:
        r = anon.consumer("POST", ctx.login_path(), ctx.sign_in_body(name, "x", key=key))
        check(label, r, 400, "INVALID_INPUT")
    r = anon.sign_in(marker + "a" * (20000 - len(marker)), "x")
    check("portal sign-in 20,000-char username", r, 400, "validation", "username")
    r = anon.sign_in("evil\u202e%s@x.example" % marker, "x")
    check("portal sign-in U+202E username", r, 400, "validation", "username")
    created = []
    for label, name in [
        ("token add name with U+200B", "Primary\u200b" + marker),
        ("token add name with U+202E", "\u202e" + marker),
        ("token add 20,000-char name", marker + "n" * (20000 - len(marker))),
    ]:
        r = sup.fn("sandbox-tokens/add", {"name": name})
        check(label, r, 400, "validation", "name")
        if r.status == 200:
            try:
                created.append(r.json()["token"]["id"])
            except Exception:
                pass
    for tid in created:  # should never happen; tidy up if it did
        sup.fn("sandbox-tokens/delete", {"id": str(tid)})
    after = sup.fn("audit-log/list", {}).expect(200, "audit-log/list").json().get("total")
    # Search what was stored: every entry since t0 (all fields), the whole
    # CSV export of acme's log, the tokens' names, and the provider's log
    # (entries of no organisation: unknown usernames go there).
    findings = {}
    entries = ctx.audit(sup, t0 - 1000)
    findings["acme entries since start"] = _contains_bad(json.dumps(entries, ensure_ascii=False), marker)
    csv = sup.request("GET", "/administration/audit-logs/export.csv")
    if csv.status == 200:
        findings["acme CSV export"] = _contains_bad(csv.text, marker)
    else:
        findings["acme CSV export"] = ["not readable: %s" % csv.status]
    tokens = sup.fn("sandbox-tokens/list", {})
    findings["token names"] = _contains_bad(tokens.text, marker) if tokens.status == 200 else ["not readable"]
    try:
        prov = ctx.signed_in(PROVIDER)
        pcsv = prov.request("GET", "/administration/audit-logs/export.csv")
        findings["provider CSV export"] = _contains_bad(pcsv.text, marker) if pcsv.status == 200 else ["not readable: %s" % pcsv.status]
    except Exception as e:
        findings["provider CSV export"] = ["not checked: %s" % e]
    stored = {k: v for k, v in findings.items() if v and not v[0].startswith(("not checked", "not readable"))}
    unread = {k: v for k, v in findings.items() if v and v[0].startswith(("not checked", "not readable"))}
    parts = rows + [
        "acme audit total %s -> %s (%s new entries; other traffic may add some)" % (before, after, (after - before) if isinstance(before, int) and isinstance(after, int) else "?"),
        "stored text search (marker %s, U+202E, U+200B, long runs): %s" % (marker, "nothing found" if not stored else stored),
    ]
    if unread:
        parts.append("not searched: %s" % unread)
    ok = not bad and not stored and not created
    return "; ".join(parts), "PASS" if ok else "FAIL"


def attack_6_ssrf(ctx):
    """ssrf.rs jwks_locations_into_this_machine_or_private_networks_are_refused."""
    sup = ctx.super_client()
    urls = list(ctx.args.ssrf_urls)
    rows, good_all = [], True
    for url in urls:
        r = sup.fn("oauth-servers/validate", {"jwks_url": url, "validate_cert": "true"})
        msg = r.field("jwks_url")
        expected = NOT_HTTPS if url.startswith("http://") else NOT_ALLOWED
        echo = len(r.body) > 600 or "<" in r.text or "ami-" in r.text
        good = r.status == 400 and r.code == "validation" and msg == expected and not echo
        good_all &= good
        rows.append("%s -> %s %s \"%s\" in %s%s" % (url, r.status, r.code, msg if msg else r.short(120), ms(r.elapsed), "" if good else " (UNEXPECTED)"))
    rows.append("(--allow-insecure-jwks on the server would let the loopback ones through to a connection attempt)")
    return "; ".join(rows), "PASS" if good_all else "FAIL"


def attack_7_bad_token_big_body(ctx):
    """consumer.rs a_bad_tokens_body_is_not_read, over a socket: a 20 MiB
    body streamed with a bad token; the 401 must arrive before the body."""
    total = int(ctx.args.submit_mb * 1024 * 1024)
    path = "/o/%s/zscsb/submit?api_token=not-a-token-%s&force=0" % (ctx.org, ctx.run_tag)
    results = []
    for variant in ("streamed", "expect-100"):
        src = ctx.src.addr(7, 1 if variant == "streamed" else 2)
        results.append(_raw_submit(ctx, path, total, src, variant == "expect-100"))
    s, e = results
    parts = [
        "streamed %d MiB, bad token: %s %s after %s; bytes pushed before the answer %d (%.1f%% of the body; an upper bound on what the server read: it includes both kernels' socket buffers); connection %s"
        % (total // (1024 * 1024), s["status"], s["code"], ms(s["t_answer"]) if s["t_answer"] is not None else "no answer",
           s["sent_at_answer"] or 0, 100.0 * (s["sent_at_answer"] or 0) / total, s["end"]),
        "with Expect: 100-continue (informational): %s %s after %s, %s, body bytes sent 0"
        % (e["status"], e["code"], ms(e["t_answer"]) if e["t_answer"] is not None else "no answer",
           "100 Continue came first (the body was asked for)" if e["continue"] else "no 100 Continue (the body was never asked for)"),
    ]
    limit = ctx.args.fast_ms / 1000.0
    ok = (
        s["status"] == 401 and s["code"] == "INVALID_API_TOKEN"
        and s["t_answer"] is not None and s["t_answer"] < limit
        and (s["sent_at_answer"] or 0) < total
    )
    return "; ".join(parts), "PASS" if ok else "FAIL"


def _raw_submit(ctx, path, total, source, expect_continue):
    family = socket.AF_INET6 if ":" in (ctx.host or "") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
    if source:
        sock.bind((source, 0))
    sock.settimeout(10)
    sock.connect((ctx.host, ctx.port))
    if ctx.scheme == "https":
        sock = ssl.create_default_context().wrap_socket(sock, server_hostname=ctx.host)
    head = (
        "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/octet-stream\r\n"
        "Content-Length: %d\r\n%sConnection: close\r\n\r\n"
        % (path, ctx.netloc, total, "Expect: 100-continue\r\n" if expect_continue else "")
    ).encode()
    sock.sendall(head)
    t0 = time.perf_counter()
    sock.setblocking(False)
    chunk = b"x" * (64 * 1024)
    sent, resp = 0, b""
    t_answer = sent_at_answer = None
    end, write_closed, saw_continue = "still open after reading the answer", expect_continue, False
    deadline = t0 + (10 if expect_continue else 60)
    while time.perf_counter() < deadline:
        want_write = not write_closed and t_answer is None and sent < total
        r, w, _ = select.select([sock], [sock] if want_write else [], [], 0.5)
        if r:
            try:
                data = sock.recv(65536)
            except (BlockingIOError, ssl.SSLWantReadError):
                data = None
            except (ConnectionResetError, BrokenPipeError):
                end = "reset by the server"
                break
            if data is not None:
                if not data:
                    end = "closed by the server"
                    break
                resp += data
                if resp.startswith(b"HTTP/1.1 100") and b"\r\n\r\n" in resp:
                    saw_continue = True
                    resp = resp.split(b"\r\n\r\n", 1)[1]
                if t_answer is None and resp.startswith(b"HTTP/"):
                    t_answer = time.perf_counter() - t0
                    sent_at_answer = sent
                if b"\r\n\r\n" in resp:
                    head_part, body_part = resp.split(b"\r\n\r\n", 1)
                    length = None
                    for line in head_part.split(b"\r\n")[1:]:
                        k, _, v = line.partition(b":")
                        if k.strip().lower() == b"content-length":
                            length = int(v.strip())
                    if length is not None and len(body_part) >= length:
                        break
        if w:
            try:
                sent += sock.send(chunk[: min(len(chunk), total - sent)])
            except (BlockingIOError, ssl.SSLWantWriteError):
                pass
            except (ConnectionResetError, BrokenPipeError, OSError):
                write_closed = True
    else:
        end = "timed out"
    try:
        sock.close()
    except Exception:
        pass
    status, code = None, None
    if resp.startswith(b"HTTP/"):
        try:
            status = int(resp.split(b" ", 2)[1])
        except Exception:
            pass
        if b"\r\n\r\n" in resp:
            try:
                code = json.loads(resp.split(b"\r\n\r\n", 1)[1].decode()).get("code")
            except Exception:
                pass
    return {"status": status, "code": code, "t_answer": t_answer, "sent_at_answer": sent_at_answer,
            "sent": sent, "end": end, "continue": saw_continue}


def attack_8_parallel_sign_ins(ctx):
    """The bench's sign-in burst / consumer.rs password_hashing_is_bounded...:
    32 parallel portal sign-ins, each from its own address."""
    n = 32
    pid = ctx.args.pid
    users = [BURST_REAL] + ["burst-%s-%d@acme.example" % (ctx.run_tag, i) for i in range(1, n)]
    samples, stop = [], threading.Event()

    def sampler():
        while not stop.is_set():
            try:
                samples.append(rss_kb(pid))
            except Exception:
                pass
            stop.wait(0.02)

    before = rss_kb(pid) if pid else None
    th = None
    if pid:
        th = threading.Thread(target=sampler, daemon=True)
        th.start()

    def one(i):
        c = ctx.client(ctx.src.addr(8, i + 1))
        return lambda: c.sign_in(users[i], DEMO_PASSWORD)

    start = time.perf_counter()
    replies = parallel(n, one)
    wall = time.perf_counter() - start
    time.sleep(1.0)
    after = rss_kb(pid) if pid else None
    stop.set()
    if th:
        th.join()
    times = sorted(r.elapsed for r in replies)
    busy_no_retry = sum(1 for r in replies if r.status == 503 and not r.header("Retry-After"))
    retry_after = sorted({r.header("Retry-After") for r in replies if r.status == 503})
    odd = [r for r in replies if r.status not in (200, 401, 503)]
    parts = [
        "32 sign-ins (1 right: %s; 31 unknown usernames) from %s: %s in %.2f s wall"
        % (BURST_REAL, "32 addresses" if ctx.src.enabled else "one address", statuses(replies), wall),
        "latency min %s, median %s, max %s" % (ms(times[0]), ms(statistics.median(times)), ms(times[-1])),
        "the real account: %s" % replies[0].status,
    ]
    if retry_after:
        parts.append("503 Retry-After: %s" % ", ".join(str(x) for x in retry_after))
    if busy_no_retry:
        parts.append("%d x 503 WITHOUT Retry-After" % busy_no_retry)
    if odd:
        parts.append("other answers: %s" % "; ".join("%s %s" % (r.status, r.short(80)) for r in odd[:3]))
    if pid:
        parts.append("RSS (pid %d): before %.1f MB, peak %.1f MB, 1 s after %.1f MB"
                     % (pid, before / 1024.0, max(samples + [before, after]) / 1024.0, after / 1024.0))
    else:
        parts.append("RSS not measured (no --pid)")
    ok = not odd and not busy_no_retry and replies[0].status in (200, 503)
    if odd and all(r.status == 429 for r in odd) and not ctx.src.enabled:
        parts.append("429 = the address throttle: all from one address")
    return "; ".join(parts), "PASS" if ok else "FAIL"


ATTACKS = [
    (1, "Portal sign-in burst (12 parallel, 11 wrong + 1 right)", attack_1_portal_burst),
    (2, "Consumer sign-in burst (authenticatedSession)", attack_2_consumer_burst),
    (3, "Key timing (wrong key vs right key + wrong password)", attack_3_key_timing),
    (4, "Anonymous status flood vs a real API session", attack_4_anonymous_flood),
    (5, "Oversized / invisible-character input", attack_5_hidden_input),
    (6, "SSRF via JWKS validate", attack_6_ssrf),
    (7, "Submit: bad token + 20 MiB body", attack_7_bad_token_big_body),
    (8, "32 parallel portal sign-ins (+ RSS)", attack_8_parallel_sign_ins),
]


def cell(text):
    return str(text).replace("|", "\\|").replace("\r", "").replace("\n", "<br>")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", default="http://127.0.0.1:3000", help="the portal's base URL")
    p.add_argument("--pid", type=int, help="the server's PID, for VmRSS in attack 8")
    p.add_argument("--only", help="comma-separated attack numbers, e.g. 1,3,5")
    p.add_argument("--org", default=ORG, help="organisation short name (demo: acme)")
    p.add_argument("--portal-victim", default=PORTAL_VICTIM)
    p.add_argument("--api-victim", default=API_VICTIM)
    p.add_argument("--same-source", action="store_true", help="send everything from one client address")
    p.add_argument("--timing-samples", type=int, default=10, help="attack 3 samples per kind (2n failures from one address; keep 2n <= 20)")
    p.add_argument("--flood-rate", type=float, default=10.0, help="attack 4 requests per second")
    p.add_argument("--flood-seconds", type=float, default=4.0)
    p.add_argument("--submit-mb", type=float, default=20.0)
    p.add_argument("--fast-ms", type=float, default=1000.0, help="attack 7: the 401 must arrive within this")
    p.add_argument("--ssrf-url", dest="ssrf_urls", action="append",
                   help="attack 6 URL (repeatable; default: the four of the brief plus two spellings)")
    p.add_argument("--verbose", action="store_true", help="print tracebacks of failed attacks to stderr")
    args = p.parse_args(argv)
    if not args.ssrf_urls:
        args.ssrf_urls = [
            "https://127.0.0.1/",
            "https://[::ffff:127.0.0.1]/",
            "https://2130706433/",
            "http://169.254.169.254/",
            "https://0x7f000001/",
            "https://169.254.169.254/latest/meta-data",
        ]
    only = None
    if args.only:
        only = {int(x) for x in args.only.replace(" ", "").split(",") if x}
    selected = [a for a in ATTACKS if only is None or a[0] in only]

    ctx = Ctx(args)
    # Sign in as the Super Admin and reveal the key first, before any attack
    # can spend this address's sign-in budget.
    if any(a[0] <= 6 for a in selected):
        for step in (ctx.super_client, ctx.cloud_key):
            try:
                step()
            except Exception:
                pass  # reported by the attacks that need it

    rows = []
    for num, name, fn in selected:
        start = time.perf_counter()
        try:
            result, verdict = fn(ctx)
        except Exception as e:
            result, verdict = "error: %s: %s" % (type(e).__name__, e), "ERROR"
            if args.verbose:
                traceback.print_exc()
        rows.append(("%d. %s" % (num, name), "%s (%.1f s)" % (result, time.perf_counter() - start), verdict))
        print("[%s] %d. %s" % (verdict, num, name), file=sys.stderr, flush=True)

    print("Keyport attack replay against %s, %s UTC; client addresses: %s"
          % (ctx.base, time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
             "one per attack (127.%d.<attack>.<n>)" % ctx.src.run if ctx.src.enabled else "shared"))
    for note in ctx.notes:
        print("Note: " + note)
    print()
    print("| attack | result | verdict |")
    print("|---|---|---|")
    for r in rows:
        print("| %s | %s | %s |" % tuple(cell(x) for x in r))
    return 0 if all(r[2] in ("PASS", "SKIP") for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
