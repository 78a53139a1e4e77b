/**
 * XML Schema validation for application usages (RFC 4825 §5.3), on libxml2-wasm.
 *
 * A schema is compiled once at start-up with `loadSchema` and then validates any number of
 * documents. `xs:import`s between the project's own .xsd files are served from memory by one
 * input provider that knows only the files handed to `loadSchema`: nothing is fetched from
 * the network or read from anywhere else. Instance documents are parsed without DTD loading,
 * external entities or entity substitution.
 *
 * libxml2 documents live in wasm memory, outside the JS garbage collector: every document
 * parsed here is disposed before `validate` returns, error or not.
 *
 * A fast path runs first (schema/fast-validator.ts: one scan of the text against the schema
 * compiled to JS, no DOM). It decides only acceptance: whenever it does not accept, libxml2
 * validates and its verdict and message are what the caller gets. A schema using constructs
 * the fast path does not support is validated by libxml2 alone.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  ParseOption,
  XmlDocument,
  XmlError,
  XmlLibError,
  XmlParseError,
  XsdValidator,
  xmlRegisterInputProvider,
} from 'libxml2-wasm';
import type { XmlInputProvider } from 'libxml2-wasm';
import { XmlErrorStruct } from 'libxml2-wasm/lib/libxml2.mjs';
import type { Document, Element } from '@xmldom/xmldom';
import { ConstraintFailure, NotWellFormed, SchemaValidationError } from '../xcap/errors.ts';
import { atLine } from '../xcap/text-position.ts';
import { libxml2ParsePhrase } from '../xcap/xml-phrases.ts';
import { FastValidator } from './schema/fast-validator.ts';
import { locateElement } from './schema/locate.ts';
import { compileSchema } from './schema/xsd-compiler.ts';

export interface SchemaValidator {
  /**
   * Validates a complete document given as text. Returns normally when it is valid, with
   * whether it holds an element named in `LoadSchemaOptions.watch`: true or false when the
   * fast path accepted it (it sees every element), undefined when that is not known
   * (libxml2 judged it, or nothing is watched).
   * Throws `SchemaValidationError` whose phrase is libxml2's first complaint (namespace
   * URIs elided) and its line, `NotWellFormed` if `text` does not parse at all (libxml2's
   * complaint reworded, src/xcap/xml-phrases.ts), or `ConstraintFailure` when it nests
   * deeper than libxml2 accepts. `beforeLibxml2` is called when the fast path neither
   * accepted the text nor located a repeat in it, before libxml2 judges it: a usage whose
   * own checks run on such a document anyway may run them there, and throw.
   */
  validate(text: string, beforeLibxml2?: () => void): boolean | undefined;

  /**
   * Tries to accept a DOM without its text: true when the document the lean serializer
   * writes for `doc` (src/xcap/serializer.ts) is certainly valid. False means nothing:
   * the caller must `validate` the text. Absent when there is no such fast path.
   */
  validateDom?(doc: Document): boolean;

  /**
   * `validateDom` for a document that was valid before only `edited` (and what is below
   * it) changed: true when it is certainly valid now, judged from `edited`, its ancestors
   * and their children's start tags instead of the whole document. False means nothing.
   * `length` is the length of the document's text. `shallow`: only `edited`'s start tag
   * and its own content changed (CandidateDocument.shallow); `removal`: by a removal only
   * (CandidateDocument.removal).
   */
  validateEdit?(doc: Document, edited: Element, length: number, shallow?: boolean, removal?: boolean): boolean;
}

export interface LoadSchemaOptions {
  /** Other .xsd files of the project that the main one imports (directly or not), by path. */
  readonly imports?: readonly string[];
  /**
   * Elements whose presence `validate` reports, so a usage with rules beyond the schema for
   * them (resource-lists `<entry-ref>`, `<external>`) looks for them only when they occur,
   * without a pass of its own over the text.
   */
  readonly watch?: readonly WatchedElement[];
}

/** An element by namespace and local name. */
export interface WatchedElement {
  readonly ns: string;
  readonly local: string;
}

/**
 * libxml2-wasm's error collector asks libxml2 for the XPath of every error's node
 * (`xmlGetNodePath`), which counts the node's preceding siblings: a document with one
 * error per element among 40,000 siblings cost 11 s that way, quadratic. Nothing here reads
 * that path, so the collector is told there is no node (the accessor is a static property
 * of the exported error struct class) and each error costs what its message costs.
 */
(XmlErrorStruct as unknown as { node: (err: number) => number }).node = () => 0;

/** Instance documents: no network, no external entities, no DTD loading, no entity substitution. */
// COMPACT: measured 3× faster parsing of a 100-entry document; it only changes text node storage.
const INSTANCE_PARSE = ParseOption.XML_PARSE_NONET | ParseOption.XML_PARSE_NO_XXE | ParseOption.XML_PARSE_COMPACT;

/**
 * Compiles the schema at `mainXsdPath`. Throws a plain `Error` naming the file and
 * libxml2's complaint when a file is missing or the schema does not compile.
 */
export function loadSchema(mainXsdPath: string, options: LoadSchemaOptions = {}): SchemaValidator {
  const { libxml2, fast } = compileValidators(mainXsdPath, options);
  return fast === null ? libxml2 : new FastFirstValidator(fast, libxml2);
}

/** Both validators of a schema; `fast` is null when the schema is outside what the fast path supports. */
export interface CompiledValidators {
  readonly libxml2: SchemaValidator;
  readonly fast: FastValidator | null;
}

/** `loadSchema`'s two halves, for tests and benchmarks that compare them. Same errors as `loadSchema`. */
export function compileValidators(mainXsdPath: string, options: LoadSchemaOptions = {}): CompiledValidators {
  const mainPath = resolve(mainXsdPath);
  for (const p of options.imports ?? []) schemaFiles.register(resolve(p), readSchemaFile(p));
  const mainBytes = readSchemaFile(mainPath);
  schemaFiles.register(mainPath, mainBytes);
  let compiled: XsdValidator;
  const xsdDoc = parseSchemaDocument(mainPath, mainBytes);
  try {
    compiled = XsdValidator.fromDoc(xsdDoc);
  } catch (err) {
    throw new Error(`XML schema ${mainXsdPath} does not compile: ${firstMessage(err)}`, { cause: err });
  } finally {
    xsdDoc.dispose();
  }
  let fast: FastValidator | null = null;
  try {
    fast = new FastValidator(compileSchema(mainPath, (path) => schemaFiles.get(path)), options.watch);
  } catch {
    // Unsupported construct (or anything odd): this schema is validated by libxml2 alone.
  }
  return { libxml2: new LibxmlSchemaValidator(compiled), fast };
}

/** Accepts what the fast path accepts; everything else is libxml2's to judge (and word). */
class FastFirstValidator implements SchemaValidator {
  readonly #fast: FastValidator;
  readonly #libxml2: SchemaValidator;

  constructor(fast: FastValidator, libxml2: SchemaValidator) {
    this.#fast = fast;
    this.#libxml2 = libxml2;
  }

  validate(text: string, beforeLibxml2?: () => void): boolean | undefined {
    const verdict = this.#fast.check(text);
    if (verdict === 'accept') return this.#fast.sawWatched;
    const dup = verdict === 'reject' ? this.#fast.duplicate : null;
    // A certain repeat is worded here: libxml2 would spend ~20 µs on each of them. It is
    // located by a second scan, so a usage can name it without parsing a DOM.
    if (dup !== null) {
      const at = locateElement(text, dup.ordinal, { ns: dup.elementNs, local: dup.element }, { ns: dup.attributeNs, local: dup.attribute });
      const repeated = at === undefined ? undefined : { steps: at.steps, attribute: dup.attribute, value: dup.value, siblings: at.siblings };
      throw new SchemaValidationError(`the ${dup.attribute} ${clipValue(dup.value)} is repeated among <${dup.element}> siblings`, repeated);
    }
    beforeLibxml2?.();
    this.#libxml2.validate(text);
    return undefined;
  }

  validateDom(doc: Document): boolean {
    return this.#fast.checkDom(doc) === 'accept';
  }

  validateEdit(doc: Document, edited: Element, length: number, shallow = false, removal = false): boolean {
    return this.#fast.checkEdit(doc, edited, length, shallow, removal) === 'accept';
  }
}

class LibxmlSchemaValidator implements SchemaValidator {
  readonly #xsd: XsdValidator;

  constructor(xsd: XsdValidator) {
    this.#xsd = xsd;
  }

  validate(text: string, beforeLibxml2?: () => void): undefined {
    beforeLibxml2?.();
    let doc: XmlDocument;
    try {
      // fromBuffer: libxml2-wasm's string path converts far more slowly than Buffer.from.
      doc = XmlDocument.fromBuffer(Buffer.from(text, 'utf8'), { option: INSTANCE_PARSE });
    } catch (err) {
      if (err instanceof XmlParseError) throw parseFailure(err);
      throw err;
    }
    try {
      this.#xsd.validate(doc);
    } catch (err) {
      // XmlError covers libxml2 refusing the tree outright (e.g. unexpanded entity references).
      if (err instanceof XmlError) throw new SchemaValidationError(withLine(shortPhrase(firstMessage(err)), err));
      throw err;
    } finally {
      doc.dispose();
    }
    return undefined;
  }
}

function readSchemaFile(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`XML schema ${path} cannot be read: ${(err as Error).message}`, { cause: err });
  }
}

function parseSchemaDocument(path: string, bytes: Uint8Array): XmlDocument {
  try {
    // The URL makes relative schemaLocation values resolve next to the file.
    return XmlDocument.fromBuffer(bytes, { url: path, option: INSTANCE_PARSE });
  } catch (err) {
    throw new Error(`XML schema ${path} is not well-formed: ${firstMessage(err)}`, { cause: err });
  }
}

function clipValue(v: string): string {
  return v.length > 80 ? `${v.slice(0, 77)}...` : v;
}

/** libxml2 could not parse the text: its reason, for people. */
function parseFailure(err: XmlParseError): NotWellFormed | ConstraintFailure {
  const message = firstMessage(err);
  // Only an edit can get here this deep: request bodies are held to server.maxXmlDepth first.
  if (message.startsWith('Excessive depth')) return new ConstraintFailure('the document would nest elements more than 256 deep');
  return new NotWellFormed(withLine(libxml2ParsePhrase(message), err));
}

/** `phrase (at line L, column C)` from libxml2's first error detail, when it has a line. */
function withLine(phrase: string, err: unknown): string {
  const d = err instanceof XmlLibError ? err.details[0] : undefined;
  return d !== undefined && d.line > 0 ? `${phrase} (${atLine(d.line, d.col)})` : phrase;
}

function firstMessage(err: unknown): string {
  if (err instanceof XmlLibError && err.details[0]) return err.details[0].message;
  return err instanceof Error ? err.message : String(err);
}

/** libxml2 names elements as `{namespace}local`; clients need the local name, not the URN. */
function shortPhrase(message: string): string {
  const phrase = message.replace(/\{[^}]*\}/g, '').replace(/\s+/g, ' ').trim();
  return phrase.length > 200 ? `${phrase.slice(0, 197)}...` : phrase;
}

/**
 * The one input provider: serves registered schema files from memory, by absolute path.
 * libxml2 keeps providers for the process lifetime, so it is registered once, lazily.
 */
class SchemaFiles implements XmlInputProvider {
  readonly #files = new Map<string, Uint8Array>();
  readonly #open = new Map<number, { data: Uint8Array; pos: number }>();
  #nextFd = 1;
  #registered = false;

  register(path: string, bytes: Uint8Array): void {
    this.#files.set(path, bytes);
    if (!this.#registered) {
      if (!xmlRegisterInputProvider(this)) throw new Error('libxml2 refused the schema input provider');
      this.#registered = true;
    }
  }

  /** The bytes of a registered file, by absolute path. */
  get(path: string): Uint8Array | undefined {
    return this.#files.get(path);
  }

  match(filename: string): boolean {
    return this.#files.has(normalize(filename));
  }

  open(filename: string): number | undefined {
    const data = this.#files.get(normalize(filename));
    if (data === undefined) return undefined;
    const fd = this.#nextFd++;
    this.#open.set(fd, { data, pos: 0 });
    return fd;
  }

  read(fd: number, buf: Uint8Array): number {
    const f = this.#open.get(fd);
    if (f === undefined) return -1;
    const chunk = f.data.subarray(f.pos, f.pos + buf.byteLength);
    buf.set(chunk);
    f.pos += chunk.byteLength;
    return chunk.byteLength;
  }

  close(fd: number): boolean {
    return this.#open.delete(fd);
  }
}

function normalize(filename: string): string {
  return filename.startsWith('file://') ? decodeURIComponent(new URL(filename).pathname) : filename;
}

const schemaFiles = new SchemaFiles();
