#!/usr/bin/env node
// First: it sets a V8 flag before the rest of Hookline is loaded and run.
import './gc-tuning.js';
import { Command, Option } from 'commander';
import { VERSION } from '../server/version.js';
import { demoCommand } from './demo.js';
import { serveCommand } from './serve.js';

const program = new Command('hookline')
  .description('Webhook delivery: signed, retried, observable')
  .version(VERSION)
  .showHelpAfterError(false)
  // A usage mistake is one line: commander puts its "(Did you mean --port?)" on a second one.
  .configureOutput({ outputError: (text, write) => write(`${text.trim().replace(/\s*\n\s*/g, ' ')}\n`) });

program
  .command('serve')
  .description('run the Hookline server (API and delivery workers)')
  .option('--port <port>', 'port to listen on (HOOKLINE_PORT, default 8420)')
  .option('--host <host>', 'address to bind (HOOKLINE_HOST, default 127.0.0.1)')
  .option('--db <path>', 'SQLite database file (HOOKLINE_DB, default ./hookline.db)')
  .option('--database-url <url>', 'PostgreSQL connection string (HOOKLINE_DATABASE_URL)')
  .option('--dev', 'allow http:// and private targets (HOOKLINE_DEV=1)')
  .addOption(new Option('--role <role>', 'all | api | worker (HOOKLINE_ROLE, default all)'))
  .action(serveCommand);

program
  .command('demo')
  .description('see it work: a dev server, a receiver, a webhook and a few events, attempts printed live')
  .option('--exit', 'exit once every delivery has succeeded')
  .action(demoCommand);

await program.parseAsync(process.argv);
