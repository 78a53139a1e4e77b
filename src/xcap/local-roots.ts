/**
 * The XCAP roots by which one request can name this server: each configured public root
 * (`server.publicRoots`: the URIs clients use through a TLS proxy or a DNS name) and the
 * root as the request reached it, `http(s)://<Host header><server.root>`. Documents that
 * reference this server by absolute URI (rls-services `<resource-list>`, RFC 4826 §4.4.5)
 * are checked against these roots, so a reference to another host, scheme or root is
 * told apart from one to here.
 */
import { parseXcapUri, type XcapUri } from './uri.ts';

/** A root split into what is compared: origin (scheme, host, port) and path. */
interface Root {
  readonly origin: string;
  readonly path: string;
}

// scheme "://" authority path-abempty [ "?" query ] — no fragment (RFC 3986 §3).
const ABSOLUTE_URI = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^#]*)$/;

export class LocalRoots {
  private readonly sources: readonly string[];
  private readonly defaultDomain: string | undefined;
  /** `sources` split, on first use: most requests never check a reference. */
  private parsed: readonly Root[] | undefined;

  /**
   * @param roots absolute root URIs (`https://xcap.example.com/xcap-root`); a trailing `/` is ignored.
   * @param defaultDomain domain of XUIs written without one, as in request URIs.
   */
  constructor(roots: readonly string[], defaultDomain?: string) {
    this.sources = roots;
    this.defaultDomain = defaultDomain;
  }

  private get roots(): readonly Root[] {
    this.parsed ??= this.sources.flatMap((r) => {
      const m = ABSOLUTE_URI.exec(r);
      const origin = m ? originOf(m[1] as string, m[2] as string) : undefined;
      return m && origin !== undefined ? [{ origin, path: (m[3] as string).replace(/\/$/, '') }] : [];
    });
    return this.parsed;
  }

  /**
   * The roots of one request: `configured` plus `<origin><root>` when the request carried a
   * Host header (`origin` is `http(s)://<Host>` as it reached this listener; behind a TLS
   * proxy, configure the root).
   */
  static forRequest(configured: readonly string[], origin: string | undefined, root: string, defaultDomain?: string): LocalRoots {
    return new LocalRoots(origin ? [...configured, `${origin}${root}`] : configured, defaultDomain);
  }

  /** The constructor's arguments, to rebuild these roots in another thread (src/xcap/validation-pool.ts). */
  spec(): { readonly roots: readonly string[]; readonly defaultDomain: string | undefined } {
    return { roots: this.sources, defaultDomain: this.defaultDomain };
  }

  /** The roots, for messages. */
  describe(): string {
    return this.roots.map((r) => r.origin + r.path).join(', ') || '(none known)';
  }

  /**
   * `uri` parsed as an XCAP URI when it is below one of these roots (scheme and host
   * compared case-insensitively, default ports implied; a `@realm` suffix on the root is
   * allowed as in requests), else `undefined`. The path is taken as written: no dot-segment
   * resolution, so what is checked is what a resource list server would fetch.
   */
  resolve(uri: string): XcapUri | undefined {
    const m = ABSOLUTE_URI.exec(uri);
    if (!m) return undefined;
    const origin = originOf(m[1] as string, m[2] as string);
    const target = m[3] as string;
    for (const root of this.roots) {
      if (root.origin !== origin) continue;
      try {
        return parseXcapUri(target, { root: root.path, defaultDomain: this.defaultDomain });
      } catch {
        // Not an XCAP URI below this root; another root with the same origin may fit.
      }
    }
    return undefined;
  }
}

/** `scheme://host[:port]` normalised (lower case, default port dropped); undefined for userinfo or a bad host. */
function originOf(scheme: string, authority: string): string | undefined {
  if (authority === '' || authority.includes('@')) return undefined;
  try {
    const u = new URL(`${scheme.toLowerCase()}://${authority}/`);
    return `${u.protocol}//${u.host}`;
  } catch {
    return undefined;
  }
}
