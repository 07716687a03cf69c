/**
 * `ecs_agent_tasks_waiting{resource}`: tasks waiting for host resources before they may start (host resource
 * admission, issue 13), by what they lack. Read from the store at scrape time: the count is a function of the
 * task records (their `waitingFor`), so it cannot drift from what `ecsd tasks` shows.
 */
import { Gauge, type Registry } from 'prom-client';
import { WAITING_RESOURCES, type WaitingResource } from '../../reconcilers/containers/admission.js';

export type WaitingCounts = Record<WaitingResource, number>;

export interface AdmissionFamilies {
  /** Where the counts come from at each scrape; until set every series reads 0. */
  setWaitingSource(source: () => WaitingCounts): void;
}

export function createAdmissionFamilies(registry: Registry): AdmissionFamilies {
  let source: (() => WaitingCounts) | undefined;
  const gauge = new Gauge({
    name: 'ecs_agent_tasks_waiting',
    help: 'Tasks waiting for host resources (cpu, memory or a host port) before they may start, by resource.',
    labelNames: ['resource'],
    registers: [registry],
    collect() {
      if (source === undefined) return;
      const counts = source();
      for (const resource of WAITING_RESOURCES) this.set({ resource }, counts[resource]);
    },
  });
  // Every label value present from start-up, so dashboards and alerts see 0 rather than no series.
  for (const resource of WAITING_RESOURCES) gauge.set({ resource }, 0);
  return {
    setWaitingSource(next) {
      source = next;
    },
  };
}
