/**
 * Scale-down without stopping a replica that holds a claim (compat.md §8.16). The scheduler stops the
 * replicas of `scaleDownOrder` first, so lowering the count from `order.length` to `target` stops
 * `order.slice(0, order.length - target)`: these are drained (the queue hands them nothing more), and
 * the count goes down as far as the leading run of them that is idle. The rest stay draining until
 * their jobs end. Pure.
 */
export interface DrainPlan {
  /** Replicas that must get no job: about to be stopped, or waiting for their jobs to end. */
  draining: string[];
  /** The count to scale to now, or undefined when the first replica to stop is still busy. */
  scaleTo: number | undefined;
}

export function planDrain(order: string[], target: number, claimsOf: (replicaId: string) => number): DrainPlan {
  const victims = order.slice(0, Math.max(0, order.length - target));
  if (victims.length === 0) return { draining: [], scaleTo: target };
  let idle = 0;
  while (idle < victims.length && claimsOf(victims[idle]!) === 0) idle++;
  return { draining: victims, scaleTo: idle > 0 ? order.length - idle : undefined };
}
