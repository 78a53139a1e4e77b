import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSchema } from '../../src/appusage/schema.ts';
import { NotWellFormed, SchemaValidationError } from '../../src/xcap/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'xsd-'));
function write(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const base = write(
  'base.xsd',
  `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:test:base" elementFormDefault="qualified">
     <xs:complexType name="nameType"><xs:attribute name="v" type="xs:int" use="required"/></xs:complexType>
   </xs:schema>`,
);
const main = write(
  'main.xsd',
  `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:b="urn:test:base" targetNamespace="urn:test:main" elementFormDefault="qualified">
     <xs:import namespace="urn:test:base" schemaLocation="base.xsd"/>
     <xs:element name="doc"><xs:complexType><xs:sequence>
       <xs:element name="item" type="b:nameType" maxOccurs="unbounded"/>
     </xs:sequence></xs:complexType></xs:element>
   </xs:schema>`,
);

describe('RFC 4825 §5.3 schema validation (libxml2-wasm)', () => {
  const schema = loadSchema(main, { imports: [base] });

  it('accepts a valid document, resolving xs:import from the given files', () => {
    expect(() => schema.validate('<doc xmlns="urn:test:main"><item v="1"/></doc>')).not.toThrow();
  });

  it('rejects an invalid one with libxml2\'s first complaint as the phrase, namespaces elided', () => {
    let err: unknown;
    try {
      schema.validate('<doc xmlns="urn:test:main"><item v="x"/></doc>');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SchemaValidationError);
    const phrase = (err as SchemaValidationError).phrase ?? '';
    expect(phrase).toContain("'v'");
    expect(phrase).not.toContain('urn:test');
  });

  it('keeps validating after many documents, valid and invalid (documents are disposed)', () => {
    for (let i = 0; i < 2000; i++) {
      if (i % 2) expect(() => schema.validate('<doc xmlns="urn:test:main"/>')).toThrow(SchemaValidationError);
      else schema.validate(`<doc xmlns="urn:test:main"><item v="${i}"/></doc>`);
    }
  });

  it('reports a text that does not parse as not-well-formed', () => {
    expect(() => schema.validate('<doc xmlns="urn:test:main">')).toThrow(NotWellFormed);
  });

  it('does not expand entities or load external DTDs while validating', () => {
    const text = `<!DOCTYPE doc [<!ENTITY x SYSTEM "file:///etc/passwd">]><doc xmlns="urn:test:main"><item v="1"/>&x;</doc>`;
    expect(() => schema.validate(text)).toThrow(SchemaValidationError);
    expect(() => schema.validate(text)).not.toThrow(/root:/);
  });

  it('refuses an import it was not given (no file system or network fallback)', () => {
    const lonely = write(
      'lonely.xsd',
      `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:o="urn:test:other" targetNamespace="urn:test:lonely">
         <xs:import namespace="urn:test:other" schemaLocation="http://example.invalid/other.xsd"/>
         <xs:element name="x" type="o:missing"/>
       </xs:schema>`,
    );
    expect(() => loadSchema(lonely)).toThrow(/lonely\.xsd does not compile/);
  });

  it('names the file when a schema cannot be read', () => {
    expect(() => loadSchema(join(dir, 'absent.xsd'))).toThrow(/absent\.xsd cannot be read/);
  });
});
