/**
 * BACKWARD compatibility, as Confluent's registry defines it: a consumer using the new schema can
 * read data written with the previous one. avsc decides (reader.createResolver(writer) throws when
 * it cannot); this module only turns its terse "cannot read X as Y" into the field path that broke.
 */
import { Type } from 'avsc';
import type { types } from 'avsc';
import { errorMessage } from '../core/errors';
import { describeType } from './avroValueCheck';

/** undefined when `reader` can read everything `writer` wrote; otherwise what is incompatible. */
export function explainIncompatibility(reader: Type, writer: Type): string | undefined {
  const failure = resolveFailure(reader, writer);
  return failure === undefined ? undefined : (locate(reader, writer, '', failure, new Set()) ?? failure);
}

function resolveFailure(reader: Type, writer: Type): string | undefined {
  try {
    reader.createResolver(writer);
    return undefined;
  } catch (error) {
    return errorMessage(error);
  }
}

function unwrapLogical(type: Type): Type {
  return Type.isType(type, 'logical') ? (type as types.LogicalType).underlyingType : type;
}

function at(path: string): string {
  return path === '' ? '(root)' : path;
}

function child(path: string, name: string): string {
  return path === '' ? name : `${path}.${name}`;
}

function isRecord(type: Type): type is types.RecordType {
  return type.typeName === 'record' || type.typeName === 'error';
}

/**
 * Walks down to the deepest place where resolution fails; `failure` is avsc's message for here.
 * undefined means "this is a cycle back into a record being examined: look at its other fields".
 */
function locate(readerType: Type, writerType: Type, path: string, failure: string, seen: Set<string>): string | undefined {
  const reader = unwrapLogical(readerType);
  const writer = unwrapLogical(writerType);

  if (isRecord(reader) && isRecord(writer)) {
    // A recursive schema leads back here: stop rather than walk the cycle forever.
    const pair = `${reader.name}:${writer.name}`;
    if (seen.has(pair)) return undefined;
    seen.add(pair);
    if (reader.name !== writer.name && !(reader.aliases ?? []).includes(writer.name ?? '')) {
      return `${at(path)}: record ${writer.name} is now ${reader.name} without an alias for the old name`;
    }
    for (const field of reader.fields) {
      const fieldPath = child(path, field.name);
      const writerField = writer.fields.find((candidate) => candidate.name === field.name || field.aliases.includes(candidate.name));
      if (!writerField) {
        if (field.defaultValue() === undefined) {
          return `${fieldPath}: new field without a default (data written with the previous version has no value for it)`;
        }
        continue;
      }
      const fieldFailure = resolveFailure(field.type, writerField.type);
      const found = fieldFailure === undefined ? undefined : locate(field.type, writerField.type, fieldPath, fieldFailure, seen);
      if (found !== undefined) return found;
    }
    seen.delete(pair); // only cycles on the current path count, not a record met twice side by side
    return `${at(path)}: ${failure}`;
  }

  if (reader.typeName === 'enum' && writer.typeName === 'enum') {
    const readerSymbols = (reader as types.EnumType).symbols;
    const dropped = (writer as types.EnumType).symbols.filter((symbol) => !readerSymbols.includes(symbol));
    if (dropped.length > 0) {
      return `${at(path)}: enum ${reader.name} no longer has ${dropped.join(', ')}, which old data may hold (keep the symbols or give the enum a default)`;
    }
    return `${at(path)}: ${failure}`;
  }

  if (reader.typeName === 'map' && writer.typeName === 'map') {
    return locate((reader as types.MapType).valuesType, (writer as types.MapType).valuesType, `${path}[*]`, failure, seen);
  }
  if (reader.typeName === 'array' && writer.typeName === 'array') {
    return locate((reader as types.ArrayType).itemsType, (writer as types.ArrayType).itemsType, `${path}[]`, failure, seen);
  }

  if (Type.isType(writer, 'union')) {
    // Every branch the old union could hold must be readable by the new type.
    for (const branch of (writer as types.UnwrappedUnionType).types) {
      const branchFailure = resolveFailure(reader, branch);
      if (branchFailure !== undefined) return locateInReader(reader, branch, path, branchFailure, seen);
    }
    return `${at(path)}: ${failure}`;
  }
  return locateInReader(reader, writer, path, failure, seen);
}

/** `writer` is not a union here (Avro unions don't nest); if the reader is one, look inside the branch meant for it. */
function locateInReader(reader: Type, writer: Type, path: string, failure: string, seen: Set<string>): string | undefined {
  if (Type.isType(reader, 'union')) {
    const branches = (reader as types.UnwrappedUnionType).types.map(unwrapLogical);
    const counterpart =
      branches.find((branch) => writer.name !== undefined && branch.name === writer.name) ?? branches.find((branch) => branch.typeName === unwrapLogical(writer).typeName);
    if (counterpart) return locate(counterpart, writer, path, resolveFailure(counterpart, writer) ?? failure, seen);
    return `${at(path)}: old values of type ${describeType(writer)} have no matching branch in ${describeType(reader)}`;
  }
  return `${at(path)}: old ${describeType(writer)} cannot be read as ${describeType(reader)} (${failure})`;
}
