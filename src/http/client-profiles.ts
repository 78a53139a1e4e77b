/**
 * Client profiles: leniency flags for a deployed client that departs from RFC 4825 in a
 * known way, chosen by its User-Agent. Without a matching profile every request is
 * handled strictly. docs/clients.md lists each profile with the client behaviour it answers.
 *
 * Built-in profiles are on by default; `clients.<name>` in the config adds profiles, and
 * one with a built-in's name replaces it (`lenient: []` turns it off). Configured profiles
 * are tried first, then the built-ins, in order; the first whose pattern matches wins.
 */
import type { Config } from '../config/schema.ts';

export interface ClientProfile {
  readonly name: string;
  readonly userAgent: RegExp;
  readonly lenient: ReadonlySet<string>;
}

/** Leniency flag names (config `clients.<name>.lenient`). */
export const LENIENCY_FLAGS = ['entry-without-uri', 'untyped-document'] as const;
export type LeniencyFlag = (typeof LENIENCY_FLAGS)[number];

/** The profiles every server has unless the config replaces them by name. */
export const BUILT_IN_PROFILES: Readonly<Record<string, { userAgent: string; lenient: readonly LeniencyFlag[] }>> = {
  // python3-xcaplib (Blink, the xcapclient3 tool) sends no Content-Type on whole-document
  // PUTs, so urllib adds application/x-www-form-urlencoded.
  xcaplib: { userAgent: '^python-xcaplib/', lenient: ['untyped-document'] },
};

/** The configured profiles followed by the built-ins the config does not replace. */
export function clientProfiles(configured: Config['clients']): ClientProfile[] {
  const profile = (name: string, c: { userAgent: string; lenient: readonly string[] }): ClientProfile => ({
    name,
    userAgent: new RegExp(c.userAgent),
    lenient: new Set(c.lenient),
  });
  return [
    ...Object.entries(configured).map(([name, c]) => profile(name, c)),
    ...Object.entries(BUILT_IN_PROFILES)
      .filter(([name]) => !Object.hasOwn(configured, name))
      .map(([name, c]) => profile(name, c)),
  ];
}
