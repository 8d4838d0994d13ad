/**
 * Settings files (mapping.yaml, sluice.yaml) read as YAML, which also reads JSON. A file that
 * does not parse is one ConfigError naming the file, line and column, on one line, instead of
 * the parser's multi-line excerpt. Parser warnings (an unknown tag,
 * ...) count as errors: a settings file means exactly what it says, or it is refused.
 */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import type { YAMLError } from 'yaml';
import { ConfigError, errorMessage } from '../../core/errors';

/** The parser's message without its own " at line L, column C:" suffix (the path says where). */
function problemText(error: YAMLError): string {
  return error.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? error.code;
}

/** Parses YAML (or JSON) text; `name` is how errors name the file. */
export function parseSettingsYaml(text: string, name: string): unknown {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { prettyErrors: false, lineCounter, logLevel: 'silent' });
  const problem = document.errors[0] ?? document.warnings[0];
  if (problem !== undefined) {
    const { line, col } = lineCounter.linePos(problem.pos[0]);
    throw new ConfigError(name, `is not valid YAML or JSON at line ${line}, column ${col}: ${problemText(problem)}`);
  }
  try {
    return document.toJS() as unknown;
  } catch (error) {
    // e.g. an alias bomb past the parser's alias limit
    throw new ConfigError(name, `is not valid YAML or JSON: ${errorMessage(error)}`);
  }
}

/** Reads and parses a settings file; a missing or unreadable file names the file and the reason (ENOENT, EACCES). */
export function readSettingsYaml(file: string, name = file): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, not a file' : (code ?? 'unreadable');
    throw new ConfigError(name, `cannot read the file (${reason})`);
  }
  return parseSettingsYaml(text, name);
}
