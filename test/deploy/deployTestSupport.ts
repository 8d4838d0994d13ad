/**
 * Shared by the deployment tests: reading the committed files, parsing CloudFormation YAML with
 * its short intrinsic tags (into the long JSON form, independent of how the renderer writes
 * them), and parsing a container's command line with the real `sluice` CLI definition.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import type { Tags } from 'yaml';
import { Command } from 'commander';
import { registerIngestCommand } from '../../cli/commands/ingest';
import { registerRunCommand } from '../../cli/commands/run';

export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

export function readProjectFile(relativePath: string): string {
  return readFileSync(path.join(PROJECT_ROOT, relativePath), 'utf8');
}

/** `!Ref X` -> {Ref: X}, `!GetAtt A.B` -> {'Fn::GetAtt': [A, B]}, `!Sub s` -> {'Fn::Sub': s}: CloudFormation's own long forms. */
const CLOUDFORMATION_TAGS: Tags = [
  { tag: '!Ref', resolve: (value: string) => ({ Ref: value }) },
  { tag: '!GetAtt', resolve: (value: string) => ({ 'Fn::GetAtt': [value.slice(0, value.indexOf('.')), value.slice(value.indexOf('.') + 1)] }) },
  { tag: '!Sub', resolve: (value: string) => ({ 'Fn::Sub': value }) },
];

export type Json = Record<string, unknown>;

export function parseCloudFormation(text: string): Json {
  return parse(text, { customTags: CLOUDFORMATION_TAGS, version: '1.1' }) as Json;
}

export function parseYamlDocuments(text: string): Json[] {
  return parseAllDocuments(text, { version: '1.1' }).map((document) => {
    if (document.errors.length > 0) throw new Error(document.errors.map((error) => error.message).join('; '));
    return document.toJS() as Json;
  });
}

export function parseYaml(text: string): Json {
  return parse(text, { version: '1.1' }) as Json;
}

/** A nested value by keys, failing with the path when it is missing (so a test says what is absent). */
export function at(value: unknown, ...keys: string[]): unknown {
  let current = value;
  for (const [index, key] of keys.entries()) {
    if (typeof current !== 'object' || current === null || !(key in current)) throw new Error(`missing ${keys.slice(0, index + 1).join('.')}`);
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

export interface ParsedCommand {
  command: string;
  flags: Record<string, unknown>;
}

/**
 * Parses `args` (what follows `node bin/sluice.js`) with the real definitions of the commands
 * containers run (`sluice run`, `sluice ingest`), with their actions replaced by one that records
 * the flags: an unknown command or option, a missing required option or a bad choice fails
 * exactly as `sluice` would.
 */
export async function parseSluiceCommand(args: string[]): Promise<ParsedCommand> {
  const program = new Command('sluice').exitOverride();
  registerRunCommand(program);
  registerIngestCommand(program);
  program.configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  let parsed: ParsedCommand | undefined;
  for (const command of program.commands) {
    command.configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
    command.action((flags: Record<string, unknown>) => {
      parsed = { command: command.name(), flags };
    });
  }
  await program.parseAsync(['node', 'sluice', ...args]);
  if (!parsed) throw new Error(`sluice ${args.join(' ')} ran no command`);
  return parsed;
}
