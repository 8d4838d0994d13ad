/**
 * Unit normalization: one unit per quantity, so readings from different device models can be
 * aggregated and compared against one threshold.
 *
 * The simulated fleet (simulators/signals) already reports in the canonical units, and its
 * metric names say the unit where one is not obvious: temperature and bearingTemperature (°C),
 * humidity (%), vibrationRms (mm/s), powerW (W), energyWh (Wh), voltage (V), speedKmh (km/h).
 * Those pass unchanged. A metric whose name ends in another unit is converted and renamed to
 * the canonical name, keeping the name's style (camelCase or snake_case):
 *
 * | reported as                                   | becomes              | conversion          |
 * |-----------------------------------------------|----------------------|---------------------|
 * | <temp…>F, <temp…>Fahrenheit, <temp…>_f        | <temp…> (°C)         | (v − 32) × 5/9      |
 * | <temp…>K, <temp…>Kelvin, <temp…>_k            | <temp…> (°C)         | v − 273.15          |
 * | <x>Kwh, <x>KWh, <x>_kwh                       | <x>Wh, <x>_wh        | × 1000              |
 * | <x>Mwh, <x>MWh, <x>_mwh                       | <x>Wh, <x>_wh        | × 1,000,000         |
 * | <x>Kw, <x>KW, <x>_kw                          | <x>W, <x>_w          | × 1000              |
 * | <x>Mph, <x>_mph                               | <x>Kmh, <x>_kmh      | × 1.609344          |
 * | <x>Mps, <x>_mps (metres per second)           | <x>Kmh, <x>_kmh      | × 3.6               |
 * | <x>Knots, <x>_knots                           | <x>Kmh, <x>_kmh      | × 1.852             |
 * | <x>Ips, <x>_ips (vibration, inches per second) | <x>, <x> (mm/s)     | × 25.4              |
 *
 * Temperature rules apply only when the rest of the name mentions "temp" (so `rpmK` is left
 * alone). When a reading carries both a canonical metric and a convertible one for the same
 * name (`temperature` and `temperatureF`), the one the device reported in the canonical unit
 * is kept and the other dropped: the two are the same quantity. Names matching no rule pass
 * unchanged. Results keep 12 significant digits, which removes conversion noise (69.8 °F is
 * 21 °C, not 20.999999999999996) and is far beyond any sensor's precision.
 */

interface UnitRule {
  /** the unit's spellings at the end of a camelCase name, and of a snake_case one */
  camel: readonly string[];
  snake: readonly string[];
  /** what replaces it */
  toCamel: string;
  toSnake: string;
  /** the rule applies only if the rest of the name passes this */
  baseTest?: RegExp;
  convert(value: number): number;
  /** for the table in README.md and tests */
  description: string;
}

const TEMPERATURE = /temp/i;

export const UNIT_RULES: readonly UnitRule[] = [
  { camel: ['Fahrenheit', 'F'], snake: ['_fahrenheit', '_f'], toCamel: '', toSnake: '', baseTest: TEMPERATURE, convert: (v) => ((v - 32) * 5) / 9, description: '°F → °C' },
  { camel: ['Kelvin', 'K'], snake: ['_kelvin', '_k'], toCamel: '', toSnake: '', baseTest: TEMPERATURE, convert: (v) => v - 273.15, description: 'K → °C' },
  { camel: ['Kwh', 'KWh'], snake: ['_kwh'], toCamel: 'Wh', toSnake: '_wh', convert: (v) => v * 1000, description: 'kWh → Wh' },
  { camel: ['Mwh', 'MWh'], snake: ['_mwh'], toCamel: 'Wh', toSnake: '_wh', convert: (v) => v * 1_000_000, description: 'MWh → Wh' },
  { camel: ['Kw', 'KW'], snake: ['_kw'], toCamel: 'W', toSnake: '_w', convert: (v) => v * 1000, description: 'kW → W' },
  { camel: ['Mph'], snake: ['_mph'], toCamel: 'Kmh', toSnake: '_kmh', convert: (v) => v * 1.609344, description: 'mph → km/h' },
  { camel: ['Mps'], snake: ['_mps'], toCamel: 'Kmh', toSnake: '_kmh', convert: (v) => v * 3.6, description: 'm/s → km/h' },
  { camel: ['Knots'], snake: ['_knots'], toCamel: 'Kmh', toSnake: '_kmh', convert: (v) => v * 1.852, description: 'knots → km/h' },
  { camel: ['Ips'], snake: ['_ips'], toCamel: '', toSnake: '', convert: (v) => v * 25.4, description: 'in/s → mm/s' },
];

export interface UnitConversion {
  from: string;
  to: string;
  rule: UnitRule;
}

/**
 * Answers per metric name, kept because a fleet uses few names and this runs for every metric
 * of every reading. Bounded: names come from devices, so a stream of made-up names must not
 * grow it without end (it starts over when full).
 */
const conversionByName = new Map<string, UnitConversion | null>();
const MAX_CACHED_NAMES = 10_000;

/** The conversion a metric name asks for, or undefined when it is canonical already (or unknown). */
export function unitConversionOf(name: string): UnitConversion | undefined {
  const cached = conversionByName.get(name);
  if (cached !== undefined) return cached ?? undefined;
  const conversion = findConversion(name);
  if (conversionByName.size >= MAX_CACHED_NAMES) conversionByName.clear();
  conversionByName.set(name, conversion ?? null);
  return conversion;
}

function findConversion(name: string): UnitConversion | undefined {
  for (const rule of UNIT_RULES) {
    for (const suffix of rule.camel) {
      // camelCase: the unit starts with a capital right after a lower-case letter or digit (`temperatureF`, not `TF`)
      if (name.length > suffix.length && name.endsWith(suffix) && /[a-z0-9]/.test(name.charAt(name.length - suffix.length - 1))) {
        const base = name.slice(0, -suffix.length);
        if (!rule.baseTest || rule.baseTest.test(base)) return { from: name, to: base + rule.toCamel, rule };
      }
    }
    const lower = name.toLowerCase();
    for (const suffix of rule.snake) {
      if (lower.length > suffix.length && lower.endsWith(suffix)) {
        const base = name.slice(0, -suffix.length);
        if (!rule.baseTest || rule.baseTest.test(base)) return { from: name, to: base + rule.toSnake, rule };
      }
    }
  }
  return undefined;
}

/** Drops float noise from a conversion (see the header). */
export function withoutConversionNoise(value: number): number {
  return Number(value.toPrecision(12));
}

/** The metrics in canonical units; a new object, the input is not changed. */
export function normalizeUnits(metrics: Readonly<Record<string, number>>): Record<string, number> {
  const normalized: Record<string, number> = {};
  const converted: Array<[string, number]> = [];
  for (const [name, value] of Object.entries(metrics)) {
    const conversion = unitConversionOf(name);
    if (conversion) converted.push([conversion.to, withoutConversionNoise(conversion.rule.convert(value))]);
    else normalized[name] = value;
  }
  // Canonical values the device reported win over converted ones; among converted, the first.
  for (const [name, value] of converted) {
    if (!Object.hasOwn(normalized, name) && Number.isFinite(value)) normalized[name] = value;
  }
  return normalized;
}
