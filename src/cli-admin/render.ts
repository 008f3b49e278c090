import { ConfigError, loadConfig, type LoadConfigOptions } from '../config/load.js';
import { BUILTIN_GPU_TYPES, GpuCatalog, gpuTypeFromOptions } from '../deployments/gpu-catalog.js';
import { clusterSettingsOf } from '../scheduler/nomad/from-config.js';
import { renderProject, RenderError } from '../scheduler/nomad/render-project.js';

/** `gantry render <dir>`: prints the Nomad job JSON (a register request body) a project would become. */
export function runRenderCommand(options: LoadConfigOptions, dir: string): void {
  try {
    const config = loadConfig(options);
    const gpus = new GpuCatalog(BUILTIN_GPU_TYPES, Object.entries(config.gpuTypes).map(([name, t]) => gpuTypeFromOptions(name, t)));
    const job = renderProject(dir, {
      settings: clusterSettingsOf(config),
      gpus,
      publicUrl: config.publicUrl ?? 'https://gantry.example.com',
      registry: config.registry?.basePath,
    });
    process.stdout.write(`${JSON.stringify({ Job: job }, null, 2)}\n`);
  } catch (err) {
    if (!(err instanceof RenderError) && !(err instanceof ConfigError)) throw err;
    process.stderr.write(`gantry render: ${err.message}\n`);
    process.exitCode = 1;
  }
}
