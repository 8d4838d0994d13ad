/** The transform end to end on kinesis (the scenario is in transformEndToEnd.ts). */
import { describeTransformEndToEnd } from './transformEndToEnd';

describeTransformEndToEnd('kinesis');
