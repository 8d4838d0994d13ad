/** The transform end to end on kafka (the scenario is in transformEndToEnd.ts). */
import { describeTransformEndToEnd } from './transformEndToEnd';

describeTransformEndToEnd('kafka');
