/**
 * What the benches read about a running agent: its CPU time and peak memory from /proc, and counter sums from
 * its /metrics endpoint; plus the percentile both benches print.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

/** User and system CPU seconds of `pid` from /proc/<pid>/stat (clock ticks: 10 ms steps). */
export function cpuTimes(pid: number): { user: number; system: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return { user: Number(fields[11]) / CLK_TCK, system: Number(fields[12]) / CLK_TCK };
}

/**
 * CPU time of all of `pid`'s threads, in seconds, from the scheduler's nanosecond counters: the clock-tick
 * counts of /proc/<pid>/stat step by 10 ms, too coarse for the short spans measured here. (A thread that
 * exits takes its time with it; the agent's threads live as long as it does.)
 */
export function cpuSeconds(pid: number): number {
  let nanoseconds = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      nanoseconds += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // The thread exited between the listing and the read.
    }
  }
  return nanoseconds / 1e9;
}

/** VmHWM: the highest resident set size `pid` has had. */
export function peakRssMiB(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

/** Sums a counter family from the agent's /metrics by one label. */
export async function counterBy(port: number, family: string, label: string): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const sums: Record<string, number> = {};
  for (const match of text.matchAll(new RegExp(`^${family}\\{([^}]*)\\} (\\S+)$`, 'gm'))) {
    const value = new RegExp(`${label}="([^"]+)"`).exec(match[1]!)?.[1] ?? 'unknown';
    sums[value] = (sums[value] ?? 0) + Number(match[2]);
  }
  return sums;
}

/** Docker operations the agent made so far, by operation. */
export const dockerCalls = (port: number) => counterBy(port, 'ecs_agent_docker_operations_total', 'operation');

export const total = (calls: Record<string, number>): number => Object.values(calls).reduce((a, b) => a + b, 0);

export function diff(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(after)
      .map(([k, v]) => [k, v - (before[k] ?? 0)])
      .filter(([, v]) => v !== 0),
  );
}
