/**
 * graphile-worker's logger, reduced to warnings and errors: its default prints one "Completed task" line
 * per job, and 20,000 console writes would cost the worker more than the job it is timing.
 */
import { Logger } from 'graphile-worker';

const LOUD = new Set<string>(['error', 'warning']);

export const quietGraphileLogger = new Logger(() => (level, message) => {
  if (LOUD.has(level)) console.error(`[graphile-worker] ${message}`);
});
