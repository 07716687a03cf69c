/**
 * Newline-delimited JSON, as the Engine API streams it (events, pull progress): one object per line, lines
 * split across chunks (and UTF-8 characters split across chunks, hence the StringDecoder). A line that is not
 * a JSON object is counted as malformed and skipped; the stream goes on.
 */
import { StringDecoder } from 'node:string_decoder';

/** One event or progress line is a few KiB; a line this long is garbage and is dropped, not buffered. */
const MAX_LINE_CHARS = 1 << 20;

export class NdjsonLineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';
  /** Inside an over-long line: drop everything up to its newline. */
  private discarding = false;

  /** The objects completed by this chunk, and how many lines were skipped as malformed. */
  push(chunk: Buffer | string): { values: object[]; malformed: number } {
    const text = this.pending + (typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    const values: object[] = [];
    let malformed = 0;
    let from = 0;
    for (let newline = text.indexOf('\n'); newline >= 0; newline = text.indexOf('\n', from)) {
      const line = text.slice(from, newline);
      from = newline + 1;
      if (this.discarding) {
        this.discarding = false;
        continue;
      }
      malformed += this.parseLine(line, values);
    }
    this.pending = text.slice(from);
    if (this.pending.length > MAX_LINE_CHARS) {
      if (!this.discarding) malformed++;
      this.discarding = true;
      this.pending = '';
    }
    return { values, malformed };
  }

  /** The last line, when the stream ended without a newline after it. */
  end(): { values: object[]; malformed: number } {
    const rest = this.pending + this.decoder.end();
    this.pending = '';
    const values: object[] = [];
    const malformed = this.discarding ? 0 : this.parseLine(rest, values);
    this.discarding = false;
    return { values, malformed };
  }

  private parseLine(line: string, into: object[]): number {
    const trimmed = line.trim(); // CRLF line ends and blank keep-alive lines
    if (trimmed === '') return 0;
    try {
      const value: unknown = JSON.parse(trimmed);
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
        into.push(value);
        return 0;
      }
    } catch {
      // counted below
    }
    return 1;
  }
}
