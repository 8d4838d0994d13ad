/**
 * Reading registry CSV files: what a good file gives, every bad row reported by its line
 * number, whole-file problems refused, and any set of registrations surviving a trip through CSV.
 */
import fc from 'fast-check';
import { parseDeviceCsv } from '../../../processors/registry/deviceCsv';
import type { DeviceRegistration } from '../../../processors/registry/deviceRegistration';

describe('parseDeviceCsv', () => {
  it('reads devices and thresholds, in any column order, skipping comments and empty lines, with quoted fields and a BOM', () => {
    const text = [
      '\ufeffsite_id,temperature_max,device_id,device_type,humidity_min',
      '# the lab',
      'site-01,30,dev-0000,temperature-humidity,10',
      '',
      '"site, north",,"dev ""quoted""",pump,-5.5e0',
      'site-02 , 1e2 ,dev-0002,meter,',
    ].join('\r\n');
    expect(parseDeviceCsv(text, 'devices.csv')).toEqual({
      rows: 3,
      errors: [],
      devices: [
        { line: 3, device: { deviceId: 'dev-0000', deviceType: 'temperature-humidity', siteId: 'site-01', thresholds: { temperature_max: 30, humidity_min: 10 } } },
        { line: 5, device: { deviceId: 'dev "quoted"', deviceType: 'pump', siteId: 'site, north', thresholds: { humidity_min: -5.5 } } },
        { line: 6, device: { deviceId: 'dev-0002', deviceType: 'meter', siteId: 'site-02', thresholds: { temperature_max: 100 } } },
      ],
    });
  });

  it('reports every bad row with its line number and keeps the good ones', () => {
    const text = [
      'device_id,device_type,site_id,temperature_min,temperature_max',
      'ok-1,t,s,1,2',
      'bad-number,t,s,abc,2',
      ',t,s,,',
      'ok-1,t,s,,',
      'too-few,t,s',
      'inverted,t,s,30,10',
      'hex,t,s,0x10,',
      'infinite,t,s,,Infinity',
      'ok-2,t,s,,',
    ].join('\n');
    const parsed = parseDeviceCsv(text, 'devices.csv');
    expect(parsed.devices.map((entry) => [entry.line, entry.device.deviceId])).toEqual([[2, 'ok-1'], [10, 'ok-2']]);
    expect(parsed.errors).toEqual([
      { line: 3, message: 'temperature_min must be a number, got "abc"' },
      { line: 4, message: 'device_id is empty' },
      { line: 5, message: 'device_id "ok-1" is already on line 2' },
      { line: 6, message: '3 fields, the header has 5' },
      { line: 7, message: 'temperature_min 30 is above temperature_max 10' },
      { line: 8, message: 'temperature_min must be a number, got "0x10"' },
      { line: 9, message: 'temperature_max must be a number, got "Infinity"' },
    ]);
    expect(parsed.rows).toBe(9);
  });

  it.each([
    ['', /no header line/],
    ['device_id,device_type\nd,t\n', /line 1 \(header\): the header has no site_id column/],
    ['device_id,device_type,site_id,colour\n', /column 4 "colour" is neither device_id, device_type, site_id nor a threshold named <metric>_min or <metric>_max/],
    ['device_id,device_type,site_id,device_id\n', /column 4 "device_id" repeats column 1/],
    ['device_id,device_type,site_id\nd,"t,s\n', /line \d: Quote Not Closed/],
  ])('refuses a file whose header or quoting is broken (%j)', (text, message) => {
    expect(() => parseDeviceCsv(text, 'fleet.csv')).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(message) }));
    expect(() => parseDeviceCsv(text, 'fleet.csv')).toThrow(/^fleet\.csv: /);
  });

  it('gives back any registrations written as CSV', () => {
    const field = fc.string({ minLength: 1, maxLength: 12 }).filter((value) => value.trim() === value && !/\p{Cc}/u.test(value));
    // value + 0 turns -0 into 0: the CSV writer below prints String(-0), which is '0'
    const registration = fc.record({
      deviceId: field,
      deviceType: field,
      siteId: field,
      thresholds: fc.record({ temperature_max: fc.integer({ min: 0, max: 100 }), vibrationRms_max: fc.double({ min: -1e6, max: 1e6, noNaN: true }).map((value) => value + 0) }, { requiredKeys: [] }),
    });
    const quote = (value: string): string => `"${value.replace(/"/g, '""')}"`;
    fc.assert(
      fc.property(fc.uniqueArray(registration, { selector: (device) => device.deviceId, maxLength: 8 }), (devices: DeviceRegistration[]) => {
        const lines = ['device_id,device_type,site_id,temperature_max,vibrationRms_max'];
        for (const d of devices) lines.push([d.deviceId, d.deviceType, d.siteId, String(d.thresholds.temperature_max ?? ''), String(d.thresholds.vibrationRms_max ?? '')].map(quote).join(','));
        const parsed = parseDeviceCsv(lines.join('\n'), 'round-trip.csv');
        expect(parsed.errors).toEqual([]);
        expect(parsed.devices.map((entry) => entry.device)).toEqual(devices.map((d) => ({ ...d, thresholds: { ...d.thresholds } })));
      }),
    );
  });
});
