/** A tiny uPlot line without axes or legend: a stage's rate over the last minutes. */
import uPlot from 'uplot';

export class Sparkline {
  private readonly plot: uPlot;

  constructor(container: HTMLElement, color: string) {
    this.plot = new uPlot(
      {
        width: 140,
        height: 28,
        pxAlign: false,
        cursor: { show: false },
        legend: { show: false },
        select: { show: false, left: 0, top: 0, width: 0, height: 0 },
        scales: { x: { time: false }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
        axes: [{ show: false }, { show: false }],
        series: [{}, { stroke: color, width: 1.5, fill: `${color}22`, spanGaps: false, points: { show: false } }],
      },
      [[], []],
      container,
    );
  }

  set(xs: readonly number[], ys: ReadonlyArray<number | null>): void {
    this.plot.setData([xs as number[], ys as Array<number | null>]);
  }
}
