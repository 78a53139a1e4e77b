/** Every phonebook format by name (format.ts describes the contract). */
import type { FormatName, PhonebookFormat } from '../format.ts';
import { cisco, ciscoSearch } from './cisco.ts';
import { grandstream } from './grandstream.ts';
import { polycom } from './polycom.ts';
import { snom, snomBrowser, snomV2 } from './snom.ts';
import { yealink } from './yealink.ts';
import { yealinkBook } from './yealink-book.ts';

export const FORMATS: ReadonlyMap<FormatName, PhonebookFormat> = new Map(
  [yealink, yealinkBook, grandstream, polycom, snom, snomV2, snomBrowser, cisco, ciscoSearch].map((f) => [f.name, f]),
);
