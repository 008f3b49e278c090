import { isoTime, type Clock } from '../shared/clock.js';
import { randomToken } from '../shared/ids.js';
import type { StateStore } from '../state/state-store.js';

/** The one project (and organization) a Gantry installation serves; its ids are stable across restarts. */
export interface ProjectInfo {
  projectId: string;
  projectName: string;
  projectSlug: string;
  organizationId: string;
  organizationName: string;
  createdAt: string;
}

const KEY = 'meta/project';

/** Reads the installation's project record, creating it on first start. */
export async function ensureProject(store: StateStore, name: string, clock: Clock): Promise<ProjectInfo> {
  const existing = await store.get(KEY);
  if (existing) return { ...(JSON.parse(existing.value) as ProjectInfo), projectName: name, projectSlug: slug(name) };
  const suffix = randomToken(9).replace(/[^A-Za-z0-9]/g, 'x');
  const fresh: ProjectInfo = {
    projectId: `proj_${suffix}`,
    projectName: name,
    projectSlug: slug(name),
    organizationId: `org_${suffix}`,
    organizationName: name,
    createdAt: isoTime(clock.now()),
  };
  if (await store.cas(KEY, JSON.stringify(fresh), 0)) return fresh;
  return ensureProject(store, name, clock);
}

function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'default';
}
