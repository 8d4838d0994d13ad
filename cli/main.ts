/**
 * The `sluice` entry point (bin/sluice.js loads this file through tsx). Parses argv, runs the
 * command, and turns errors into messages and exit codes:
 *   0  success
 *   1  the command failed (a SluiceError: port in use, service down, ...)
 *   2  bad usage or configuration (unknown option, invalid port: a ConfigError or an invalid address)
 * Stack traces are printed only with --verbose, or for errors that are bugs (not SluiceErrors).
 */
import { CommanderError } from 'commander';
import type { Command } from 'commander';
import { isConfigurationError, isSluiceError } from '../core/errors';
import { buildProgram } from './program';

// The AWS SDK warns on every run that its releases after January 2027 need Node 22; sluice
// pins the SDK version (package-lock) for Node 20, so the warning is noise on a CLI's stderr.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

/**
 * One line for one error: a message with line breaks (a YAML parser's context, a list of
 * problems) is joined, so a script or a person reading stderr sees one error, not fragments.
 */
function oneLine(text: string): string {
  const parts = text.split('\n').map((part) => part.trim()).filter((part) => part !== '');
  return parts.reduce((line, part) => (line === '' ? part : `${line}${line.endsWith(':') || part.startsWith('(') ? ' ' : '; '}${part}`), '');
}

/** Commander's usage errors in the same shape as ours: `sluice: ...` on one line (its hint stays the line after). */
function printUsageErrorsAsOneLine(command: Command): void {
  command.configureOutput({ outputError: (text, write) => write(`${oneLine(text.replace(/^error: /, 'sluice: '))}\n`) });
  for (const subcommand of command.commands) printUsageErrorsAsOneLine(subcommand);
}

async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  printUsageErrorsAsOneLine(program);
  try {
    await program.parseAsync(argv);
    return EXIT_OK;
  } catch (error) {
    const verbose = program.opts<{ verbose?: boolean }>().verbose === true || argv.includes('--verbose');
    return reportError(error, verbose);
  }
}

function reportError(error: unknown, verbose: boolean): number {
  if (error instanceof CommanderError) {
    // commander already printed the help, version or usage error
    return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help'
      ? EXIT_OK
      : EXIT_USAGE;
  }
  if (isSluiceError(error)) {
    // one line naming the problem, at most one line of what to do about it; the stack is for --verbose
    const configuration = isConfigurationError(error);
    console.error(`sluice: ${configuration ? 'invalid configuration' : error.code}: ${oneLine(error.message)}`);
    if (error.hint !== undefined) console.error(`hint: ${oneLine(error.hint)}`);
    if (verbose) console.error(error.stack);
    return configuration ? EXIT_USAGE : EXIT_FAILED;
  }
  // not a SluiceError: a bug, so the stack is what the reader needs
  console.error('sluice: unexpected error:', error);
  return EXIT_FAILED;
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
    // A command that leaked a socket or timer must not keep the CLI alive after it finished.
    setTimeout(() => process.exit(code), 2000).unref();
  },
  (error: unknown) => {
    console.error('sluice: unexpected error:', error);
    process.exit(EXIT_FAILED);
  },
);
