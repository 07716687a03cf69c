import type { IncomingMessage } from 'node:http';

/** Node's header object flattened to lower-case name → string (multi-valued headers joined with `,`). */
export function headerRecord(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  return out;
}

/** A request URL's path and decoded query (form decoding: `+` is a space, as Go's url.Query reads it). */
export function splitUrl(url: string): { path: string; query: Record<string, string | string[]>; rawQuery: string } {
  const parsed = new URL(url, 'http://127.0.0.1');
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of parsed.searchParams) {
    const previous = query[key];
    // A repeated key stays visible (and signs as a list), so checks can refuse it instead of keeping one.
    query[key] = previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
  }
  return { path: parsed.pathname, query, rawQuery: parsed.search.slice(1) };
}
