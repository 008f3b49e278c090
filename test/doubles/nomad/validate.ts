/**
 * What Nomad checks when a job is registered, for the double (hashicorp.md §1.3, §1.4): JSON types are
 * decoded first (a wrong type is a 400 "Failed to decode request"), then the job is validated, and every
 * problem comes back together as a Go multierror in a 500, as Nomad's admission validators answer.
 */

type Json = Record<string, unknown>;

export class DecodeError extends Error {}

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Decode-time checks: numbers where Go has integers or durations, strings where it has strings. */
function expectType(value: unknown, kind: 'int' | 'string' | 'bool' | 'array' | 'object', where: string): void {
  if (value === undefined || value === null) return;
  const ok =
    kind === 'int' ? typeof value === 'number' && Number.isInteger(value)
    : kind === 'string' ? typeof value === 'string'
    : kind === 'bool' ? typeof value === 'boolean'
    : kind === 'array' ? Array.isArray(value)
    : isObj(value);
  if (!ok) {
    const got = typeof value === 'number' ? 'number' : Array.isArray(value) ? 'array' : typeof value;
    throw new DecodeError(`json: cannot unmarshal ${got} into Go struct field ${where} of type ${kind === 'int' ? 'int64' : kind}`);
  }
}

const DURATIONS = ['Interval', 'Timeout', 'Delay', 'MaxDelay', 'MinHealthyTime', 'HealthyDeadline', 'ProgressDeadline', 'Stagger', 'KillTimeout', 'ShutdownDelay'];
const INTS = ['Count', 'Priority', 'Min', 'Max', 'Attempts', 'MaxParallel', 'Canary', 'CPU', 'Cores', 'MemoryMB', 'SizeMB', 'To', 'Value', 'MaxFiles', 'MaxFileSizeMB'];
const STRINGS = ['ID', 'Name', 'Namespace', 'Region', 'Type', 'Driver', 'KillSignal', 'Mode', 'HealthCheck', 'ChangeMode', 'EmbeddedTmpl', 'DestPath', 'GetterSource', 'GetterMode', 'RelativeDest', 'PortLabel', 'Path', 'Label', 'LTarget', 'RTarget', 'Operand', 'Provider', 'Role', 'NodePool', 'DelayFunction'];
const BOOLS = ['AutoRevert', 'AutoPromote', 'Envvars', 'Unlimited', 'Enabled', 'Sticky', 'Migrate'];
const MAPS_OF_STRINGS = ['Meta', 'Env'];

/** Walks the job as Go's decoder would, refusing wrong types by field path. */
export function decodeJob(value: unknown, where = 'Job'): void {
  if (Array.isArray(value)) return value.forEach((v) => decodeJob(v, where));
  if (!isObj(value)) return;
  for (const [key, v] of Object.entries(value)) {
    const path = `${where}.${key}`;
    if (DURATIONS.includes(key) || INTS.includes(key)) expectType(v, 'int', path);
    else if (STRINGS.includes(key)) expectType(v, 'string', path);
    else if (BOOLS.includes(key)) expectType(v, 'bool', path);
    else if (MAPS_OF_STRINGS.includes(key)) {
      expectType(v, 'object', path);
      for (const [k, s] of Object.entries((v as Json | null) ?? {})) expectType(s, 'string', `${path}[${k}]`);
    } else if (key !== 'Config' && key !== 'Policy') decodeJob(v, path);
  }
}

const oneOf = (v: unknown, allowed: string[]) => v === undefined || v === '' || allowed.includes(v as string);

function validateTask(task: Json, ports: Set<string>): string[] {
  const errors: string[] = [];
  const name = String(task.Name ?? '');
  if (!name) errors.push('Missing task name');
  if (!task.Driver) errors.push(`Task ${name} validation failed: Missing task driver`);
  const r = (task.Resources ?? {}) as Json;
  if (Number(r.CPU ?? 0) > 0 && Number(r.Cores ?? 0) > 0) errors.push(`Task ${name} validation failed: Task can only ask for 'cpu' or 'cores' resource, not both.`);
  if (r.MemoryMB !== undefined && Number(r.MemoryMB) < 10) errors.push(`Task ${name} validation failed: minimum MemoryMB value is 10; got ${String(r.MemoryMB)}`);
  for (const d of (r.Devices ?? []) as Json[]) if (!d.Name) errors.push(`Task ${name} validation failed: device name must be given as one of the following: type, vendor/type, or vendor/type/name`);
  if (Number(task.KillTimeout ?? 0) < 0) errors.push(`Task ${name} validation failed: KillTimeout must be a positive value`);
  for (const t of (task.Templates ?? []) as Json[]) {
    if (!t.DestPath) errors.push(`Task ${name} validation failed: Must specify a destination for the template`);
    if (!oneOf(t.ChangeMode, ['noop', 'restart', 'signal', 'script'])) errors.push(`Task ${name} validation failed: Invalid change mode ${String(t.ChangeMode)}`);
  }
  const vault = task.Vault as Json | undefined;
  if (vault && !oneOf(vault.ChangeMode, ['noop', 'restart', 'signal'])) errors.push(`Task ${name} validation failed: Invalid Vault change mode ${String(vault.ChangeMode)}`);
  for (const a of (task.Artifacts ?? []) as Json[]) {
    if (!a.GetterSource) errors.push(`Task ${name} validation failed: source must be specified`);
    if (!oneOf(a.GetterMode, ['any', 'file', 'dir'])) errors.push(`Task ${name} validation failed: invalid artifact mode ${String(a.GetterMode)}`);
  }
  for (const label of ((task.Config as Json | undefined)?.ports ?? []) as string[]) {
    if (!ports.has(label)) errors.push(`Task ${name} validation failed: port label "${label}" not found in the group's network`);
  }
  return errors;
}

function validateUpdate(u: Json | undefined): string[] {
  if (!u) return [];
  const errors: string[] = [];
  if (!oneOf(u.HealthCheck, ['checks', 'task_states', 'manual'])) errors.push(`Invalid health check given: "${String(u.HealthCheck)}"`);
  if (Number(u.MinHealthyTime ?? 0) >= Number(u.HealthyDeadline ?? Infinity)) errors.push('Minimum healthy time must be less than healthy deadline');
  const progress = Number(u.ProgressDeadline ?? 0);
  if (progress !== 0 && Number(u.HealthyDeadline ?? 0) >= progress) errors.push('Healthy deadline must be less than progress deadline');
  return errors;
}

function validateGroup(g: Json): string[] {
  const errors: string[] = [];
  const count = Number(g.Count ?? 1);
  if (count < 0) errors.push('Task group count can\'t be negative');
  const scaling = g.Scaling as Json | undefined;
  if (scaling) {
    if (scaling.Max === undefined || Number(scaling.Max) < 0) errors.push('Scaling policy invalid: maximum count must be specified and non-negative');
    else if (Number(scaling.Min ?? 0) > Number(scaling.Max)) errors.push('Scaling policy invalid: maximum count must not be less than minimum count');
    else if (count < Number(scaling.Min ?? 0)) errors.push(`Task group count (${count}) must not be less than minimum count in scaling policy (${String(scaling.Min)})`);
    else if (count > Number(scaling.Max)) errors.push(`Task group count (${count}) must not be greater than maximum count in scaling policy (${String(scaling.Max)})`);
  }
  const rp = g.RestartPolicy as Json | undefined;
  if (rp && !oneOf(rp.Mode, ['delay', 'fail'])) errors.push(`Unsupported restart mode: "${String(rp.Mode)}"`);
  const ports = new Set(((g.Networks ?? []) as Json[]).flatMap((n) => [...((n.DynamicPorts ?? []) as Json[]), ...((n.ReservedPorts ?? []) as Json[])].map((p) => String(p.Label))));
  for (const s of (g.Services ?? []) as Json[]) {
    if (!oneOf(s.Provider, ['consul', 'nomad'])) errors.push(`Service ${String(s.Name)} has invalid provider "${String(s.Provider)}"`);
    if (s.PortLabel && !ports.has(String(s.PortLabel))) errors.push(`Service ${String(s.Name)} port label "${String(s.PortLabel)}" does not exist in the group network`);
    for (const c of (s.Checks ?? []) as Json[]) {
      if (!oneOf(c.Type, ['http', 'tcp', 'grpc', 'script'])) errors.push(`Service ${String(s.Name)} check type "${String(c.Type)}" is invalid`);
      if (Number(c.Interval ?? 0) < 1e9) errors.push(`Service ${String(s.Name)} check interval (${String(c.Interval)}) cannot be lower than 1s`);
      if (Number(c.Timeout ?? 0) < 1e9) errors.push(`Service ${String(s.Name)} check timeout (${String(c.Timeout)}) cannot be lower than 1s`);
      if (c.Type === 'http' && !c.Path) errors.push(`Service ${String(s.Name)} http check requires a path`);
    }
  }
  errors.push(...validateUpdate(g.Update as Json | undefined));
  const tasks = (g.Tasks ?? []) as Json[];
  if (tasks.length === 0) errors.push('Missing tasks for task group');
  for (const t of tasks) errors.push(...validateTask(t, ports));
  return errors.map((e) => `Task group ${String(g.Name ?? '')} validation failed: ${e}`);
}

/** Nomad's job validation; returns every problem (empty when valid). */
export function validateJob(job: Json): string[] {
  const errors: string[] = [];
  if (!job.Region) errors.push('Missing job region');
  if (!job.ID) errors.push('Missing job ID');
  else if (/\s/.test(String(job.ID))) errors.push('Job ID contains a space');
  if (!job.Name) errors.push('Missing job name');
  if (!oneOf(job.Type, ['service', 'batch', 'system', 'sysbatch'])) errors.push(`Invalid job type: "${String(job.Type)}"`);
  const priority = Number(job.Priority ?? 50);
  if (priority < 1 || priority > 100) errors.push('Job priority must be between [1, 100]');
  if (Array.isArray(job.Datacenters) && job.Datacenters.length === 0) errors.push('Missing job datacenters');
  const groups = (job.TaskGroups ?? []) as Json[];
  if (groups.length === 0) errors.push('Missing job task groups');
  const names = new Set<string>();
  for (const g of groups) {
    if (!g.Name) errors.push('Job task group is missing a name');
    if (names.has(String(g.Name))) errors.push(`Job task group ${String(g.Name)} redefines a task group`);
    names.add(String(g.Name));
    errors.push(...validateGroup(g));
  }
  return errors;
}

/** A Go multierror as Nomad prints it. */
export function multierror(errors: string[]): string {
  const head = errors.length === 1 ? '1 error occurred:' : `${errors.length} errors occurred:`;
  return `${head}\n${errors.map((e) => `\t* ${e}`).join('\n')}\n\n`;
}
