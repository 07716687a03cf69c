/**
 * A fake Docker engine on a unix socket for transport-fault tests: it answers the version negotiation
 * (`GET /version`, unversioned) with the given versions, records every request line, and hands every other
 * request to the test's handler. Removed in teardown.
 */
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ExecutionContext } from 'ava';

export interface FakeEngine {
  socketPath: string;
  dockerHost: string;
  /** `METHOD url` of every request received, in order (the negotiation included). */
  requests: string[];
}

export async function startFakeEngine(
  t: ExecutionContext,
  handler: http.RequestListener,
  /** What `/version` answers; null leaves `/version` to the handler too. */
  version: { ApiVersion: string; MinAPIVersion?: string } | null = { ApiVersion: '1.41', MinAPIVersion: '1.12' },
): Promise<FakeEngine> {
  const socketPath = path.join(tmpdir(), `ecsd-fake-docker-${randomUUID().slice(0, 12)}.sock`);
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    if (version !== null && req.url === '/version') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(version));
      return;
    }
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
        rmSync(socketPath, { force: true });
      }),
  );
  return { socketPath, dockerHost: `unix://${socketPath}`, requests };
}

/** Answers with a JSON body. */
export function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}
