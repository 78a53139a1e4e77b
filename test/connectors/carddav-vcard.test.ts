/**
 * The vCard codec on cards Radicale will not store but other servers serve (vCard 2.1,
 * no FN, broken syntax, no UID): ical.js reads them here exactly as the connector does
 * with what a server sends.
 */
import { describe, expect, it } from 'vitest';
import { carddavConnectorSchema } from '../../connectors/carddav/index.ts';
import { CardCodec, serialize } from '../../connectors/carddav/vcard.ts';

const codec = new CardCodec(carddavConnectorSchema.parse({ kind: 'carddav', url: 'http://dav.example.com', credentials: { passwordEnv: 'X' } }).mapping);

describe('carddav: vCard codec', () => {
  it('vCard 2.1, text that is not a vCard, and a card without UID are skipped with the reason', () => {
    expect(codec.parse('BEGIN:VCARD\r\nVERSION:2.1\r\nUID:a\r\nN:Alt;Otto\r\nTEL;CELL:+4915100000000\r\nEND:VCARD\r\n')).toEqual({ skip: 'vCard 2.1 is not supported (only 3.0 and 4.0)' });
    expect(codec.parse('BEGIN:VCARD\r\nVERSION:3.0\r\nthis line has no colon\r\nEND:VCARD\r\n')).toHaveProperty('skip', expect.stringMatching(/^malformed vCard/));
    expect(codec.parse('BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n')).toEqual({ skip: 'not one vCard' });
    expect(codec.parse('BEGIN:VCARD\r\nVERSION:3.0\r\nFN:x\r\nEND:VCARD\r\n')).toEqual({ skip: 'the vCard has no UID' });
  });

  it('REV is the modification time newest-wins compares; an unreadable REV gives none and the card is still read', () => {
    for (const [rev, t] of [['2026-12-01T10:00:00Z', Date.UTC(2026, 11, 1, 10)], ['20261201T100000Z', Date.UTC(2026, 11, 1, 10)], ['garbage', undefined]] as const) {
      const parsed = codec.parse(`BEGIN:VCARD\r\nVERSION:3.0\r\nUID:r\r\nFN:R\r\nIMPP:sip:r@example.com\r\nREV:${rev}\r\nEND:VCARD\r\n`);
      if ('skip' in parsed) throw new Error(parsed.skip);
      expect(codec.modified(parsed.card)).toBe(t);
      expect(codec.fields(parsed.card)).toEqual({ uri: 'sip:r@example.com', 'display-name': 'R' });
    }
  });

  it('a card without FN takes its display name from N; writing a name adds FN and keeps N', () => {
    const parsed = codec.parse('BEGIN:VCARD\r\nVERSION:4.0\r\nUID:k\r\nN:Keller;Jonas;;Dr.;\r\nEMAIL:jonas@example.com\r\nEND:VCARD\r\n');
    if ('skip' in parsed) throw new Error(parsed.skip);
    expect(codec.fields(parsed.card)).toEqual({ uri: 'mailto:jonas@example.com', 'display-name': 'Dr. Jonas Keller', mail: 'jonas@example.com' });
    expect(codec.edit(parsed.card, { uri: 'mailto:jonas@example.com', 'display-name': 'Dr. Jonas Keller' }, ['uri', 'display-name'])).toBe(false);
    expect(codec.edit(parsed.card, { uri: 'mailto:jonas@example.com', 'display-name': 'Jonas Keller' }, ['uri', 'display-name'])).toBe(true);
    const text = serialize(parsed.card);
    expect(text).toMatch(/^FN:Jonas Keller\r$/m);
    expect(text).toMatch(/^N:Keller;Jonas;;Dr\.;\r$/m);
  });

  it('a new sip uri from the phone replaces the IMPP it came from; a tel uri on a card with a sip IMPP takes the IMPP out', () => {
    const parsed = codec.parse('BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u\r\nFN:U\r\nIMPP:sip:old@example.com\r\nTEL;TYPE=WORK:+49301234567\r\nEND:VCARD\r\n');
    if ('skip' in parsed) throw new Error(parsed.skip);
    codec.edit(parsed.card, { uri: 'sip:new@example.com' }, ['uri']);
    expect(codec.fields(parsed.card).uri).toBe('sip:new@example.com');
    codec.edit(parsed.card, { uri: 'tel:+49309999999' }, ['uri']);
    expect(codec.fields(parsed.card)).toEqual({ uri: 'tel:+49309999999', 'display-name': 'U', phone: '+49309999999' });
    expect(serialize(parsed.card)).not.toContain('IMPP');
  });
});
