#!/usr/bin/env python3
"""A command-line XCAP client that behaves on the wire as python3-xcaplib's xcapclient3
does (the library is not installable here), run by test/http/xcapclient3.test.ts.

Usage: xcaplib_cli.py --xcap-root URL --sip-address sip:USER@DOMAIN --password PW
                      [--app AUID] [--global] [--filename NAME] [--etag E] [-i FILE]
                      get|put|delete [NODE-SELECTOR]

What it does, as xcaplib does:
- urllib.request with a Digest and a Basic handler; the password is registered for
  realm = the SIP domain and login = the user part, so a server challenging with any
  other realm gets no answer (urllib raises the 401);
- User-Agent python-xcaplib/1.2;
- URL = root + /AUID/users/<sip address as given, raw>/<filename, default index>, or
  /AUID/global/<filename>; a node selector is appended after "~~" as typed, its
  " [ ] @ : characters raw;
- no Content-Type of its own on a whole-document PUT (urllib then sends its default,
  application/x-www-form-urlencoded); application/xcap-att+xml when the selector's last
  step starts with "@", else application/xcap-el+xml;
- --etag E sends If-Match: "E";
- a new connection per request (urllib sends Connection: close and answers each 401 on a
  fresh one), no nonce kept between requests;
- the application is guessed from the selector's first step or the document's root tag.

Output: the response body on stdout; "status: N", "etag: E", "content-type: T" on stderr;
for an error, "error: {namespace}tag phrase" from the body parsed as XML. A body that is not
XML ends the program with a traceback, as it does xcapclient3 (urllib gives up on a failed
Digest login with no body at all: "error: (no body)"). Exit 0 on 2xx, else 1.
"""
import argparse
import sys
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET

USER_AGENT = "python-xcaplib/1.2"
APP_BY_ROOT_TAG = {
    "resource-lists": "resource-lists",
    "rls-services": "rls-services",
    "ruleset": "pres-rules",
    "presence": "pidf-manipulation",
    "xcap-caps": "xcap-caps",
}


def send(opener, method, url, body=None, headers=None):
    """One request through `opener`; returns (status, headers, body text), HTTP errors included."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    req = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    try:
        with opener.open(req) as res:
            return res.status, res.headers, res.read().decode("utf-8")
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read().decode("utf-8", "replace")


def node_content_type(node):
    if node is None:
        return None
    return "application/xcap-att+xml" if node[node.rindex("/") + 1:].startswith("@") else "application/xcap-el+xml"


def guess_app(node, body):
    if node is not None:
        return APP_BY_ROOT_TAG.get(node.split("/")[1])
    if body:
        return APP_BY_ROOT_TAG.get(ET.fromstring(body.encode("utf-8")).tag.split("}")[-1])
    return None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--xcap-root", required=True)
    p.add_argument("--sip-address", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--app")
    p.add_argument("--global", dest="globaltree", action="store_true")
    p.add_argument("--filename", default="index")
    p.add_argument("--etag")
    p.add_argument("-i", dest="input_filename")
    p.add_argument("action", choices=["get", "put", "delete"])
    p.add_argument("node", nargs="?")
    args = p.parse_args()

    node = args.node
    if node is not None and not node.startswith("/"):
        node = "/" + node
    body = None
    if args.action == "put":
        body = open(args.input_filename, encoding="utf-8").read() if args.input_filename else sys.stdin.read()
    app = args.app or guess_app(node, body)
    if app is None:
        sys.exit("Please specify --app")

    address = args.sip_address[4:] if args.sip_address.startswith("sip:") else args.sip_address
    username, domain = address.split("@", 1)
    root = args.xcap_root.rstrip("/")
    passwords = urllib.request.HTTPPasswordMgr()
    passwords.add_password(domain, root + "/", username, args.password)
    opener = urllib.request.build_opener(
        urllib.request.HTTPDigestAuthHandler(passwords), urllib.request.HTTPBasicAuthHandler(passwords))

    tree = "global" if args.globaltree else "users/" + args.sip_address
    url = f"{root}/{app}/{tree}/{args.filename}"
    if node:
        url += "/~~" + node
    headers = {"User-Agent": USER_AGENT}
    if args.etag is not None:
        headers["If-Match"] = f'"{args.etag}"'
    if args.action == "put" and node_content_type(node):
        headers["Content-Type"] = node_content_type(node)
    sys.stderr.write(f"url: {url}\n")

    status, res_headers, text = send(opener, args.action.upper(), url, body, headers)
    sys.stderr.write(f"status: {status}\n")
    for name in ("ETag", "Content-Type"):
        if res_headers.get(name):
            sys.stderr.write(f"{name.lower()}: {res_headers.get(name)}\n")
    sys.stdout.write(text)
    if 200 <= status <= 299:
        return 0
    if text == "":
        # urllib's own "digest auth failed" after its retries carries no body of the server's.
        sys.stderr.write("error: (no body)\n")
        return 1
    root_el = ET.fromstring(text.encode("utf-8"))
    condition = next(iter(root_el), root_el)
    sys.stderr.write(f"error: {condition.tag} {condition.get('phrase', '')}\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
