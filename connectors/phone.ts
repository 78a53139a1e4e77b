/**
 * Phone numbers as connectors hand them to the sync engine: E.164 (`+4930123456`), so one
 * number written two ways in a directory or an address book is one value on the phones.
 */
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';

/** E.164 form of `value`, read with `country` for national numbers; undefined when it is not a possible number. */
export function e164(value: string, country: CountryCode | undefined): string | undefined {
  const parsed = parsePhoneNumberFromString(value, country);
  return parsed?.isPossible() ? parsed.number : undefined;
}
