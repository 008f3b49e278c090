import { describe } from 'vitest';
import { NomadDouble } from '../doubles/nomad/nomad-double.js';
import { describeNomadApiContract } from './nomad-api.contract.js';

describeNomadApiContract('double', async () => {
  let hold = false;
  const nomad = new NomadDouble({ token: 'contract-management-token', autoRun: true });
  const original = nomad.cluster.onPlaced;
  nomad.cluster.onPlaced = (a) => {
    if (!hold) original(a);
  };
  const url = await nomad.start();
  return { url, token: 'contract-management-token', holdAllocations: (h) => (hold = h), close: () => nomad.close() };
});

describe.skipIf(!process.env.NOMAD_ADDR)('real Nomad agent', () => {
  describeNomadApiContract(`real agent at ${process.env.NOMAD_ADDR}`, async () => ({
    url: process.env.NOMAD_ADDR!.replace(/\/+$/, ''),
    token: process.env.NOMAD_TOKEN,
    close: async () => undefined,
  }));
});
