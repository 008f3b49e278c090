import type { Deployment, ReplicaEvent } from '../api/types.js';

const BAR = '\u2503';
const ARROW = '\u2192';

/** `4d11h`: at most two units of mo/d/h/m/s since `iso`; `-` when it does not parse. */
export function age(iso: string | undefined, now: number): string {
  const t = iso ? Date.parse(iso) : NaN;
  if (Number.isNaN(t)) return '-';
  let s = Math.max(0, Math.floor((now - t) / 1000));
  const parts: string[] = [];
  for (const [unit, label] of [[30 * 86400, 'mo'], [86400, 'd'], [3600, 'h'], [60, 'm'], [1, 's']] as const) {
    if (s < unit) continue;
    parts.push(`${Math.floor(s / unit)}${label}`);
    s %= unit;
  }
  return parts.slice(0, 2).join('') || '0s';
}

/** The image without our registry prefix and with a sha256 digest cut to 8 characters. */
export function shortImage(image: string, registryPrefix: string): string {
  const rest = registryPrefix && image.startsWith(registryPrefix) ? image.slice(registryPrefix.length) : image;
  const at = rest.indexOf('sha256:');
  return at < 0 ? rest : rest.slice(0, at + 7) + rest.slice(at + 7, at + 15);
}

/** A number as Python prints a float (the SDK types cpu, memory and targets as floats): 1 → 1.0. */
function pyFloat(value: unknown): string {
  return typeof value === 'number' && Number.isInteger(value) ? value.toFixed(1) : String(value);
}

/** Python's repr of a list of strings, as the original prints `Command:`/`Args:`. */
function pyList(items: string[]): string {
  return `[${items.map((i) => `'${i.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`).join(', ')}]`;
}

/** `jig status` as text (compat.md §1.7). Pure: `now` and the registry prefix come in. */
export function formatStatus(d: Deployment, now: number, registryPrefix: string): string {
  const lines = [...header(d, now, registryPrefix), '', 'Configuration:', ...configuration(d), ...replicaEvents(d, now, registryPrefix)];
  return `${lines.join('\n')}\n`;
}

function header(d: Deployment, now: number, prefix: string): string[] {
  const lines = [
    'App:',
    `  Name    : ${d.name} ${BAR} ID: ${d.id}`,
    `  Image   : ${shortImage(d.image ?? '-', prefix)}`,
    `  Status  : ${d.status}`,
    `  Created : ${age(d.created_at, now)} ${BAR} Updated : ${age(d.updated_at, now)}`,
  ];
  const a = d.autoscaling;
  if (a && Object.keys(a).length) lines.push(`  Autoscaling: ${String(a.metric ?? 'N/A')} ${a.target === undefined ? 'N/A' : pyFloat(a.target)} (target)`);
  lines.push(`  Replicas: ${d.ready_replicas}/${d.desired_replicas} ready (min ${d.min_replicas}, max ${d.max_replicas})`);
  return lines;
}

function configuration(d: Deployment): string[] {
  const lines: string[] = [];
  if (d.gpu_count && d.gpu_type) lines.push(`  GPU: ${d.gpu_count}x ${d.gpu_type}`);
  const vol = d.volumes?.[0];
  lines.push(vol ? `  Volume: ${vol.name} ${ARROW} ${vol.mount_path}` : '  Volume: (none)');
  lines.push(`  Resources: ${pyFloat(d.cpu)} core CPU ${BAR} ${pyFloat(d.memory)}GB Memory${d.storage ? ` ${BAR} ${d.storage}GB Storage` : ''}`);
  if (d.command?.length) lines.push(`  Command: ${pyList(d.command)}`);
  if (d.args?.length) lines.push(`  Args: ${pyList(d.args)}`);
  if (d.port !== 8000) lines.push(`  Port: ${d.port}`);
  if (d.health_check_path) lines.push(`  Health Check Path: ${d.health_check_path}`);
  return [...lines, ...environment(d)];
}

function environment(d: Deployment): string[] {
  const all = d.environment_variables ?? [];
  const lines: string[] = [];
  const secrets = all.filter((e) => e.value_from_secret);
  if (secrets.length) lines.push(`  Secrets: ${secrets.map((s) => s.name).join(', ')}`);
  const plain = all.filter((e) => e.value && e.name !== 'TOGETHER_DEPLOYMENT_REVISION_ID');
  if (plain.length) lines.push('  Environment Variables:', `    ${'NAME'.padEnd(40)} VALUE`, ...plain.map((e) => `    ${e.name.padEnd(40)} ${e.value}`));
  return lines;
}

function replicaEvents(d: Deployment, now: number, prefix: string): string[] {
  const entries = Object.entries(d.replica_events ?? {});
  if (!entries.length) return [];
  const byImage = new Map<string, Array<[string, ReplicaEvent]>>();
  for (const entry of entries) {
    const image = entry[1].image || '-';
    byImage.set(image, [...(byImage.get(image) ?? []), entry]);
  }
  const lines = ['', 'Replica Events:'];
  for (const image of [...byImage.keys()].sort().reverse()) {
    lines.push(`${shortImage(image, prefix)}:`);
    for (const [rid, r] of byImage.get(image)!) lines.push(`  ${rid}: ${replicaState(r, now)}`);
  }
  return lines;
}

function replicaState(r: ReplicaEvent, now: number): string {
  if (r.volume_preload_status && !r.volume_preload_completed_at) return 'Volume Preloading';
  if (r.replica_status === 'Running' && r.replica_ready_since) return `Running, ready ${age(r.replica_ready_since, now)}`;
  return String(r.replica_status);
}
