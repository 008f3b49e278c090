import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { problemsOf } from '../../helpers/config-problems.js';

function tomlFile(text: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'gantry-cfg-')), 'gantry.toml');
  writeFileSync(file, text);
  return file;
}

describe('loadConfig', () => {
  it('fills every default when nothing is set', () => {
    const config = loadConfig({ env: {}, cwd: '/srv' });
    expect(config).toMatchObject({
      dataDir: '/srv/.gantry',
      host: '127.0.0.1',
      port: 8443,
      tls: { mode: 'local-ca' },
      maxPayloadBytes: 1024 * 1024,
      registry: undefined,
      metricsRequireKey: false,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('layers defaults < file < env < flags', () => {
    const file = tomlFile('port = 9000\nhost = "0.0.0.0"\nlog_level = "debug"\n');
    const config = loadConfig({
      env: { GANTRY_CONFIG: file, GANTRY_PORT: '9100', GANTRY_LOG_LEVEL: 'warn' },
      flags: { log_level: 'error' },
    });
    expect(config).toMatchObject({ port: 9100, host: '0.0.0.0', logLevel: 'error' });
  });

  it('names the environment variable that holds a bad value', () => {
    const problems = problemsOf(() => loadConfig({ env: { GANTRY_PORT: 'eighty' } }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('GANTRY_PORT');
    expect(problems[0]).toContain('"eighty"');
  });

  it('reports every bad value at once', () => {
    const problems = problemsOf(() =>
      loadConfig({ env: { GANTRY_PORT: '70000', GANTRY_INSECURE_HTTP: 'maybe', GANTRY_PUBLIC_URL: 'not a url' } }),
    );
    expect(problems.join('\n')).toMatch(/GANTRY_PORT[\s\S]*GANTRY_INSECURE_HTTP[\s\S]*GANTRY_PUBLIC_URL/);
  });

  it('names the file and key of a bad or unknown file setting', () => {
    const file = tomlFile('port = "x"\nprot = 1\n');
    const problems = problemsOf(() => loadConfig({ env: {}, configFile: file }));
    expect(problems.some((p) => p.includes(file) && p.includes('"port"'))).toBe(true);
    expect(problems.some((p) => p.includes('"prot"') && p.includes('unknown setting'))).toBe(true);
  });

  it('gives the line of a TOML syntax error', () => {
    const file = tomlFile('port = 9000\nhost = \n');
    const problems = problemsOf(() => loadConfig({ env: {}, configFile: file }));
    expect(problems[0]).toMatch(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2:`));
  });

  it('refuses a missing config file with its path', () => {
    const problems = problemsOf(() => loadConfig({ env: { GANTRY_CONFIG: '/nonexistent/gantry.toml' } }));
    expect(problems[0]).toContain('/nonexistent/gantry.toml');
  });

  it('never echoes the admin key it refuses', () => {
    const problems = problemsOf(() => loadConfig({ env: { GANTRY_ADMIN_KEY: 'short-secret' } }));
    expect(problems[0]).toContain('GANTRY_ADMIN_KEY');
    expect(problems.join('')).not.toContain('short-secret');
  });

  it('selects plain HTTP only when asked, and a provided certificate when both files are given', () => {
    expect(loadConfig({ env: { GANTRY_INSECURE_HTTP: 'true' } }).tls).toEqual({ mode: 'http' });
    const tls = loadConfig({ env: { GANTRY_TLS_CERT: 'c.pem', GANTRY_TLS_KEY: 'k.pem' }, cwd: '/etc/g' }).tls;
    expect(tls).toEqual({ mode: 'provided', certFile: '/etc/g/c.pem', keyFile: '/etc/g/k.pem' });
  });

  it('refuses half a certificate and certificate with plain HTTP', () => {
    expect(problemsOf(() => loadConfig({ env: { GANTRY_TLS_CERT: 'c.pem' } }))[0]).toContain('GANTRY_TLS_KEY');
    const both = { GANTRY_TLS_CERT: 'c', GANTRY_TLS_KEY: 'k', GANTRY_INSECURE_HTTP: '1' };
    expect(problemsOf(() => loadConfig({ env: both }))[0]).toContain('GANTRY_INSECURE_HTTP');
  });

  it('strips the scheme from the registry base path', () => {
    const config = loadConfig({ env: { GANTRY_REGISTRY: 'https://registry.example.com/ml-team/' } });
    expect(config.registry).toEqual({ basePath: 'registry.example.com/ml-team', loginWithApiKey: false });
  });

  it('reads the standard cluster address variables', () => {
    const config = loadConfig({ env: { NOMAD_ADDR: 'http://127.0.0.1:4646' } });
    expect(config.cluster.nomadAddr).toBe('http://127.0.0.1:4646');
  });
});
