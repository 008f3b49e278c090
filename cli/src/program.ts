import { Command } from 'commander';
import { registerDeploy } from './commands/deploy.js';
import { registerProjectCommands } from './commands/project.js';
import { registerQueries } from './commands/query.js';
import { registerQueue } from './commands/queue.js';
import { registerSecrets } from './commands/secrets.js';
import { registerVolumes } from './commands/volumes.js';
import type { CliIo } from './run.js';

/** The `jig` program: the original's commands and flags (compat.md §1), run against Gantry. */
export function buildProgram(io: CliIo): Command {
  const program = new Command('jig')
    .description('Deploy and run dedicated containers on Gantry (Jig-compatible)')
    .option('-c, --config <path>', 'config file (default: ./jig.toml, else ./pyproject.toml with [tool.jig])')
    .option('--json', 'print raw JSON (status, secrets list, volumes list)')
    .option('--api-key <key>', 'API key (default: $TOGETHER_API_KEY)')
    .option('--base-url <url>', 'API base URL (default: $TOGETHER_BASE_URL, $GANTRY_URL, https://127.0.0.1:8443/v1)')
    .showHelpAfterError();
  registerProjectCommands(program, io);
  registerDeploy(program, io);
  registerQueries(program, io);
  registerQueue(program, io);
  registerSecrets(program, io);
  registerVolumes(program, io);
  return program;
}

