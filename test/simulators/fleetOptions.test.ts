import { ConfigError } from '../../core/errors';
import { FLEET_DEFAULTS, resolveFleetOptions } from '../../simulators/fleetOptions';
import type { FleetOptionsInput } from '../../simulators/fleetOptions';

const url = 'mqtt://127.0.0.1:1883';

describe('resolveFleetOptions', () => {
  it('fills in defaults and keeps what was given', () => {
    const options = resolveFleetOptions({ mqttUrl: url, devices: 3, rate: undefined, faults: { duplicate: 0.1 } });
    expect(options.devices).toBe(3);
    expect(options.rate).toBe(FLEET_DEFAULTS.rate);
    expect(options.qos).toBe(1);
    expect(options.topicPrefix).toBe('devices');
    expect(options.faults).toEqual({ duplicate: 0.1 });
  });

  it.each<[Partial<FleetOptionsInput>, string, RegExp]>([
    [{ mqttUrl: 'localhost:1883' }, 'fleet.mqttUrl', /must be an MQTT URL/],
    [{ devices: 0 }, 'fleet.devices', /must be an integer in 1\.\.1000000, got 0/],
    [{ devices: 2.5 }, 'fleet.devices', /got 2.5/],
    [{ rate: -1 }, 'fleet.rate', /must be a number/],
    [{ qos: 2 as 0 }, 'fleet.qos', /must be 0 or 1, got 2/],
    [{ deviceTypes: [] }, 'fleet.deviceTypes', /at least one/],
    [{ deviceTypes: ['toaster' as 'gps-tracker'] }, 'fleet.deviceTypes', /unknown device type "toaster"/],
    [{ anomalyRate: 2 }, 'fleet.anomalyRate', /0\.\.1/],
    [{ faults: { duplicate: 0.7, oversized: 0.7 } }, 'fleet.faults', /add up to 1.4/],
    [{ topicPrefix: 'a/+/b' }, 'fleet.topicPrefix', /without \+ #/],
    [{ deviceIdPrefix: 'a/b' }, 'fleet.deviceIdPrefix', /single topic level/],
    [{ offlineReadings: [10, 5] }, 'fleet.offlineReadings', /10\.\.1000000, got 5/],
    [{ payload: 'xml' as 'json' }, 'fleet.payload', /must be one of json/],
  ])('rejects %j with a ConfigError naming %s', (input, path, problem) => {
    let error: unknown;
    try {
      resolveFleetOptions({ mqttUrl: url, ...input });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).path).toBe(path);
    expect((error as ConfigError).message).toMatch(problem);
  });

  it('names the option the way the caller asks (the CLI passes its flag names)', () => {
    expect(() => resolveFleetOptions({ mqttUrl: url, devices: -1 }, (key) => `--${key}`)).toThrow('--devices: must be an integer');
  });
});
