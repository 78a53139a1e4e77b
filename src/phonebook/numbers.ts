/**
 * Numbers as each phone dials them. Entries hold numbers normalized to E.164 by the
 * connectors (the LDAP connector's phone attributes), or as a phone or user typed them
 * (`030 1234567`, `1001`). A number style turns either into what one phone dials: an
 * extension rule first (`\+4930123(\d{4})` → `$1`), else E.164 or the national form.
 */
import { getCountryCallingCode, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';
import type { NumberStyleConfig } from './config.ts';

/** Characters a phone dials; anything else in a stored number is punctuation (`(030) 12-34`). */
const DIALABLE = /^\+?[0-9*#]+$/;
const E164 = /^\+[1-9][0-9]{6,14}$/;
/** Numbers remembered per style. */
const MEMO_SIZE = 200_000;

export class NumberStyle {
  readonly #style: NumberStyleConfig['style'];
  readonly #country: CountryCode | undefined;
  readonly #readCountry: CountryCode | undefined;
  readonly #rules: readonly { match: RegExp; replace: string }[];
  /** Stable text of the settings, part of the phonebook ETag. */
  readonly fingerprint: string;
  /** E.164 style without extension rules: stored E.164 numbers go out unchanged. */
  readonly #plain: boolean;
  readonly #memo = new Map<string, string | undefined>();

  /** @param readCountry country of numbers stored without a country code (`phonebook.defaultCountry`). */
  constructor(cfg: NumberStyleConfig, readCountry: string | undefined) {
    this.#style = cfg.style;
    this.#readCountry = readCountry as CountryCode | undefined;
    this.#country = (cfg.country ?? readCountry) as CountryCode | undefined;
    this.#rules = cfg.extensions.map((r) => ({ match: new RegExp(`^(?:${r.match})$`, 'u'), replace: r.replace }));
    this.#plain = cfg.style === 'e164' && cfg.extensions.length === 0;
    this.fingerprint = JSON.stringify([cfg.style, this.#country ?? '', this.#readCountry ?? '', cfg.extensions]);
  }

  /**
   * What the phone dials for the stored `value`, or `undefined` when it is not a number
   * (a phone cannot dial `n/a` or a SIP address).
   */
  dial(value: string): string | undefined {
    // Connectors store E.164: with no rule and no national style it is what the phone dials.
    if (this.#plain && E164.test(value)) return value;
    let dialled = this.#memo.get(value);
    if (dialled === undefined && !this.#memo.has(value)) {
      dialled = this.#dial(value);
      // Every user's copy of a directory has the same numbers: one parse per number and style.
      if (this.#memo.size >= MEMO_SIZE) this.#memo.clear();
      this.#memo.set(value, dialled);
    }
    return dialled;
  }

  #dial(value: string): string | undefined {
    const compact = value.replace(/[\s()./-]/g, '');
    if (!DIALABLE.test(compact)) return undefined;
    const parsed = parsePhoneNumberFromString(compact, this.#readCountry);
    // Short numbers (extensions, `*97`) are dialled as written.
    if (!parsed?.isPossible()) return compact;
    const e164 = parsed.number;
    for (const r of this.#rules) if (r.match.test(e164)) return e164.replace(r.match, r.replace);
    if (this.#style === 'e164' || this.#country === undefined) return e164;
    // Same calling code (+1 covers several countries): dialled nationally.
    const form = parsed.countryCallingCode === getCountryCallingCode(this.#country)
      ? parsed.formatNational()
      : parsed.format('IDD', { fromCountry: this.#country });
    const digits = form.replace(/[^0-9*#+]/g, '');
    return digits === '' ? e164 : digits;
  }
}
