/**
 * HTML by tagged template: every interpolated value is escaped unless it is itself `Html`
 * made by this tag (or an array of those), so a display name or an error message from a
 * remote can never become markup on the status page.
 */

/** Markup this module made (trusted: its interpolations were escaped). */
export class Html {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
  toString(): string {
    return this.text;
  }
}

type Part = Html | string | number | boolean | null | undefined | readonly Part[];

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text for element content and attribute values (both quotes escaped). */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
}

function render(p: Part): string {
  if (p instanceof Html) return p.text;
  if (Array.isArray(p)) return p.map(render).join('');
  if (p === null || p === undefined || p === false) return '';
  return escapeHtml(String(p));
}

/** `html\`<td>${name}</td>\``: `name` is escaped; nested `html` fragments and arrays of them are kept. */
export function html(strings: TemplateStringsArray, ...values: readonly Part[]): Html {
  let out = strings[0] as string;
  for (let i = 0; i < values.length; i++) out += render(values[i] as Part) + (strings[i + 1] as string);
  return new Html(out);
}
