/**
 * The negative replies of sluice's Lua scripts (scripts/includes/replyCodes.lua), in one enum,
 * and what each means as a SluiceError - like bullmq's ErrorCode: a script reports a refused
 * state change as data, the TypeScript side turns it into a typed error.
 */
import { SluiceError } from '../../core/errors';

export enum ScriptReplyCode {
  LeaseNotFound = -1,
  /** someone else holds the lease, or took/renewed it since the caller read it */
  LeaseHeld = -2,
  /** the caller is not the holder with this counter any more */
  LeaseLost = -3,
  CheckpointBackwards = -4,
  ShardEnded = -5,
  /** an exactly-once op met a key (or field) of another type */
  WrongType = -6,
}

export function isScriptReplyCode(reply: unknown): reply is ScriptReplyCode {
  return typeof reply === 'number' && reply < 0 && ScriptReplyCode[reply] !== undefined;
}

/** The SluiceError for a refused script call; `context` names what was refused. */
export function scriptReplyError(code: ScriptReplyCode, context: string): SluiceError {
  switch (code) {
    case ScriptReplyCode.LeaseNotFound:
      return new SluiceError('LEASE_LOST', `${context}: the lease does not exist (deleted, or never synced)`);
    case ScriptReplyCode.LeaseHeld:
      return new SluiceError('LEASE_LOST', `${context}: the lease is held by another worker or changed since it was read`);
    case ScriptReplyCode.LeaseLost:
      return new SluiceError('LEASE_LOST', `${context}: the lease was taken over, rewound or released; this worker no longer holds it`);
    case ScriptReplyCode.CheckpointBackwards:
      return new SluiceError('POSITION_INVALID', `${context}: a checkpoint never moves backwards (use rewind)`);
    case ScriptReplyCode.ShardEnded:
      return new SluiceError('POSITION_INVALID', `${context}: the shard is at SHARD_END`);
    case ScriptReplyCode.WrongType:
      return new SluiceError('OPERATION_INVALID', `${context}: an op meets a key or field of another type`);
  }
}
