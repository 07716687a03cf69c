/** Host port probing from /proc/net: TCP ports in LISTEN and any bound UDP port are taken. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { isHostPortFree, portsInUse } from '../src/host/port-probe.js';

const TCP_HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
const UDP_HEADER =
  '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n';
const V6_ANY = '00000000000000000000000000000000';

function line(sl: number, local: string, remote: string, state: string): string {
  return `  ${sl}: ${local} ${remote} ${state} 00000000:00000000 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0\n`;
}

/** A stand-in /proc/net directory holding only the given files. */
function procNet(t: ExecutionContext, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'ecsd-procnet-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

test('tcp: only LISTEN sockets (st 0A) count, from tcp and tcp6', (t) => {
  const dir = procNet(t, {
    tcp:
      TCP_HEADER +
      line(0, '00000000:1F90', '00000000:0000', '0A') + // 8080 listening on 0.0.0.0
      line(1, '0100007F:C350', '0100007F:1F90', '01') + // 50000 established (a client socket)
      line(2, '0100007F:0016', '00000000:0000', '0A') + // 22 listening on 127.0.0.1
      line(3, '0100007F:9C40', '0100007F:0050', '06'), // 40000 in TIME_WAIT
    tcp6: TCP_HEADER + line(0, `${V6_ANY}:01BB`, `${V6_ANY}:0000`, '0A'), // 443 on ::
  });
  t.deepEqual(
    [...portsInUse('tcp', dir)].sort((a, b) => a - b),
    [22, 443, 8080],
  );
  t.false(isHostPortFree(8080, 'tcp', dir));
  t.false(isHostPortFree(443, 'tcp', dir));
  t.true(isHostPortFree(50000, 'tcp', dir), 'an established connection does not hold a listening port');
  t.true(isHostPortFree(40000, 'tcp', dir));
});

test('udp: every bound socket counts whatever its state, from udp and udp6', (t) => {
  const dir = procNet(t, {
    udp:
      UDP_HEADER +
      line(0, '00000000:0035', '00000000:0000', '07') + // 53 unconnected
      line(1, '0A00000F:D431', '08080808:0035', '01'), // 54321 connected
    udp6: UDP_HEADER + line(0, `${V6_ANY}:14E9`, `${V6_ANY}:0000`, '07'), // 5353
    tcp: TCP_HEADER + line(0, '00000000:1F90', '00000000:0000', '0A'),
  });
  t.deepEqual(
    [...portsInUse('udp', dir)].sort((a, b) => a - b),
    [53, 5353, 54321],
  );
  t.true(isHostPortFree(8080, 'udp', dir), 'a TCP listener does not take the UDP port');
  t.false(isHostPortFree(8080, 'tcp', dir));
});

test('missing files and a header-only file mean nothing is in use', (t) => {
  const dir = procNet(t, { tcp: TCP_HEADER });
  t.is(portsInUse('tcp', dir).size, 0);
  t.is(portsInUse('udp', dir).size, 0);
  t.true(isHostPortFree(80, 'tcp', dir));
});

test('the real /proc/net sees a TCP listener on 127.0.0.1 until it closes', async (t) => {
  const server: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  t.false(isHostPortFree(address.port, 'tcp'));
  await new Promise<void>((resolve) => server.close(() => resolve()));
  t.true(isHostPortFree(address.port, 'tcp'));
});
