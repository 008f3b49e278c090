import { describe, expect, it } from 'vitest';
import { NomadDouble } from '../doubles/nomad/nomad-double.js';
import { describeNomadApiContract } from './nomad-api.contract.js';

/** Every double the suite ran against, to check afterwards that the suite left nothing in them. */
const doubles: NomadDouble[] = [];

describeNomadApiContract('double', async () => {
  let hold = false;
  const nomad = new NomadDouble({ token: 'contract-management-token', autoRun: true });
  doubles.push(nomad);
  const original = nomad.cluster.onPlaced;
  nomad.cluster.onPlaced = (a) => {
    if (!hold) original(a);
  };
  const url = await nomad.start();
  return { url, token: 'contract-management-token', holdAllocations: (h) => (hold = h), close: () => nomad.close() };
});

// Runs after the suite above (files run their describes in order): a run must purge every job it registered.
describe('Nomad API contract cleanup', () => {
  it('leaves no job behind in the agent it ran against', () => {
    expect(doubles.length).toBeGreaterThan(5);
    expect(doubles.filter((d) => d.registered.length > 0).length).toBeGreaterThan(5);
    expect(doubles.flatMap((d) => [...d.cluster.jobs.keys()])).toEqual([]);
  });
});

describe.skipIf(!process.env.NOMAD_ADDR)('real Nomad agent', () => {
  describeNomadApiContract(`real agent at ${process.env.NOMAD_ADDR}`, async () => ({
    url: process.env.NOMAD_ADDR!.replace(/\/+$/, ''),
    token: process.env.NOMAD_TOKEN,
    close: async () => undefined,
  }));
});
