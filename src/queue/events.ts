import { EventEmitter } from 'node:events';

/** The queue's events, one typed map (the autoscaler and metrics listen). */
export interface QueueEventMap {
  'job:submitted': [{ deploymentId: string; requestId: string }];
  'job:claimed': [{ deploymentId: string; requestId: string; waitedMs: number }];
  'job:finished': [{ deploymentId: string; requestId: string; status: string; ranMs: number }];
  'lease:expired': [{ deploymentId: string; requestId: string; reason: string }];
}

export class QueueEvents extends EventEmitter<QueueEventMap> {}
