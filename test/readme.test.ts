/**
 * The README's examples work: every TypeScript block type-checks against the project (strict,
 * as `npm run typecheck` does), and every `sluice` / `npx sluice` command line in a bash block
 * names a real command and only options that command has.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import type { Command } from 'commander';
import { buildProgram } from '../cli/program';

const ROOT = path.join(__dirname, '..');
const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

function blocks(language: string): string[] {
  return [...README.matchAll(new RegExp('```' + language + '\\n([\\s\\S]*?)```', 'g'))].map((match) => match[1] ?? '');
}

/** `sluice …` command lines of the bash blocks, continuation lines joined, comments dropped. */
function commandLines(): string[][] {
  const lines = blocks('bash').join('\n').replace(/\\\n\s*/g, ' ').split('\n');
  const commands: string[][] = [];
  for (const line of lines) {
    for (const part of line.replace(/#.*$/, '').split('&&')) {
      const words = part.trim().split(/\s+/).filter(Boolean);
      const at = words[0] === 'npx' ? 1 : 0;
      if (words[at] === 'sluice') commands.push(words.slice(at + 1));
    }
  }
  return commands;
}

function optionNames(command: Command): Set<string> {
  return new Set(command.options.flatMap((option) => [option.long, option.short, option.negate ? option.long : undefined]).filter((name): name is string => name !== undefined));
}

describe('README examples', () => {
  it('every TypeScript block type-checks against the project', () => {
    const sources = blocks('ts');
    expect(sources.length).toBeGreaterThan(0);
    const files = sources.map((source, index) => {
      const file = path.join(ROOT, `.readme-example-${process.pid}-${index}.ts`);
      writeFileSync(file, source);
      return file;
    });
    try {
      const config = ts.getParsedCommandLineOfConfigFile(path.join(ROOT, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
      if (!config) throw new Error('cannot read tsconfig.json');
      const program = ts.createProgram(files, { ...config.options, noEmit: true });
      const problems = ts.getPreEmitDiagnostics(program).filter((d) => d.file && files.includes(d.file.fileName)).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      expect(problems).toEqual([]);
    } finally {
      for (const file of files) rmSync(file, { force: true });
    }
  });

  it('every sluice command line names a real command and only its options', () => {
    const program = buildProgram();
    const lines = commandLines();
    expect(lines.length).toBeGreaterThan(5);
    for (const words of lines) {
      let command: Command = program;
      let rest = words;
      while (rest[0] && !rest[0].startsWith('-')) {
        const sub = command.commands.find((candidate) => candidate.name() === rest[0]);
        if (!sub) break;
        command = sub;
        rest = rest.slice(1);
      }
      expect({ line: words.join(' '), command: command.name() }).not.toEqual({ line: words.join(' '), command: 'sluice' });
      const known = optionNames(command);
      for (const word of rest.filter((w) => w.startsWith('--'))) {
        expect({ line: words.join(' '), option: word, known: known.has(word.split('=')[0]!) }).toEqual({ line: words.join(' '), option: word, known: true });
      }
    }
  });
});
