"""Drives an example org's Trusted Origins API with Okta's Python SDK (`okta`, pinned in
requirements.txt), unmodified: every operation, paging, filters, allowedOktaApps, errors parsed
into the SDK's error type, and a 429 the SDK backs off from.

Usage: python okta_python.py ORG_URL API_TOKEN SPARE_API_TOKEN
Prints `ok <check>` per check; exits 1 with `FAIL <check>: <why>` at the first that fails.
SPARE_API_TOKEN's budget is spent on purpose, so that the SDK meets a 429.
"""

import asyncio
import os
import sys
import time
import urllib.error
import urllib.request

# The SDK refuses http:// org URLs unless told it is being tested; the example org listens on
# plain http on loopback.
os.environ.setdefault("OKTA_TESTING_TESTINGDISABLEHTTPSCHECK", "true")

import okta  # noqa: E402
from okta.client import Client  # noqa: E402
from okta.errors.okta_api_error import OktaAPIError  # noqa: E402
from okta.pagination import PaginationHelper  # noqa: E402
from okta.models import (  # noqa: E402
    IframeEmbedScopeAllowedApps,
    TrustedOrigin,
    TrustedOriginScope,
    TrustedOriginScopeType,
    TrustedOriginWrite,
)

ORG, TOKEN, SPARE = sys.argv[1], sys.argv[2], sys.argv[3]
PID = str(os.getpid())
PREFIX = "py-" + PID + "-"


def check(name, condition, why=""):
    if not condition:
        print(f"FAIL {name}: {why}", flush=True)
        sys.exit(1)
    print(f"ok {name}", flush=True)


def header(resp, name):
    return next((v for k, v in resp.headers.items() if k.lower() == name.lower()), None)


def scope(kind, apps=None):
    if apps is None:
        return TrustedOriginScope(type=TrustedOriginScopeType(kind))
    return TrustedOriginScope(
        type=TrustedOriginScopeType(kind),
        allowed_okta_apps=[IframeEmbedScopeAllowedApps(app) for app in apps],
    )


def write(name, origin, scopes):
    return TrustedOriginWrite(name=PREFIX + name, origin=origin, scopes=scopes)


def client(token):
    return Client({"orgUrl": ORG, "token": token, "rateLimit": {"maxRetries": 2}})


async def main():
    check("sdk version", okta.__version__ == "3.4.6", okta.__version__)
    api = client(TOKEN)

    # Create, with IFRAME_EMBED framing the end-user dashboard, scopes in a given order.
    created, resp, err = await api.create_trusted_origin(
        write("Portal", f"https://portal-{PID}.example.com",
              [scope("REDIRECT"), scope("IFRAME_EMBED", ["OKTA_ENDUSER"]), scope("CORS")])
    )
    check("create", err is None and created.id, err)
    check("create keeps the scopes' order",
          [s.type.value for s in created.scopes] == ["REDIRECT", "IFRAME_EMBED", "CORS"],
          created.scopes)
    iframe = created.scopes[1]
    check("allowedOktaApps round trip on create",
          [a.value for a in iframe.allowed_okta_apps] == ["OKTA_ENDUSER"], iframe)
    check("dates are Okta's .SSSZ", created.created is not None and created.last_updated is not None)
    check("absolute _links", str(created.links.var_self.href).startswith(ORG + "/api/v1/trustedOrigins/"),
          created.links)
    check("request id on every answer", header(resp, "X-Okta-Request-Id"), resp.headers)
    check("rate-limit headers", all(header(resp, "X-Rate-Limit-" + n) for n in ("Limit", "Remaining", "Reset")),
          resp.headers)

    # Get.
    got, _, err = await api.get_trusted_origin(created.id)
    check("get", err is None and got.id == created.id and got.name == PREFIX + "Portal", err)
    check("allowedOktaApps round trip on get",
          [a.value for a in got.scopes[1].allowed_okta_apps] == ["OKTA_ENDUSER"], got.scopes)

    # Replace: the sign-in page only.
    replaced, _, err = await api.replace_trusted_origin(created.id, TrustedOrigin(
        name=PREFIX + "Portal", origin=f"https://portal-{PID}.example.com", scopes=[scope("IFRAME_EMBED", [])]))
    check("replace", err is None and len(replaced.scopes) == 1, err)
    check("allowedOktaApps emptied", replaced.scopes[0].allowed_okta_apps in ([], None), replaced.scopes)

    # Lifecycle.
    deactivated, _, err = await api.deactivate_trusted_origin(created.id)
    check("deactivate", err is None and deactivated.status == "INACTIVE", err or deactivated.status)
    activated, _, err = await api.activate_trusted_origin(created.id)
    check("activate", err is None and activated.status == "ACTIVE", err or activated.status)

    # Paging: seven more, three a page.
    ids = [created.id]
    for n in range(7):
        made, _, err = await api.create_trusted_origin(
            write(f"Partner {n}", f"https://partner{n}-{PID}.py.example", [scope("CORS")]))
        check(f"create partner {n}", err is None, err)
        ids.append(made.id)
    names = []
    pages = 0
    after = None
    while True:
        # The SDK's own paging: the `after` cursor of the `Link: rel="next"` header.
        page, resp, err = await api.list_trusted_origins(q=PREFIX.lower(), limit=3, after=after)
        check(f"list page {pages + 1}", err is None, err)
        pages += 1
        names.extend(o.name for o in page)
        after = PaginationHelper.extract_next_cursor(resp.headers)
        if after is None:
            break
    check("paging follows Link across 3 pages", pages == 3 and len(names) == 8, (pages, names))

    # Filters: or and parentheses, Okta's documented form; and, not, sw.
    filtered, _, err = await api.list_trusted_origins(filter=f'(id eq "{ids[1]}" or id eq "{ids[2]}")')
    check("filter with or and parentheses", err is None and sorted(o.id for o in filtered) == sorted(ids[1:3]),
          err or [o.id for o in filtered])
    filtered, _, err = await api.list_trusted_origins(
        filter=f'name sw "{PREFIX}Partner" AND NOT (origin eq "https://partner0-{PID}.py.example")')
    check("filter with and, not, sw", err is None and len(filtered) == 6, err or [o.name for o in filtered])
    filtered, _, err = await api.list_trusted_origins(
        filter=f'type eq "IFRAME_EMBED" and name eq "{PREFIX}Portal"')
    check("filter on type", err is None and [o.id for o in filtered] == [created.id], err)

    # Errors, parsed into the SDK's error type with Okta's codes.
    _, _, err = await api.get_trusted_origin("tosNOPE")
    check("404 is an OktaAPIError E0000007", isinstance(err, OktaAPIError) and err.error_code == "E0000007", err)
    _, _, err = await api.list_trusted_origins(filter='name eq "a" or')
    check("a bad filter is E0000001", isinstance(err, OktaAPIError) and err.error_code == "E0000001"
          and "at character" in str(err), err)
    _, _, err = await api.create_trusted_origin(
        write("Bad apps", "https://bad.py.example", [scope("CORS", ["OKTA_ENDUSER"])]))
    check("allowedOktaApps outside IFRAME_EMBED is E0000001",
          isinstance(err, OktaAPIError) and err.error_code == "E0000001" and "allowedOktaApps" in str(err), err)
    _, _, err = await api.create_trusted_origin(write("Partner 0", f"https://again-{PID}.py.example", [scope("CORS")]))
    check("a taken name is E0000001", isinstance(err, OktaAPIError) and err.error_code == "E0000001", err)
    _, _, err = await client("00wrong").list_trusted_origins()
    check("a wrong token is E0000011", isinstance(err, OktaAPIError) and err.error_code == "E0000011", err)

    # A 429: spend the spare token's budget, then the SDK waits for X-Rate-Limit-Reset and retries.
    # The budget refills while the SDK's call is on its way, so its call meets the 429 only most
    # of the time: the server's count of limited calls tells whether it did, and the spend is
    # tried again until one did.
    def limited_so_far():
        text = urllib.request.urlopen(ORG + "/metrics").read().decode()
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith("trusted_cors_api_rate_limited_total{"))

    def spend():
        for _ in range(1000):
            request = urllib.request.Request(ORG + "/api/v1/trustedOrigins?limit=1",
                                             headers={"Authorization": "SSWS " + SPARE})
            try:
                urllib.request.urlopen(request).read()
            except urllib.error.HTTPError as error:
                if error.code == 429:
                    return error
                raise
        return None

    # Told not to retry, the SDK hands the 429 over as its own error type.
    no_retry = Client({"orgUrl": ORG, "token": SPARE, "rateLimit": {"maxRetries": 0}})
    limited_error = None
    for _ in range(5):
        check("the budget runs out", spend() is not None)
        _, _, err = await no_retry.list_trusted_origins(limit=1)
        if err is not None:
            limited_error = err
            break
    check("a 429 is an OktaAPIError E0000047",
          isinstance(limited_error, OktaAPIError) and limited_error.error_code == "E0000047",
          limited_error)

    spare = client(SPARE)
    backed_off = None
    for _ in range(5):
        limited = 0
        for _ in range(1000):
            request = urllib.request.Request(ORG + "/api/v1/trustedOrigins?limit=1",
                                             headers={"Authorization": "SSWS " + SPARE})
            try:
                urllib.request.urlopen(request).read()
            except urllib.error.HTTPError as error:
                if error.code == 429:
                    limited += 1
                    check("429 is E0000047 with Retry-After", error.headers.get("Retry-After")
                          and b"E0000047" in error.read(), error.headers)
                    break
                raise
        check("the budget runs out", limited == 1)
        before = limited_so_far()
        started = time.monotonic()
        page, resp, err = await spare.list_trusted_origins(limit=1)
        waited = time.monotonic() - started
        check("the SDK's call succeeds after the spend", err is None, err)
        if limited_so_far() > before:
            backed_off = waited
            break
    check("the SDK backs off from a 429 and succeeds", backed_off is not None and backed_off >= 0.5,
          backed_off)

    # Delete every one made here.
    for id in ids:
        _, _, err = await api.delete_trusted_origin(id)
        check("delete", err is None, err)
    _, _, err = await api.get_trusted_origin(created.id)
    check("deleted is gone", isinstance(err, OktaAPIError) and err.error_code == "E0000007", err)
    print("done", flush=True)


asyncio.run(main())
