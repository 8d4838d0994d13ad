/**
 * CloudFormation intrinsic functions in their short YAML form (`!Ref`, `!GetAtt`, `!Sub`), as
 * yaml Scalar nodes carrying the tag, so a rendered template reads like a hand-written one.
 */
import { Scalar } from 'yaml';

function tagged(tag: string, value: string): Scalar<string> {
  const node = new Scalar(value);
  node.tag = tag;
  return node;
}

/** `!Ref Name`: a parameter's value or a resource's id. */
export const ref = (name: string): Scalar<string> => tagged('!Ref', name);

/** `!GetAtt Resource.Attribute`. */
export const getAtt = (resource: string, attribute: string): Scalar<string> => tagged('!GetAtt', `${resource}.${attribute}`);

/** `!Sub 'text with ${Parameter}'`. */
export const sub = (text: string): Scalar<string> => tagged('!Sub', text);

export type CfnValue = string | Scalar<string>;
