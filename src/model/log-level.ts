/** Log levels as the upstream agent's config names them; shared by config (which parses them) and logging. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'crit', 'off'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
