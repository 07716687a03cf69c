/** The unit-bearing string forms of the RegisterTaskDefinition shape, turned into numbers with units in their names. */

/** `"8000-8010"` → [8000, 8010], or undefined when malformed. */
export function parsePortRange(range: string): [number, number] | undefined {
  const match = /^(\d{1,5})-(\d{1,5})$/.exec(range);
  if (!match) return undefined;
  const start = Number(match[1]);
  const end = Number(match[2]);
  if (start < 1 || end > 65535 || start >= end) return undefined;
  return [start, end];
}

/** Task `memory` in MiB: "512", 512, "1 GB", "1GB", "0.5 GB" (the RegisterTaskDefinition forms). */
export function parseTaskMemoryMiB(value: string | number): number {
  if (typeof value === 'number') return value;
  const gb = /^\s*([0-9]*\.?[0-9]+|[0-9]+\.)\s*[gG][bB]\s*$/.exec(value);
  if (gb) return Math.round(Number(gb[1]) * 1024);
  return Number(value.trim());
}

/** Task `cpu` in CPU units: "1024", 1024, "1 vCPU", "0.5 vcpu" (the RegisterTaskDefinition forms). */
export function parseTaskCpuUnits(value: string | number): number {
  if (typeof value === 'number') return value;
  const vcpu = /^\s*([0-9]*\.?[0-9]+|[0-9]+\.)\s*[vV][cC][pP][uU]\s*$/.exec(value);
  if (vcpu) return Math.round(Number(vcpu[1]) * 1024);
  return Number(value.trim());
}
