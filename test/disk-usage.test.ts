// diskUsage reads statfs(2) the way df does, so the watermarks compare against the Use% operators see.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { diskUsage } from '../src/host/disk-usage.js';

const run = promisify(execFile);

test('the numbers agree with df for the same filesystem', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ecsd-disk-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const usage = await diskUsage(dir);
  // df -B1 --output=size,used,avail,pcent: bytes, and Use% rounded up as df rounds it.
  const { stdout } = await run('df', ['-B1', '--output=size,used,avail,pcent', dir]);
  const [size, used, avail, pcent] = stdout.trim().split('\n')[1]!.trim().split(/\s+/);
  t.is(usage.totalBytes, Number(size));
  // Other processes write to the same filesystem between the two reads: allow a little drift.
  const drift = 64 * 1024 * 1024;
  t.true(Math.abs(usage.usedBytes - Number(used)) < drift, `${usage.usedBytes} vs ${used}`);
  t.true(Math.abs(usage.freeBytes - Number(avail)) < drift, `${usage.freeBytes} vs ${avail}`);
  t.true(Math.abs(Math.ceil(usage.usedPercent) - Number(pcent!.replace('%', ''))) <= 1);
  t.true(usage.usedPercent > 0 && usage.usedPercent <= 100);
});

test('a path that does not exist is an error, not zeros', async (t) => {
  await t.throwsAsync(diskUsage('/nonexistent/ecsd-disk-usage'), { code: 'ENOENT' });
});
