/**
 * Where a JSON text first goes wrong, as a line and column — and nothing else. V8's `JSON.parse` messages
 * quote the text around the error (`Unexpected token 'r', "root:$6$…" is not valid JSON`), so a symlink to
 * a secret file would put its start into the log; and only some of its messages carry a position. This
 * scanner follows RFC 8259's grammar far enough to find the first offending offset and never returns text.
 */

export interface JsonSyntaxPosition {
  /** 1-based. */
  line: number;
  /** 1-based, in UTF-16 code units like the rest of JavaScript. */
  column: number;
}

/** The position of the first syntax error in `text`, or undefined when it is valid JSON. */
export function jsonSyntaxErrorPosition(text: string): JsonSyntaxPosition | undefined {
  const offset = firstErrorOffset(text);
  if (offset === undefined) return undefined;
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

class Failure {
  constructor(readonly offset: number) {}
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
// Deeper nesting is reported where it passes this depth (the file is invalid anyway: JSON.parse refused it).
const MAX_DEPTH = 1000;

function firstErrorOffset(text: string): number | undefined {
  let i = 0;
  const fail = (at = i): never => {
    throw new Failure(at);
  };
  const skipSpace = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i += 1;
  };
  const literal = (word: string): void => {
    for (const char of word) {
      if (text[i] !== char) fail();
      i += 1;
    }
  };
  const string = (): void => {
    i += 1; // opening quote
    for (;;) {
      if (i >= text.length) fail();
      const char = text.charCodeAt(i);
      if (char === 0x22) {
        i += 1;
        return;
      }
      if (char < 0x20) fail();
      if (char === 0x5c) {
        const escaped = text[i + 1];
        if (escaped === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail(i + 1);
          i += 6;
        } else if (escaped !== undefined && '"\\/bfnrt'.includes(escaped)) {
          i += 2;
        } else {
          fail(i + 1);
        }
      } else {
        i += 1;
      }
    }
  };
  const value = (depth: number): void => {
    if (depth > MAX_DEPTH) fail();
    skipSpace();
    const char = text[i];
    if (char === '{') {
      i += 1;
      skipSpace();
      if (text[i] === '}') {
        i += 1;
        return;
      }
      for (;;) {
        skipSpace();
        if (text[i] !== '"') fail();
        string();
        skipSpace();
        if (text[i] !== ':') fail();
        i += 1;
        value(depth + 1);
        skipSpace();
        if (text[i] === ',') {
          i += 1;
          continue;
        }
        if (text[i] === '}') {
          i += 1;
          return;
        }
        fail();
      }
    }
    if (char === '[') {
      i += 1;
      skipSpace();
      if (text[i] === ']') {
        i += 1;
        return;
      }
      for (;;) {
        value(depth + 1);
        skipSpace();
        if (text[i] === ',') {
          i += 1;
          continue;
        }
        if (text[i] === ']') {
          i += 1;
          return;
        }
        fail();
      }
    }
    if (char === '"') string();
    else if (char === 't') literal('true');
    else if (char === 'f') literal('false');
    else if (char === 'n') literal('null');
    else {
      NUMBER.lastIndex = i;
      if (NUMBER.exec(text) === null) fail();
      i = NUMBER.lastIndex;
    }
  };
  try {
    value(0);
    skipSpace();
    if (i < text.length) fail();
    return undefined;
  } catch (error) {
    if (error instanceof Failure) return Math.min(error.offset, text.length);
    throw error;
  }
}
