/**
 * `ecsd tasks [--output json]`: the tasks in the store, read-only, in the introspection TaskResponse shape
 * plus ExitCode/Reason and the task's WaitingFor (host resource admission). Works whether or not an agent is running (SQLite WAL allows a concurrent reader).
 */
import type { AgentConfig } from '../config/index.js';
import { type TaskResponse, toTaskResponse } from '../http/task-response.js';
import { openStoreReadOnly } from '../store/index.js';

export function printTasks(config: AgentConfig, output: 'text' | 'json', out: NodeJS.WritableStream): number {
  const tasks = readTaskResponses(config.dataDir);
  if (!tasks) {
    out.write(output === 'json' ? '{"Tasks":[]}\n' : `no store at ${config.dataDir} (is ECS_DATADIR right?)\n`);
    return output === 'json' ? 0 : 1;
  }
  out.write(output === 'json' ? `${JSON.stringify({ Tasks: tasks }, null, 2)}\n` : formatTasksText(tasks));
  return 0;
}

/** Every task in the store at `dataDir` as `ecsd tasks` shows it; undefined when there is no store file. */
export function readTaskResponses(dataDir: string): TaskResponse[] | undefined {
  const store = openStoreReadOnly({ dataDir });
  if (!store) return undefined;
  try {
    return store.listTasks().map((task) => toTaskResponse(task, store.listContainers(task.arn), { withOutcome: true }));
  } finally {
    store.close();
  }
}

export function formatTasksText(tasks: readonly TaskResponse[]): string {
  if (tasks.length === 0) return 'no tasks\n';
  const lines: string[] = [];
  for (const task of tasks) {
    const reason = task.Reason ? `  reason="${task.Reason}"` : '';
    const waiting = task.WaitingFor ? `  waiting-for="${task.WaitingFor}"` : '';
    lines.push(
      `${task.Arn}  ${task.Family}:${task.Version}  desired=${task.DesiredStatus ?? '-'} known=${task.KnownStatus}${reason}${waiting}`,
    );
    for (const c of task.Containers) {
      const ports = (c.Ports ?? []).map((p) => `${p.HostPort}->${p.ContainerPort}/${p.Protocol}`).join(',');
      const parts = [
        `  ${c.Name}`,
        `known=${c.KnownStatus ?? '-'}`,
        `docker=${c.DockerId ? c.DockerId.slice(0, 12) : '-'}`,
        ports ? `ports=${ports}` : '',
        c.ExitCode !== undefined ? `exit=${c.ExitCode}` : '',
        c.Reason ? `reason="${c.Reason}"` : '',
      ];
      lines.push(parts.filter(Boolean).join('  '));
    }
  }
  return `${lines.join('\n')}\n`;
}
