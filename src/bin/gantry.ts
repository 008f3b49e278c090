#!/usr/bin/env node
import { Command, Option } from 'commander';
import { runKeysCommand, type KeysAction } from '../cli-admin/keys.js';
import { runRenderCommand } from '../cli-admin/render.js';
import { runServer } from '../main.js';
import { ConfigError } from '../config/load.js';
import type { RawConfigKey } from '../config/schema.js';

/** Options shared by every subcommand that reads the server configuration. */
function withConfigOptions(command: Command): Command {
  return command
    .option('-c, --config <file>', 'TOML configuration file (also GANTRY_CONFIG)')
    .option('--data-dir <dir>', 'data directory (also GANTRY_DATA_DIR; default ./.gantry)');
}

type Flags = Record<string, string | boolean | undefined>;

/** Commander's camelCase option names → config keys (`dataDir` → `data_dir`). */
function configFlags(opts: Flags): Partial<Record<RawConfigKey, string | boolean>> {
  const keys: Array<[string, RawConfigKey]> = [
    ['dataDir', 'data_dir'],
    ['host', 'host'],
    ['port', 'port'],
    ['insecureHttp', 'insecure_http'],
    ['publicUrl', 'public_url'],
    ['logLevel', 'log_level'],
  ];
  const flags: Partial<Record<RawConfigKey, string | boolean>> = {};
  for (const [opt, key] of keys) if (opts[opt] !== undefined) flags[key] = opts[opt];
  return flags;
}

function loadOptions(opts: Flags) {
  return { env: process.env, flags: configFlags(opts), configFile: opts.config as string | undefined };
}

const program = new Command('gantry').description('Gantry control plane').showHelpAfterError();

withConfigOptions(program.command('server').description('run the control plane'))
  .option('--host <host>', 'address to listen on (also GANTRY_HOST; default 127.0.0.1)')
  .option('--port <port>', 'port to listen on (also GANTRY_PORT; default 8443)')
  .option('--insecure-http', 'serve plain HTTP instead of HTTPS (also GANTRY_INSECURE_HTTP=1)')
  .option('--public-url <url>', 'URL workers are told to use (also GANTRY_PUBLIC_URL)')
  .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
  .action((opts: Flags) => runServer(loadOptions(opts)));

const keys = program.command('keys').description('manage API keys (works on the configured state store directly)');

function keysAction(action: KeysAction['kind']) {
  return (...args: unknown[]) => {
    const command = args[args.length - 1] as Command;
    const opts = command.opts<Flags>();
    const target = typeof args[0] === 'string' ? args[0] : undefined;
    return runKeysCommand(loadOptions(opts), { kind: action, opts, target } as KeysAction);
  };
}

withConfigOptions(keys.command('create').description('create an API key and print it once'))
  .requiredOption('--name <name>', 'a name to recognise the key by')
  .addOption(new Option('--role <role>', 'what the key may do').choices(['user', 'admin']).default('user'))
  .option('--allow-local-source', 'let this user key run any local project directory (x_gantry_source); see GANTRY_SOURCE_ROOTS')
  .option('--json', 'print JSON')
  .action(keysAction('create'));

withConfigOptions(keys.command('list').alias('ls').description('list keys (never their values)'))
  .option('--json', 'print JSON')
  .option('--workers', 'include worker tokens')
  .action(keysAction('list'));

withConfigOptions(keys.command('revoke').argument('<id-or-name>', 'the key to revoke').description('revoke a key'))
  .action(keysAction('revoke'));

withConfigOptions(program.command('render').argument('<dir>', 'a jig project directory').description('print the Nomad job JSON a project would become'))
  .action((dir: string, opts: Flags) => runRenderCommand(loadOptions(opts), dir));

/** A configuration error is the operator's to fix: its problems, without a stack trace, and exit code 2. */
function exitOnConfigError(err: unknown): never {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`gantry: ${err.message}\n`);
  process.exit(2);
}

await program.parseAsync(process.argv).catch(exitOnConfigError);
