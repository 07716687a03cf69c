/**
 * An incremental HTTP/1.1 response reader for the Engine API client (http1-client.ts): status line,
 * headers, then a body framed by Content-Length, chunked transfer coding (extensions and trailers
 * skipped), or the connection's end. Input arrives in arbitrary pieces; `push` consumes what it can and
 * reports a complete response with any bytes that followed it (a well-behaved server sends none, since
 * the client never pipelines).
 */

/** Header block limit: Docker's heads are a few hundred bytes; anything near this is not the Engine API. */
const MAX_HEAD_BYTES = 64 * 1024;
/** A chunk-size line is a hex number, perhaps with extensions; Docker's are a few bytes. */
const MAX_CHUNK_SIZE_LINE_BYTES = 1024;
const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');

export class HttpParseError extends Error {
  readonly code = 'HPE_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'HttpParseError';
  }
}

export interface Http1Response {
  status: number;
  /** Lower-cased names; repeated headers joined with ", ". */
  headers: ReadonlyMap<string, string>;
  body: Buffer;
  /** The server asked to close the connection (or the body ran to the connection's end). */
  closeAfter: boolean;
}

type Phase = 'head' | 'length' | 'chunk-size' | 'chunk-data' | 'chunk-end' | 'trailers' | 'until-close' | 'done';

export class Http1ResponseReader {
  #pending: Buffer = Buffer.alloc(0);
  #phase: Phase = 'head';
  #status = 0;
  #headers = new Map<string, string>();
  #closeAfter = false;
  #bodyParts: Buffer[] = [];
  /** Bytes still expected in the current Content-Length body or chunk. */
  #remaining = 0;
  #receivedAny = false;

  /** @param bodyless the request was HEAD, so no response has a body whatever its headers say. */
  constructor(private readonly bodyless: boolean) {}

  /** Whether any byte of the response arrived (a reused connection that failed before that is safe to retry). */
  get receivedAny(): boolean {
    return this.#receivedAny;
  }

  /**
   * Feeds bytes. Returns the response once complete (then the reader is spent), else undefined.
   * Throws HttpParseError on a malformed response.
   */
  push(chunk: Buffer): { response: Http1Response; rest: Buffer } | undefined {
    if (chunk.length > 0) this.#receivedAny = true;
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    for (;;) {
      const progressed = this.#step();
      if (this.#phase === 'done') {
        const rest = this.#pending;
        this.#pending = Buffer.alloc(0);
        return { response: this.#response(), rest };
      }
      if (!progressed) return undefined;
    }
  }

  /** The connection ended: completes a read-until-close body, otherwise the response is cut short. */
  end(): Http1Response {
    if (this.#phase === 'until-close') {
      if (this.#pending.length > 0) this.#bodyParts.push(this.#pending);
      this.#pending = Buffer.alloc(0);
      this.#phase = 'done';
      this.#closeAfter = true;
      return this.#response();
    }
    throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
  }

  #response(): Http1Response {
    const body = this.#bodyParts.length === 1 ? this.#bodyParts[0]! : Buffer.concat(this.#bodyParts);
    return { status: this.#status, headers: this.#headers, body, closeAfter: this.#closeAfter };
  }

  /** One parsing step; false when more input is needed. */
  #step(): boolean {
    switch (this.#phase) {
      case 'head':
        return this.#readHead();
      case 'length':
      case 'chunk-data':
        return this.#readCounted();
      case 'chunk-size':
        return this.#readChunkSize();
      case 'chunk-end':
        return this.#readChunkEnd();
      case 'trailers':
        return this.#readTrailers();
      case 'until-close':
        if (this.#pending.length > 0) this.#bodyParts.push(this.#pending);
        this.#pending = Buffer.alloc(0);
        return false;
      case 'done':
        return false;
    }
  }

  /**
   * Where `marker` starts in the pending input; -1 while more input is needed. Throws `problem` once more
   * than `limit` bytes are pending without it (a server that never ends the line is not the Engine API).
   */
  #find(marker: Buffer, limit: number, problem: string): number {
    const at = this.#pending.indexOf(marker);
    if (at < 0 && this.#pending.length > limit) throw new HttpParseError(problem);
    return at;
  }

  #readHead(): boolean {
    const end = this.#find(HEAD_END, MAX_HEAD_BYTES, 'response head too large');
    if (end < 0) return false;
    const lines = this.#pending.toString('latin1', 0, end).split('\r\n');
    this.#pending = this.#pending.subarray(end + HEAD_END.length);
    const statusLine = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(lines[0] ?? '');
    if (statusLine === null) throw new HttpParseError(`malformed status line ${JSON.stringify(lines[0] ?? '')}`);
    const status = Number(statusLine[1]);
    const headers = new Map<string, string>();
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(':');
      if (colon <= 0) throw new HttpParseError(`malformed header line ${JSON.stringify(line)}`);
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      const previous = headers.get(name);
      headers.set(name, previous === undefined ? value : `${previous}, ${value}`);
    }
    // Interim responses (100 Continue and friends) precede the real one; 101 would switch protocols,
    // which the Engine API calls made here never ask for.
    if (status >= 100 && status < 200 && status !== 101) return true;
    this.#status = status;
    this.#headers = headers;
    this.#closeAfter = (headers.get('connection') ?? '').toLowerCase().includes('close');
    this.#phase = this.#bodyPhase(status, headers);
    return true;
  }

  #bodyPhase(status: number, headers: ReadonlyMap<string, string>): Phase {
    if (this.bodyless || status === 204 || status === 304 || status === 101) return 'done';
    const transferEncoding = headers.get('transfer-encoding');
    if (transferEncoding?.toLowerCase().includes('chunked')) return 'chunk-size';
    const contentLength = headers.get('content-length');
    if (contentLength !== undefined) {
      if (!/^\d+$/.test(contentLength)) throw new HttpParseError(`invalid Content-Length ${contentLength}`);
      this.#remaining = Number(contentLength);
      return this.#remaining === 0 ? 'done' : 'length';
    }
    this.#closeAfter = true;
    return 'until-close';
  }

  #readCounted(): boolean {
    if (this.#pending.length === 0) return false;
    const take = Math.min(this.#remaining, this.#pending.length);
    this.#bodyParts.push(this.#pending.subarray(0, take));
    this.#pending = this.#pending.subarray(take);
    this.#remaining -= take;
    if (this.#remaining > 0) return false;
    this.#phase = this.#phase === 'length' ? 'done' : 'chunk-end';
    return true;
  }

  #readChunkSize(): boolean {
    const lineEnd = this.#find(CRLF, MAX_CHUNK_SIZE_LINE_BYTES, 'chunk size line too long');
    if (lineEnd < 0) return false;
    const sizeText = this.#pending.toString('latin1', 0, lineEnd).split(';')[0]!.trim();
    if (!/^[0-9a-fA-F]{1,12}$/.test(sizeText))
      throw new HttpParseError(`invalid chunk size ${JSON.stringify(sizeText)}`);
    this.#pending = this.#pending.subarray(lineEnd + CRLF.length);
    this.#remaining = Number.parseInt(sizeText, 16);
    this.#phase = this.#remaining === 0 ? 'trailers' : 'chunk-data';
    return true;
  }

  #readChunkEnd(): boolean {
    if (this.#pending.length < CRLF.length) return false;
    if (this.#pending[0] !== 0x0d || this.#pending[1] !== 0x0a) throw new HttpParseError('chunk not followed by CRLF');
    this.#pending = this.#pending.subarray(CRLF.length);
    this.#phase = 'chunk-size';
    return true;
  }

  /** Trailer lines after the last chunk, ended by an empty line. */
  #readTrailers(): boolean {
    const lineEnd = this.#find(CRLF, MAX_HEAD_BYTES, 'response trailers too large');
    if (lineEnd < 0) return false;
    this.#pending = this.#pending.subarray(lineEnd + CRLF.length);
    if (lineEnd === 0) this.#phase = 'done';
    return true;
  }
}
