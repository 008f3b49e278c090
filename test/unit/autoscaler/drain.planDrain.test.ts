import { describe, expect, it } from 'vitest';
import { planDrain } from '../../../src/autoscaler/drain.js';

describe('planDrain', () => {
  const order = ['r4', 'r3', 'r2', 'r1'];
  it.each([
    { name: 'idle replicas are stopped at once', busy: [], target: 2, draining: ['r4', 'r3'], scaleTo: 2 },
    { name: 'a busy first replica holds the whole scale-down', busy: ['r4'], target: 2, draining: ['r4', 'r3'], scaleTo: undefined },
    { name: 'the idle lead goes, the busy rest keeps draining', busy: ['r3'], target: 1, draining: ['r4', 'r3', 'r2'], scaleTo: 3 },
    { name: 'to zero with every replica idle', busy: [], target: 0, draining: order, scaleTo: 0 },
    { name: 'a busy replica the scale-down keeps is no obstacle', busy: ['r1', 'r2'], target: 2, draining: ['r4', 'r3'], scaleTo: 2 },
    { name: 'nothing to stop when fewer replicas run than the target', busy: ['r4'], target: 5, draining: [], scaleTo: 5 },
  ])('$name', ({ busy, target, draining, scaleTo }) => {
    const plan = planDrain(order, target, (id) => (busy.includes(id) ? 1 : 0));
    expect(plan).toEqual({ draining, scaleTo });
  });
});
