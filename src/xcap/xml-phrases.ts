/**
 * The parsers' complaints (xmldom's and libxml2's) reworded for the people who read a 409
 * phrase: what is wrong, in XML's own terms, without the parser's function names, option
 * names or wrapping. A message neither table knows becomes a plain "not well-formed XML",
 * so no parser internals can reach a client. The caller adds where (line and column).
 */

type Rule = readonly [RegExp, (...groups: string[]) => string];

const XMLDOM: readonly Rule[] = [
  [/^Opening and ending tag mismatch: "(.*)" != "(.*)"$/s, (open, close) => `the end tag </${close}> does not match the start tag <${open}>`],
  [/^unclosed xml tag\(s\): (.*)$/s, (tags) => `the element${tags.includes(',') ? 's' : ''} <${tags.split(', ').join('>, <')}> ${tags.includes(',') ? 'are' : 'is'} not closed`],
  [/^(Extra content at the end of the document|Unexpected content outside root element)/, () => 'there is content after the root element'],
  [/^end tag name/, () => 'an end tag is malformed'],
  [/^Attribute (.*) redefined$/s, (name) => `the attribute ${name} appears twice`],
  [/^Unescaped '<' not allowed in attributes values$/, () => 'an attribute value contains "<" (write it as &lt;)'],
  [/^attribute "(.*)" missed value/s, (name) => `the attribute ${name} has no value`],
  [/^(attribute .* missed (start )?quot|attribute value must after|AttValue)/s, () => 'an attribute value is not quoted'],
  [/^attribute space is required/, () => 'attributes are not separated by whitespace'],
  [/^entity not found:&?(.*?);?$/s, (name) => `the entity &${name}; is not defined (only &amp; &lt; &gt; &quot; &apos; are)`],
  [/^(EntityRef: expecting ;|entity not matching Reference production)/, () => 'an "&" does not start a reference (write it as &amp;)'],
  [/^unexpected end of input/, () => 'the body ends inside a tag'],
  [/^comment is not well-formed/, () => 'a comment is not well-formed (it must end with --> and not contain --)'],
  [/^CDATA outside of element/, () => 'there is a CDATA section outside the element'],
  [/^Invalid CDATA/, () => 'a CDATA section is not closed'],
  [/(processing instruction|xml declaration is not well-formed)/i, () => 'a processing instruction or the XML declaration is malformed'],
  [/HierarchyRequestError: Only one element/, () => 'there is more than one root element'],
  [/^(doctype |Doctype |Error detected in Markup declaration|Error in internal subset|Expected <!DOCTYPE|Expected whitespace after <!DOCTYPE|Unexpected DOCTYPE)/, () => 'DOCTYPE is not accepted'],
  [/^Not well-formed XML starting with "<!"/, () => 'markup starting with "<!" is not a comment or CDATA section'],
  [/^missing root element/, () => 'the body holds no element'],
  [/^Error constructing the DOM: NamespaceError/, () => 'a prefix is used without a namespace declaration, or is declared wrongly'],
  [/^Error constructing the DOM: InvalidCharacterError/, () => 'a name contains a character not allowed in XML names'],
];

const LIBXML2: readonly Rule[] = [
  [/^Opening and ending tag mismatch: (\S+) line \d+ and (\S+)/, (open, close) => `the end tag </${close}> does not match the start tag <${open}>`],
  [/^(Premature end of data in tag|EndTag: '<\/' not found)\s*(\S*)/, (_, tag) => (tag ? `the element <${tag}> is not closed` : 'an element is not closed')],
  [/^Couldn't find end of Start Tag (\S+)/, (tag) => `the start tag <${tag}> is not closed`],
  [/^Extra content at the end of the document/, () => 'there is content after the root element'],
  [/^(Start tag expected|Document is empty)/, () => 'the body holds no element'],
  [/^Attribute (\S+) redefined/, (name) => `the attribute ${name} appears twice`],
  [/^Namespace prefix (\S+) (?:for \S+ )?on \S+ is not defined/, (p) => `the prefix ${p} is used without a namespace declaration`],
  [/^xmlns:?(\S*): .*(not a valid URI|not absolute)/, () => 'a namespace name is not a valid URI'],
  [/^Specification mandates value for attribute (\S+)/, (name) => `the attribute ${name} has no value`],
  [/^(AttValue: " or ' expected|attributes construct error)/, () => 'an attribute is malformed (its value must be quoted)'],
  [/^Unescaped '<' not allowed in attributes values/, () => 'an attribute value contains "<" (write it as &lt;)'],
  [/^Entity '(.*)' not defined/, (name) => `the entity &${name}; is not defined (only &amp; &lt; &gt; &quot; &apos; are)`],
  [/^(EntityRef: expecting ';'|xmlParseEntityRef: no name)/, () => 'an "&" does not start a reference (write it as &amp;)'],
  [/^xmlParseCharRef: invalid xmlChar value (\d+)/, (cp) => `a character reference names U+${Number(cp).toString(16).toUpperCase().padStart(4, '0')}, which is not allowed in XML`],
  [/^(PCDATA invalid Char value|Char 0x[0-9A-F]+ out of allowed range|invalid character in attribute value)/i, () => 'a character not allowed in XML'],
  [/^(Comment not terminated|Double hyphen within comment)/, () => 'a comment is not well-formed (it must end with --> and not contain --)'],
  [/^Sequence '\]\]>' not allowed in content/, () => 'the text contains "]]>" (write ">" as &gt;)'],
  [/^CData section not finished/, () => 'a CDATA section is not closed'],
  [/(Name too long|NCName too long)/i, () => 'a name is longer than 50,000 characters'],
  [/^StartTag: invalid element name/, () => 'an element name is not a valid XML name'],
  [/(XML declaration|parsing XML declaration|Blank needed here|version)/i, () => 'the XML declaration is malformed'],
  [/(PI|processing instruction)/, () => 'a processing instruction is malformed'],
  [/(DOCTYPE|internal subset|Entity)/i, () => 'DOCTYPE is not accepted'],
];

/** xmldom's message for a body that does not parse, for people. */
export function xmldomPhrase(message: string): string {
  return reword(XMLDOM, message);
}

/** libxml2's parse error message, for people. */
export function libxml2ParsePhrase(message: string): string {
  return reword(LIBXML2, message.trim());
}

function reword(rules: readonly Rule[], message: string): string {
  for (const [pattern, phrase] of rules) {
    const m = pattern.exec(message);
    if (m) return phrase(...m.slice(1).map((g) => clip(g ?? '')));
  }
  return 'the body is not well-formed XML';
}

/** Names quoted from the body stay short in a phrase. */
function clip(s: string): string {
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
