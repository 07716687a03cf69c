/**
 * The Engine API's HTTP/1.1 client against a scripted server on a unix socket: framing (Content-Length,
 * chunked with extensions and trailers, bodiless statuses, read-until-close), connection reuse and its
 * limits, and every way a request can fail — each must settle once and leave no reusable broken socket.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { createDockerTransport, DockerHttpError } from '../src/docker/http-transport.js';
import { createHttp1Client, Http1TimeoutError } from '../src/docker/http1-client.js';
import { HttpParseError } from '../src/docker/http1-response.js';

interface SeenRequest {
  method: string;
  path: string;
  headers: Map<string, string>;
  body: string;
  connection: number;
}

type Reply = (request: SeenRequest, socket: Socket) => void;

interface ScriptedServer {
  socketPath: string;
  seen: SeenRequest[];
  connections: number;
  closedConnections: number;
  close(): Promise<void>;
}

/** A server that parses each request (head + Content-Length body) and answers with `reply`. */
async function scriptedServer(reply: Reply): Promise<ScriptedServer> {
  const dir = mkdtempSync(join(tmpdir(), 'ecsd-http1-'));
  const socketPath = join(dir, 'docker.sock');
  const state: ScriptedServer = {
    socketPath,
    seen: [],
    connections: 0,
    closedConnections: 0,
    close: async () => {},
  };
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    const connection = ++state.connections;
    sockets.add(socket);
    socket.on('close', () => {
      state.closedConnections += 1;
      sockets.delete(socket);
    });
    socket.on('error', () => {});
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const [requestLine, ...lines] = buffer.toString('latin1', 0, end).split('\r\n');
        const headers = new Map(
          lines.map((line) => [
            line.slice(0, line.indexOf(':')).toLowerCase(),
            line.slice(line.indexOf(':') + 1).trim(),
          ]),
        );
        const length = Number(headers.get('content-length') ?? 0);
        if (buffer.length < end + 4 + length) return;
        const body = buffer.toString('utf8', end + 4, end + 4 + length);
        buffer = buffer.subarray(end + 4 + length);
        const [method, path] = requestLine!.split(' ');
        const request = { method: method!, path: path!, headers, body, connection };
        state.seen.push(request);
        reply(request, socket);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  state.close = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  };
  return state;
}

function json(status: number, value: unknown, extraHeaders = ''): string {
  const body = JSON.stringify(value);
  return (
    `HTTP/1.1 ${status} X\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
    `${extraHeaders}\r\n${body}`
  );
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('a Content-Length response is read and the connection is reused for the next request', async (t) => {
  const server = await scriptedServer((request, socket) => socket.write(json(200, { path: request.path })));
  const client = createHttp1Client({ socketPath: server.socketPath });
  try {
    const first = await client.request('GET', '/a');
    const second = await client.request('GET', '/b?x=1');
    t.is(first.status, 200);
    t.deepEqual(JSON.parse(first.body.toString()), { path: '/a' });
    t.deepEqual(JSON.parse(second.body.toString()), { path: '/b?x=1' });
    t.is(server.connections, 1);
    t.is(server.seen[0]!.headers.get('host'), 'docker');
  } finally {
    client.close();
    await server.close();
  }
});

test('a chunked response split into single bytes, with chunk extensions and trailers, is reassembled', async (t) => {
  const body = '{"Id":"abc","Names":["/x"]}';
  const server = await scriptedServer((_request, socket) => {
    const raw =
      'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n' +
      `5;name=value\r\n${body.slice(0, 5)}\r\n${(body.length - 5).toString(16)}\r\n${body.slice(5)}\r\n` +
      '0\r\nX-Trailer: yes\r\n\r\n';
    let i = 0;
    const drip = (): void => {
      if (i >= raw.length) return;
      socket.write(raw[i++]!);
      setImmediate(drip);
    };
    drip();
  });
  const client = createHttp1Client({ socketPath: server.socketPath });
  try {
    const response = await client.request('GET', '/containers/abc/json');
    t.is(response.body.toString(), body);
    // The connection is clean after the trailers: a second request goes over it.
    await client.request('GET', '/again');
    t.is(server.connections, 1);
  } finally {
    client.close();
    await server.close();
  }
});

test('204, 304 and HEAD responses have no body whatever their headers say', async (t) => {
  const server = await scriptedServer((request, socket) => {
    if (request.path === '/204') socket.write('HTTP/1.1 204 No Content\r\n\r\n');
    else if (request.path === '/304') socket.write('HTTP/1.1 304 Not Modified\r\nContent-Length: 0\r\n\r\n');
    else socket.write('HTTP/1.1 200 OK\r\nContent-Length: 123\r\n\r\n');
  });
  const client = createHttp1Client({ socketPath: server.socketPath });
  try {
    t.is((await client.request('POST', '/204')).status, 204);
    t.is((await client.request('POST', '/304')).status, 304);
    const head = await client.request('HEAD', '/head');
    t.is(head.status, 200);
    t.is(head.body.length, 0);
    t.is(server.connections, 1);
  } finally {
    client.close();
    await server.close();
  }
});

test('a body without length runs to the connection end, and that connection is not reused', async (t) => {
  const server = await scriptedServer((_request, socket) => {
    socket.write('HTTP/1.1 200 OK\r\n\r\nhello ');
    setTimeout(() => socket.end('world'), 20);
  });
  const client = createHttp1Client({ socketPath: server.socketPath });
  try {
    t.is((await client.request('GET', '/a')).body.toString(), 'hello world');
    t.is((await client.request('GET', '/b')).body.toString(), 'hello world');
    t.is(server.connections, 2);
  } finally {
    client.close();
    await server.close();
  }
});

test('Connection: close is honoured: the next request opens a new connection', async (t) => {
  const server = await scriptedServer((_request, socket) => socket.write(json(200, {}, 'Connection: close\r\n')));
  const client = createHttp1Client({ socketPath: server.socketPath });
  try {
    await client.request('GET', '/a');
    await client.request('GET', '/b');
    t.is(server.connections, 2);
  } finally {
    client.close();
    await server.close();
  }
});

test('an idle connection the server closed is replaced transparently', async (t) => {
  const server = await scriptedServer((_request, socket) => {
    socket.write(json(200, { ok: true }));
    // Close right after answering, as a server's idle timeout would, without saying so in the headers.
    setTimeout(() => socket.destroy(), 5);
  });
  const client = createHttp1Client({ socketPath: server.socketPath });
  try {
    await client.request('GET', '/a');
    await wait(30);
    const again = await client.request('GET', '/b');
    t.is(again.status, 200);
    t.is(server.connections, 2);
  } finally {
    client.close();
    await server.close();
  }
});

test('a reused connection reset before any answer is retried once on a new connection', async (t) => {
  let answered = 0;
  const server = await scriptedServer((request, socket) => {
    // The second request on the first connection is dropped unanswered: the race with an idle close.
    if (request.connection === 1 && answered === 1) {
      socket.destroy();
      return;
    }
    answered += 1;
    socket.write(json(200, { n: answered }));
  });
  const client = createHttp1Client({ socketPath: server.socketPath });
  try {
    await client.request('GET', '/a');
    const retried = await client.request('POST', '/containers/x/start');
    t.deepEqual(JSON.parse(retried.body.toString()), { n: 2 });
    t.is(server.connections, 2);
  } finally {
    client.close();
    await server.close();
  }
});

test('a connection reset mid-response fails the request with ECONNRESET and is not retried', async (t) => {
  const server = await scriptedServer((_request, socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"partial":');
    setTimeout(() => socket.destroy(), 10);
  });
  const client = createHttp1Client({ socketPath: server.socketPath });
  try {
    const error = await t.throwsAsync(client.request('GET', '/a'));
    t.is((error as NodeJS.ErrnoException).code, 'ECONNRESET');
    t.is(server.seen.length, 1);
  } finally {
    client.close();
    await server.close();
  }
});

test('a malformed response rejects with HttpParseError and the client keeps working', async (t) => {
  const server = await scriptedServer((request, socket) => {
    if (request.path === '/bad') socket.write('SMTP ready\r\n\r\n');
    else if (request.path === '/badchunk') socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n');
    else socket.write(json(200, { fine: true }));
  });
  const client = createHttp1Client({ socketPath: server.socketPath });
  try {
    await t.throwsAsync(client.request('GET', '/bad'), { instanceOf: HttpParseError, message: /status line/ });
    await t.throwsAsync(client.request('GET', '/badchunk'), { instanceOf: HttpParseError, message: /chunk size/ });
    t.is((await client.request('GET', '/good')).status, 200);
  } finally {
    client.close();
    await server.close();
  }
});

test('a request past its deadline rejects with Http1TimeoutError and its connection is destroyed', async (t) => {
  const server = await scriptedServer((request, socket) => {
    if (request.path !== '/slow') socket.write(json(200, {}));
  });
  const client = createHttp1Client({ socketPath: server.socketPath });
  try {
    const error = await t.throwsAsync(client.request('GET', '/slow', { timeoutMs: 50 }), {
      instanceOf: Http1TimeoutError,
    });
    t.is((error as Http1TimeoutError).timeoutMs, 50);
    await wait(20);
    t.is(server.closedConnections, 1);
    t.is((await client.request('GET', '/fast', { timeoutMs: 1000 })).status, 200);
    t.is(server.connections, 2);
  } finally {
    client.close();
    await server.close();
  }
});

test('with every connection busy a request waits its turn, and its deadline counts the wait', async (t) => {
  const server = await scriptedServer((request, socket) => {
    setTimeout(() => socket.write(json(200, { path: request.path })), request.path === '/long' ? 200 : 10);
  });
  const client = createHttp1Client({ socketPath: server.socketPath }, 1);
  try {
    const long = client.request('GET', '/long');
    await t.throwsAsync(client.request('GET', '/queued', { timeoutMs: 50 }), { instanceOf: Http1TimeoutError });
    const next = client.request('GET', '/next');
    t.is((await long).status, 200);
    t.deepEqual(JSON.parse((await next).body.toString()), { path: '/next' });
    t.is(server.connections, 1);
    // The timed-out request never reached the server.
    t.deepEqual(
      server.seen.map((r) => r.path),
      ['/long', '/next'],
    );
  } finally {
    client.close();
    await server.close();
  }
});

test('an aborted request rejects with AbortError', async (t) => {
  const server = await scriptedServer(() => {});
  const client = createHttp1Client({ socketPath: server.socketPath });
  try {
    const controller = new AbortController();
    const pending = client.request('GET', '/never', { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    const error = await t.throwsAsync(pending);
    t.is(error?.name, 'AbortError');
  } finally {
    client.close();
    await server.close();
  }
});

test('bodies are sent as JSON with their length; a bodiless POST says Content-Length: 0', async (t) => {
  const server = await scriptedServer((_request, socket) => socket.write('HTTP/1.1 204 No Content\r\n\r\n'));
  const client = createHttp1Client({ socketPath: server.socketPath });
  try {
    await client.request('POST', '/containers/create?name=x', { body: JSON.stringify({ Image: 'ü' }) });
    await client.request('POST', '/containers/x/start');
    const [create, start] = server.seen;
    t.is(create!.headers.get('content-type'), 'application/json');
    t.is(create!.headers.get('content-length'), String(Buffer.byteLength('{"Image":"ü"}')));
    t.deepEqual(JSON.parse(create!.body), { Image: 'ü' });
    t.is(start!.headers.get('content-length'), '0');
  } finally {
    client.close();
    await server.close();
  }
});

test('a socket that does not exist fails with its errno code (the engine is down)', async (t) => {
  const client = createHttp1Client({ socketPath: join(tmpdir(), 'ecsd-no-such-dir', 'docker.sock') });
  const error = await t.throwsAsync(client.request('GET', '/_ping'));
  t.is((error as NodeJS.ErrnoException).code, 'ENOENT');
  client.close();
});

test('the Docker transport turns an error answer into DockerHttpError with the status and Docker’s JSON', async (t) => {
  const server = await scriptedServer((request, socket) => {
    if (request.path.startsWith('/containers/missing'))
      socket.write(json(404, { message: 'No such container: missing' }));
    else socket.write(json(200, [{ Id: '1' }]));
  });
  const transport = createDockerTransport({ socketPath: server.socketPath });
  try {
    const error = await t.throwsAsync(transport.request('GET', '/containers/missing/json'), {
      instanceOf: DockerHttpError,
    });
    t.is((error as DockerHttpError).statusCode, 404);
    t.deepEqual((error as DockerHttpError).json, { message: 'No such container: missing' });
    t.is(error?.message, '(HTTP code 404) No such container: missing');
    t.deepEqual(
      await transport.request('GET', '/containers/json', { query: { all: true, filters: '{"label":["a=b"]}' } }),
      [{ Id: '1' }],
    );
    t.is(server.seen[1]!.path, '/containers/json?all=true&filters=%7B%22label%22%3A%5B%22a%3Db%22%5D%7D');
  } finally {
    transport.close();
    await server.close();
  }
});
