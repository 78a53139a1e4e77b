/**
 * Where something is in a request body, in the words error phrases use: "at line 3,
 * column 14" (both 1-based, columns in characters). Computed only when an error is being
 * worded, so its linear cost is never paid by a body that passes.
 */

/** Line and column of `offset` in `text`. */
export function positionOf(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let nl = text.indexOf('\n'); nl >= 0 && nl < offset; nl = text.indexOf('\n', nl + 1)) {
    line++;
    lineStart = nl + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

/** `at line L, column C` for `offset` in `text`. */
export function at(text: string, offset: number): string {
  const { line, column } = positionOf(text, offset);
  return atLine(line, column);
}

/** `at line L, column C`, or `at line L` when the column is unknown (0). */
export function atLine(line: number, column = 0): string {
  return column > 0 ? `at line ${line}, column ${column}` : `at line ${line}`;
}
