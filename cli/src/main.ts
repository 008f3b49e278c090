#!/usr/bin/env node
import { buildProgram } from './program.js';
import { processIo } from './run.js';

await buildProgram(processIo()).parseAsync(process.argv);
