#!/usr/bin/env python3
"""An XCAP client built from Python's standard library only, run by test/http/python-urllib.test.ts.

Usage: xcap_urllib.py BASE_URL LOGIN PASSWORD

BASE_URL is the XCAP root (http://host:port/xcap-root). Part 1 uses urllib.request with
HTTPDigestAuthHandler (it answers each 401 itself); selectors are sent raw, with unencoded
" [ ], the way python3-xcaplib sends them. Part 2 uses http.client with a Digest
implementation written here that re-uses one nonce with an increasing nc, as phones do.

Prints one JSON object per step on stdout: {"step", "status", "etag", "type", "body"}.
"""
import hashlib
import http.client
import json
import os
import re
import sys
import urllib.parse
import urllib.request

from xcaplib_cli import send

BASE, LOGIN, PASSWORD = sys.argv[1], sys.argv[2], sys.argv[3]
XUI = "sip:alice@example.com"
DOC = f"{BASE}/resource-lists/users/{XUI}/index"
RL_NS = "urn:ietf:params:xml:ns:resource-lists"

CONTACTS = f"""<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="{RL_NS}">
  <list name="friends">
    <entry uri="sip:bob@example.com"><display-name>Bob</display-name></entry>
  </list>
</resource-lists>
"""


def report(step, status, headers, body):
    print(json.dumps({
        "step": step,
        "status": status,
        "etag": headers.get("ETag") if headers else None,
        "type": headers.get("Content-Type") if headers else None,
        "body": body,
    }), flush=True)


# Part 1: urllib.request + HTTPDigestAuthHandler.
passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
passwords.add_password(None, BASE, LOGIN, PASSWORD)
opener = urllib.request.build_opener(urllib.request.HTTPDigestAuthHandler(passwords))


def call(step, method, url, body=None, content_type=None, headers=None):
    hdrs = dict(headers or {})
    if content_type:
        hdrs["Content-Type"] = content_type
    report(step, *send(opener, method, url, body, hdrs))


FRIENDS = f'{DOC}/~~/resource-lists/list[@name="friends"]'
DAN = f'{FRIENDS}/entry[@uri="sip:dan@example.com"]'

call("put-doc", "PUT", DOC, CONTACTS, "application/resource-lists+xml")
call("get-doc", "GET", DOC)
call("put-el", "PUT", DAN, '<entry uri="sip:dan@example.com"><display-name>Dan</display-name></entry>', "application/xcap-el+xml")
call("get-el", "GET", DAN)
call("get-list", "GET", FRIENDS)
call("put-att", "PUT", f"{DAN}/display-name/@xml:lang", "fr", "application/xcap-att+xml")
call("get-att", "GET", f"{DAN}/display-name/@xml:lang")
call("del-att", "DELETE", f"{DAN}/display-name/@xml:lang")
call("get-att-gone", "GET", f"{DAN}/display-name/@xml:lang")
call("del-el", "DELETE", DAN)
call("get-el-gone", "GET", DAN)
call("conflict", "PUT", f'{FRIENDS}/entry[@uri="sip:a@example.com"]', '<entry uri="sip:b@example.com"/>', "application/xcap-el+xml")

# Part 2: http.client, one nonce re-used with nc 1, 2, 3, ... (qop=auth).
parts = urllib.parse.urlsplit(BASE)
conn = http.client.HTTPConnection(parts.hostname, parts.port)


def raw(method, target, body=None, headers=None):
    conn.request(method, target, body=body, headers=headers or {})
    res = conn.getresponse()
    return res.status, res.headers, res.read().decode("utf-8", "replace")


def challenge(headers):
    for value in headers.get_all("WWW-Authenticate") or []:
        if not value.lower().startswith("digest "):
            continue
        params = dict((k.lower(), v1 or v2) for k, v1, v2 in re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]+))', value[7:]))
        if params.get("algorithm", "MD5").upper() == "MD5":
            return params
    raise SystemExit("no MD5 Digest challenge")


def md5(s):
    return hashlib.md5(s.encode("utf-8")).hexdigest()


def authorization(ch, method, target, nc):
    cnonce = os.urandom(8).hex()
    ha1 = md5(f"{LOGIN}:{ch['realm']}:{PASSWORD}")
    ha2 = md5(f"{method}:{target}")
    ncs = f"{nc:08x}"
    response = md5(f"{ha1}:{ch['nonce']}:{ncs}:{cnonce}:auth:{ha2}")
    return (f'Digest username="{LOGIN}", realm="{ch["realm"]}", nonce="{ch["nonce"]}", uri="{target}", '
            f'algorithm=MD5, qop=auth, nc={ncs}, cnonce="{cnonce}", response="{response}"')


doc_target = urllib.parse.urlsplit(DOC).path
status, headers, _ = raw("GET", doc_target)
report("nonce-challenge", status, headers, "")
ch = challenge(headers)
nonce = ch["nonce"]
targets = [
    ("reuse-get-doc", "GET", doc_target, None, None),
    ("reuse-put-el", "PUT", f'{doc_target}/~~/resource-lists/list[@name="friends"]/entry[@uri="sip:eve@example.com"]',
     '<entry uri="sip:eve@example.com"/>', "application/xcap-el+xml"),
    ("reuse-get-el", "GET", f'{doc_target}/~~/resource-lists/list[@name="friends"]/entry[@uri="sip:eve@example.com"]', None, None),
    ("reuse-del-el", "DELETE", f'{doc_target}/~~/resource-lists/list[@name="friends"]/entry[@uri="sip:eve@example.com"]', None, None),
]
for nc, (step, method, target, body, ctype) in enumerate(targets, start=1):
    hdrs = {"Authorization": authorization(ch, method, target, nc)}
    if ctype:
        hdrs["Content-Type"] = ctype
    status, headers, text = raw(method, target, body.encode("utf-8") if body else None, hdrs)
    report(step, status, headers, text)
# Replaying nc 1 on the same nonce must be refused.
status, headers, text = raw("GET", doc_target, None, {"Authorization": authorization(ch, "GET", doc_target, 1)})
report("replay-nc", status, headers, "stale=true" in (headers.get("WWW-Authenticate") or "").lower() and "stale" or "")
