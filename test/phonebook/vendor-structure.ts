/**
 * The documented structure of each vendor's file, as assertions over a strictly parsed body
 * (libxml2: a body that is not well-formed XML fails the test). Each check names what the
 * vendor's documentation requires (docs/phonebooks.md lists the sources followed).
 */
import { DOMParser, type Element } from '@xmldom/xmldom';
import { XmlDocument } from 'libxml2-wasm';
import { expect } from 'vitest';

/** Parses with libxml2 (strict: any well-formedness error throws), then returns an xmldom root for assertions. */
export function strictRoot(body: string): Element {
  const doc = XmlDocument.fromString(body);
  doc.dispose();
  const root = new DOMParser({ onError: (level, msg) => { throw new Error(`${level}: ${msg}`); } }).parseFromString(body, 'text/xml').documentElement;
  if (!root) throw new Error('no root element');
  return root;
}

export function kids(el: Element, name?: string): Element[] {
  return Array.from(el.childNodes).filter((n): n is Element => n.nodeType === 1 && (name === undefined || (n as Element).tagName === name));
}

function only(el: Element, allowed: readonly string[]): void {
  for (const k of kids(el)) expect(allowed, `<${k.tagName}> inside <${el.tagName}>`).toContain(k.tagName);
}

function textOf(el: Element, name: string): string {
  const found = kids(el, name);
  expect(found.length, `one <${name}> in <${el.tagName}>`).toBe(1);
  return (found[0] as Element).textContent ?? '';
}

/** A row of any format: the name shown and the numbers dialled. */
export interface Row {
  name: string;
  numbers: string[];
}

/** Checks `body` against the vendor structure of `format` and returns its rows. */
export function rowsOf(format: string, body: string): Row[] {
  const root = strictRoot(body);
  switch (format) {
    case 'yealink': {
      expect(root.tagName).toBe('YealinkIPPhoneDirectory');
      only(root, ['DirectoryEntry', 'MenuItem']);
      return kids(root, 'DirectoryEntry').map((e) => {
        only(e, ['Name', 'Telephone']);
        const numbers = kids(e, 'Telephone').map((t) => t.textContent ?? '');
        expect(numbers.length).toBeGreaterThan(0);
        return { name: textOf(e, 'Name'), numbers };
      });
    }
    case 'yealink-book': {
      expect(root.tagName).toBe('YealinkIPPhoneBook');
      only(root, ['Title', 'Menu']);
      return kids(root, 'Menu').flatMap((m) => {
        expect(m.getAttribute('Name')).not.toBe('');
        only(m, ['Unit']);
        return kids(m, 'Unit').map((u) => {
          for (const a of ['Name', 'Phone1', 'Phone2', 'Phone3']) expect(u.hasAttribute(a), `Unit@${a}`).toBe(true);
          expect(u.getAttribute('Phone1')).not.toBe('');
          return { name: u.getAttribute('Name') ?? '', numbers: ['Phone1', 'Phone2', 'Phone3'].map((a) => u.getAttribute(a) ?? '').filter((p) => p !== '') };
        });
      });
    }
    case 'grandstream': {
      expect(root.tagName).toBe('AddressBook');
      only(root, ['version', 'pbgroup', 'Contact']);
      const groupIds = kids(root, 'pbgroup').map((g) => {
        only(g, ['id', 'name']);
        expect(textOf(g, 'name')).not.toBe('');
        return textOf(g, 'id');
      });
      return kids(root, 'Contact').map((c) => {
        only(c, ['FirstName', 'LastName', 'Phone', 'Group']);
        const phones = kids(c, 'Phone');
        expect(phones.length).toBeGreaterThan(0);
        for (const p of phones) {
          expect(['Work', 'Home', 'Cell']).toContain(p.getAttribute('type'));
          only(p, ['phonenumber', 'accountindex']);
          expect(textOf(p, 'accountindex')).toMatch(/^\d+$/);
        }
        expect(groupIds).toContain(textOf(c, 'Group'));
        return { name: [textOf(c, 'FirstName'), textOf(c, 'LastName')].filter((s) => s !== '').join(' '), numbers: phones.map((p) => textOf(p, 'phonenumber')) };
      });
    }
    case 'polycom': {
      expect(root.tagName).toBe('directory');
      only(root, ['item_list']);
      const list = kids(root, 'item_list');
      expect(list.length).toBe(1);
      only(list[0] as Element, ['item']);
      const rows = kids(list[0] as Element, 'item').map((i) => {
        only(i, ['fn', 'ln', 'ct', 'sd', 'bw']);
        for (const f of ['fn', 'ln']) expect(Buffer.byteLength(textOf(i, f))).toBeLessThanOrEqual(40);
        expect(['0', '1']).toContain(textOf(i, 'bw'));
        const ct = textOf(i, 'ct');
        expect(ct).not.toBe('');
        return { name: [textOf(i, 'fn'), textOf(i, 'ln')].filter((s) => s !== '').join(' '), numbers: [ct] };
      });
      const cts = rows.map((r) => r.numbers[0]);
      expect(new Set(cts).size, 'ct unique per file').toBe(cts.length);
      return rows;
    }
    case 'snom': {
      expect(root.tagName).toBe('tbook');
      expect(root.getAttribute('complete')).toBe('true');
      only(root, ['item']);
      const items = kids(root, 'item');
      const indexes = items.map((i) => i.getAttribute('index'));
      expect(new Set(indexes).size, 'index unique').toBe(items.length);
      const rows = items.map((i) => {
        expect(i.getAttribute('context')).not.toBeNull();
        expect(i.getAttribute('type')).not.toBeNull();
        expect(i.getAttribute('index')).toMatch(/^\d+$/);
        only(i, ['name', 'first_name', 'last_name', 'number', 'number_type']);
        return { name: textOf(i, 'name'), numbers: [textOf(i, 'number')] };
      });
      const numbers = rows.map((r) => r.numbers[0]);
      expect(new Set(numbers).size, 'number unique per file').toBe(numbers.length);
      return rows;
    }
    case 'snom-v2': {
      expect(root.tagName).toBe('tbook');
      expect(root.getAttribute('version')).toBe('2.0');
      expect(root.getAttribute('complete')).toBe('true');
      only(root, ['contact']);
      const rows = kids(root, 'contact').map((c) => {
        only(c, ['first_name', 'last_name', 'group', 'numbers']);
        const numbers = kids(kids(c, 'numbers')[0] as Element, 'number');
        expect(numbers.length).toBeGreaterThan(0);
        for (const n of numbers) {
          expect(['business', 'mobile', 'home']).toContain(n.getAttribute('type'));
          expect(n.getAttribute('outgoing_id')).toBe('0');
        }
        return { name: [textOf(c, 'first_name'), textOf(c, 'last_name')].filter((s) => s !== '').join(' '), numbers: numbers.map((n) => n.getAttribute('no') ?? '') };
      });
      const all = rows.flatMap((r) => r.numbers);
      expect(new Set(all).size, 'number unique per file').toBe(all.length);
      return rows;
    }
    case 'snom-browser':
    case 'cisco': {
      expect(root.tagName).toBe(format === 'cisco' ? 'CiscoIPPhoneDirectory' : 'SnomIPPhoneDirectory');
      only(root, ['Title', 'Prompt', 'DirectoryEntry', 'SoftKeyItem']);
      const entries = kids(root, 'DirectoryEntry');
      if (format === 'cisco') expect(entries.length).toBeLessThanOrEqual(32);
      return entries.map((e) => {
        only(e, ['Name', 'Telephone']);
        const name = textOf(e, 'Name');
        const tel = textOf(e, 'Telephone');
        if (format === 'cisco') {
          expect([...name].length).toBeLessThanOrEqual(32);
          expect([...tel].length).toBeLessThanOrEqual(32);
        }
        return { name, numbers: [tel] };
      });
    }
    case 'cisco-search': {
      expect(root.tagName).toBe('CiscoIPPhoneInput');
      only(root, ['Title', 'Prompt', 'URL', 'InputItem']);
      const item = kids(root, 'InputItem');
      expect(item.length).toBe(1);
      only(item[0] as Element, ['DisplayName', 'QueryStringParam', 'DefaultValue', 'InputFlags']);
      expect(textOf(item[0] as Element, 'QueryStringParam')).toBe('q');
      return [];
    }
    default:
      throw new Error(`no structure for ${format}`);
  }
}
