import { statSync } from 'node:fs';
import { UnsupportedSpecError, type JobSpec } from '../scheduler.js';
import { MountPlanError } from './mount-plan.js';
import type { Sandbox } from './sandbox.js';

/**
 * Refuses, at apply, a spec this machine cannot run as asked, with a message an operator can act on. A
 * replica that would start without its files (volumes without a sandbox) must never start at all.
 */
export async function assertRunnable(spec: JobSpec, sandbox: Sandbox): Promise<void> {
  const { source } = spec;
  if (!source) {
    throw new UnsupportedSpecError(
      'the embedded default runs local project directories (x_gantry_source), not container images; ' +
        `run Gantry with NOMAD_ADDR to run image ${spec.image}`,
    );
  }
  if (source.cmd.length === 0) throw new UnsupportedSpecError(`the project at ${source.path} has no command to run`);
  if (!isDirectory(source.path)) throw new UnsupportedSpecError(`${source.path} is not a directory on this machine`);
  // Volumes need the sandbox whatever the mode says: `none` must refuse them, not start without them.
  if (spec.volumes.length > 0 || sandbox.enabled) await assertSandbox(spec, sandbox);
}

async function assertSandbox(spec: JobSpec, sandbox: Sandbox): Promise<void> {
  const reason = await sandbox.unavailableReason();
  if (reason && spec.volumes.length > 0) {
    throw new UnsupportedSpecError(
      `volume mounts need bubblewrap (apt-get install bubblewrap) to show each volume read-only at its ` +
        `mount path on the embedded default, and ${reason}`,
    );
  }
  if (reason) {
    throw new UnsupportedSpecError(
      `every local replica runs in a bubblewrap sandbox (GANTRY_SANDBOX=bwrap), but ${reason}; ` +
        'an operator may run replicas unsandboxed with GANTRY_SANDBOX=none',
    );
  }
  for (const volume of spec.volumes) {
    if (!isDirectory(volume.hostPath)) {
      const which = `volume ${volume.name} (version ${volume.version})`;
      throw new UnsupportedSpecError(`${which} has no files at ${volume.hostPath}`);
    }
  }
  try {
    sandbox.assertPlannable({ deploymentId: spec.deploymentId, cwd: spec.source!.path, volumes: spec.volumes, venvDir: undefined });
  } catch (err) {
    if (err instanceof MountPlanError) throw new UnsupportedSpecError(err.message);
    throw err;
  }
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
