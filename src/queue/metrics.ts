import { Gauge, Histogram, type Registry } from 'prom-client';
import type { JobQueue } from './queue.js';

/**
 * Queue metrics per deployment id on `/metrics`: depth and running (read at scrape time), dispatch
 * latency (submit → handed to a worker) and job duration (claim → done/failed).
 */
export function registerQueueMetrics(queue: JobQueue, registry: Registry): void {
  const labelNames = ['deployment_id'] as const;
  const collect = (pick: 'messages_waiting' | 'messages_running') =>
    async function (this: Gauge<'deployment_id'>): Promise<void> {
      this.reset();
      for (const id of queue.deploymentIds()) this.set({ deployment_id: id }, queue.metrics(id)[pick]);
    };
  new Gauge({ name: 'gantry_queue_pending_jobs', help: 'Jobs waiting in the queue', labelNames, registers: [registry], collect: collect('messages_waiting') });
  new Gauge({ name: 'gantry_queue_running_jobs', help: 'Jobs claimed by workers', labelNames, registers: [registry], collect: collect('messages_running') });
  const dispatch = new Histogram({
    name: 'gantry_queue_dispatch_seconds',
    help: 'Time from submit to the job being handed to a worker',
    labelNames,
    buckets: [0.0005, 0.001, 0.002, 0.003, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'gantry_queue_job_duration_seconds',
    help: 'Time from claim to done or failed',
    labelNames: ['deployment_id', 'status'] as const,
    buckets: [0.01, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600],
    registers: [registry],
  });
  queue.events.on('job:claimed', (e) => dispatch.observe({ deployment_id: e.deploymentId }, e.waitedMs / 1000));
  queue.events.on('job:finished', (e) => duration.observe({ deployment_id: e.deploymentId, status: e.status }, e.ranMs / 1000));
}
