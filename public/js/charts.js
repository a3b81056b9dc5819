// @ts-check
// Stacked bars of each rank's memory against the card, drawn by Chart.js (served at
// vendor/chartjs/ and loaded as the global `Chart`).
import { segmentsFor, segmentValue } from './components.js';
import { el } from './dom.js';
import { GIB } from './format.js';

/** @typedef {import('../../src/engine/vocabulary').PlanResult} PlanResult */
/** @typedef {import('../../src/engine/vocabulary').RankMemory} RankMemory */
/** @typedef {import('../../src/engine').CompareEntry} CompareEntry */
/** @typedef {import('chart.js').Chart} Chart */

/** Chart.js as the UMD bundle defines it on window. */
const ChartJs = /** @type {{ Chart?: typeof import('chart.js').Chart }} */ (
  /** @type {unknown} */ (window)
).Chart;

/** The red of the capacity line and its label: the colour of "does not fit" in app.css. */
const CAPACITY_RED = '#c0392b';
/** Headroom above the taller of the tallest bar and the capacity line, so its label shows. */
const Y_AXIS_HEADROOM = 1.08;

/** Draws a dashed horizontal line at the card's capacity (GiB), labelled, over the bars. */
const capacityLinePlugin = {
  id: 'capacityLine',
  /**
   * @param {Chart} chart
   * @param {unknown} _args
   * @param {{ value?: number, label?: string }} options
   */
  afterDatasetsDraw(chart, _args, options) {
    if (typeof options?.value !== 'number') return;
    const { ctx, chartArea, scales } = chart;
    const y = scales.y.getPixelForValue(options.value);
    ctx.save();
    ctx.strokeStyle = CAPACITY_RED;
    ctx.lineWidth = 2;
    ctx.setLineDash([6, 4]);
    ctx.beginPath();
    ctx.moveTo(chartArea.left, y);
    ctx.lineTo(chartArea.right, y);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = CAPACITY_RED;
    ctx.font = '600 12px system-ui, sans-serif';
    ctx.textAlign = 'right';
    ctx.fillText(options.label ?? '', chartArea.right - 4, y - 6);
    ctx.restore();
  },
};

/** The ink of the range whiskers: the page's text colour. */
const RANGE_INK = '#1f2933';
/** Half the width of a whisker's caps, px: narrower than the thinnest bar drawn. */
const CAP_HALF_WIDTH = 9;

/** Draws each bar's 80% range of device used (GiB) as a whisker with caps over the bar. */
const rangeWhiskersPlugin = {
  id: 'rangeWhiskers',
  /**
   * @param {Chart} chart
   * @param {unknown} _args
   * @param {{ ranges?: ([number, number] | null)[] }} options
   */
  afterDatasetsDraw(chart, _args, options) {
    const { ctx, scales } = chart;
    (options?.ranges ?? []).forEach((range, bar) => {
      if (!range) return;
      const x = scales.x.getPixelForValue(bar);
      const [low, high] = range.map((gib) => scales.y.getPixelForValue(gib));
      ctx.save();
      ctx.strokeStyle = RANGE_INK;
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.moveTo(x, low);
      ctx.lineTo(x, high);
      for (const y of [low, high]) {
        ctx.moveTo(x - CAP_HALF_WIDTH, y);
        ctx.lineTo(x + CAP_HALF_WIDTH, y);
      }
      ctx.stroke();
      ctx.restore();
    });
  },
};

/**
 * Each distinct rank of a plan (one per pipeline stage), or the worst one alone.
 * @param {PlanResult} result
 */
export function ranksOf(result) {
  return result.memory.ranks.length > 0 ? result.memory.ranks : [result.memory.perGpu];
}

/**
 * @param {number} capacityGiB
 * @param {number} tallestGiB
 * @param {string} title
 */
function baseOptions(capacityGiB, tallestGiB, title) {
  return {
    responsive: true,
    maintainAspectRatio: false,
    animation: false,
    interaction: { mode: 'nearest', intersect: true },
    scales: {
      x: { stacked: true, grid: { display: false } },
      y: {
        stacked: true,
        beginAtZero: true,
        suggestedMax: Math.max(capacityGiB, tallestGiB) * Y_AXIS_HEADROOM,
        title: { display: true, text: 'GiB per GPU' },
      },
    },
    plugins: {
      title: { display: Boolean(title), text: title },
      legend: { position: 'bottom', labels: { boxWidth: 12, filter: undefined } },
      tooltip: {
        callbacks: {
          /** @param {{ dataset: { label?: string }, parsed: { y: number } }} item */
          label: (item) => `${item.dataset.label}: ${item.parsed.y.toFixed(2)} GiB`,
        },
      },
      capacityLine: { value: capacityGiB, label: `capacity ${capacityGiB.toFixed(1)} GiB` },
    },
  };
}

/** Charts drawn so far, by name; read by the browser test through window.shardplan. */
export const charts = /** @type {Record<string, Chart>} */ ({});

/**
 * Draws (or redraws) the named chart on the canvas.
 * @param {string} name
 * @param {HTMLCanvasElement} canvas
 * @param {object} config a Chart.js configuration
 */
function draw(name, canvas, config) {
  if (!ChartJs) {
    canvas.replaceWith(el('p', { className: 'hint' }, 'The chart library did not load.'));
    return;
  }
  charts[name]?.destroy();
  const withPlugin = { ...config, plugins: [capacityLinePlugin, rangeWhiskersPlugin] };
  charts[name] = new ChartJs(canvas, /** @type {any} */ (withPlugin));
}

/**
 * One stacked bar per rank (pipeline stage) of a plan.
 * @param {HTMLCanvasElement} canvas
 * @param {PlanResult} result
 * @param {readonly string[]} order the vocabulary's component order
 */
export function drawPlanChart(canvas, result, order) {
  const ranks = ranksOf(result);
  const datasets = segmentsFor(order, ranks).map((segment) => ({
    label: segment.label,
    componentKey: segment.key,
    backgroundColor: segment.color,
    data: ranks.map((rank) => segmentValue(rank, segment.key, GIB)),
    stack: 'memory',
    maxBarThickness: 140,
  }));
  const labels = ranks.map((rank, i) =>
    ranks.length === 1 ? 'every GPU' : `stage ${rank.stage ?? i}`,
  );
  const whiskers = ranks.every((rank) => rank.deviceUsedRangeBytes) ? '; whisker: 80% range' : '';
  const title = `${ranks.length > 1 ? 'memory per GPU, one bar per pipeline stage' : 'memory per GPU'}${whiskers}`;
  // The axis reaches the top of the 80% range where there is one.
  const top = (/** @type {RankMemory} */ rank) =>
    (rank.deviceUsedRangeBytes?.[1] ?? rank.deviceUsedBytes) / GIB;
  const tallest = Math.max(...ranks.map(top));
  const options = baseOptions(result.memory.perGpu.capacityBytes / GIB, tallest, title);
  /** @type {any} */ (options.plugins).rangeWhiskers = {
    ranges: ranks.map((rank) =>
      rank.deviceUsedRangeBytes ? rank.deviceUsedRangeBytes.map((bytes) => bytes / GIB) : null,
    ),
  };
  draw('plan', canvas, { type: 'bar', data: { labels, datasets }, options });
}

/**
 * Grouped stacked bars: one group per compare row, one bar per pipeline stage inside it.
 * @param {HTMLCanvasElement} canvas
 * @param {CompareEntry[]} rows
 * @param {(label: string) => string} labelOf
 * @param {readonly string[]} order
 */
export function drawCompareChart(canvas, rows, labelOf, order) {
  const planned = rows.flatMap((row) => (row.result ? [row.result] : []));
  if (planned.length === 0) return;
  const stages = Math.max(...planned.map((result) => ranksOf(result).length));
  const segments = segmentsFor(order, planned.flatMap(ranksOf));
  /** @param {CompareEntry} row @param {number} stage */
  const rankAt = (row, stage) => (row.result ? ranksOf(row.result)[stage] : undefined);
  const datasets = Array.from({ length: stages }, (_, stage) =>
    segments.map((segment) => ({
      label: segment.label,
      componentKey: segment.key,
      backgroundColor: segment.color,
      borderColor: '#ffffff',
      borderWidth: stages > 1 ? { left: 1, right: 1 } : 0,
      stack: `stage ${stage}`,
      maxBarThickness: 90,
      data: rows.map((row) => {
        const rank = rankAt(row, stage);
        return rank ? segmentValue(rank, segment.key, GIB) : null;
      }),
    })),
  ).flat();
  const tallest = Math.max(...planned.map((result) => result.memory.perGpu.deviceUsedBytes / GIB));
  const title = stages > 1 ? `one bar per pipeline stage (${stages})` : '';
  const options = baseOptions(planned[0].memory.perGpu.capacityBytes / GIB, tallest, title);
  // One legend entry per component, not one per stage.
  /** @type {any} */ (options.plugins.legend.labels).filter = (
    /** @type {{ datasetIndex: number }} */ item,
  ) => datasets[item.datasetIndex].stack === 'stage 0';
  draw('compare', canvas, {
    type: 'bar',
    data: { labels: rows.map((r) => labelOf(r.label)), datasets },
    options,
  });
}
