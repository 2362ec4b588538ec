#!/usr/bin/env node
// What Grafana's panels show, computed by Grafana's own @grafana/data.
//
// Input (stdin, JSON): {"panels": [{"panel": <panel JSON of a dashboard>,
// "frames": [<data frame>, ...]}, ...]}, the frames being those the
// Prometheus data source hands the panel (dashboards/grafana.py builds them
// from real Prometheus answers). Output (stdout, JSON): one view per panel.
//
// Grafana's code does the work:
// - transformDataFrame runs the panel's transformations (merge, organize,
//   sortBy, ...), with every standard transformer registered once by id;
// - applyFieldOverrides applies the panel's field config (defaults and
//   overrides: units, mappings, thresholds, links, display names), with the
//   override processors of @grafana/data and the dark theme;
// - field.display (getDisplayProcessor) gives a value's text and colour;
// - getFieldDisplayValues reduces the frames of a stat or bar gauge panel
//   (reduceOptions) to the values it shows;
// - getFieldDisplayName names the columns and series.
//
// What is not in @grafana/data is modelled here, and kept small: a table
// panel shows its frame `options.frameIndex` and colours a cell only when
// the column's cell type is color-background (@grafana/ui's table); data
// links are interpolated for the variables our dashboards use
// (${__value.raw}, ${__data.fields.NAME}, ${__url_time_range},
// ${datasource:queryparam}), as Grafana's template service does.
//
// Non-finite numbers travel as the strings "NaN", "+Inf" and "-Inf".
'use strict';

require('global-jsdom/register');

const { firstValueFrom } = require('rxjs');
const data = require('@grafana/data');

const {
  FieldConfigOptionsRegistry,
  FieldType,
  applyFieldOverrides,
  createTheme,
  dataLinksOverrideProcessor,
  displayNameOverrideProcessor,
  getFieldDisplayName,
  getFieldDisplayValues,
  numberOverrideProcessor,
  standardTransformers,
  standardTransformersRegistry,
  stringOverrideProcessor,
  thresholdsOverrideProcessor,
  transformDataFrame,
  valueMappingsOverrideProcessor,
} = data;

// Several names of standardTransformers are aliases of one transformer
// (seriesToColumns is joinByField): register each id once.
standardTransformersRegistry.setInit(() => {
  const byId = new Map();
  for (const t of Object.values(standardTransformers)) {
    byId.set(t.id, { id: t.id, name: t.name, description: t.description, transformation: t });
  }
  return [...byId.values()];
});

const TIME_RANGE = 'from=now-7d&to=now';
const DATASOURCE_UID = 'prometheus';
const theme = createTheme();
const identity = (value) => value;

// The field options our panels set, each with the override processor that
// Grafana's options registry gives it (public/app/core/components/OptionsUI
// registers these same processors from @grafana/data).
function fieldConfigRegistry() {
  const option = (id, process, isCustom = false) => ({
    id,
    path: isCustom ? id.slice('custom.'.length) : id,
    name: id,
    isCustom,
    process,
    override: identity,
    editor: identity,
    shouldApply: () => true,
  });
  return new FieldConfigOptionsRegistry(() => [
    option('displayName', displayNameOverrideProcessor),
    option('unit', stringOverrideProcessor),
    option('decimals', numberOverrideProcessor),
    option('min', numberOverrideProcessor),
    option('max', numberOverrideProcessor),
    option('noValue', stringOverrideProcessor),
    option('thresholds', thresholdsOverrideProcessor),
    option('mappings', valueMappingsOverrideProcessor),
    option('links', dataLinksOverrideProcessor),
    option('color', identity),
    option('custom.cellOptions', identity, true),
    option('custom.width', numberOverrideProcessor, true),
  ]);
}

function number(v) {
  if (v === 'NaN') return NaN;
  if (v === '+Inf') return Infinity;
  if (v === '-Inf') return -Infinity;
  return v;
}

function toFrame(f) {
  const fields = f.fields.map((x) => ({
    name: x.name,
    type: x.type,
    config: x.config || {},
    labels: x.labels && Object.keys(x.labels).length ? x.labels : undefined,
    values: x.type === FieldType.number ? x.values.map(number) : x.values,
  }));
  return {
    refId: f.refId,
    meta: f.meta || {},
    fields,
    length: fields.length ? fields[0].values.length : 0,
  };
}

function jsonValue(v) {
  if (typeof v === 'number' && !Number.isFinite(v)) {
    return Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf';
  }
  return v === undefined ? null : v;
}

// Colours come out of the display processor as the theme's values; the
// dashboards name them, so name them back.
const NAMED = ['green', 'red', 'orange', 'yellow', 'blue', 'purple', 'text', 'transparent'];
const COLOR_NAMES = new Map(NAMED.map((n) => [theme.visualization.getColorByName(n), n]));
// A fully transparent colour is "transparent", whichever way it is written.
const colorName = (c) =>
  c === undefined ? null : /^#[0-9a-f]{6}00$/i.test(c) ? 'transparent' : COLOR_NAMES.get(c) ?? c;

function linkUrl(template, frame, row, value) {
  return template.replace(/\$\{([^}]+)\}/g, (_, token) => {
    if (token === '__value.raw') return String(value);
    if (token === '__url_time_range') return TIME_RANGE;
    if (token === 'datasource:queryparam') return `var-datasource=${DATASOURCE_UID}`;
    if (token.startsWith('__data.fields.')) {
      const name = token.slice('__data.fields.'.length).replace(/^\[?"?|"?\]?$/g, '');
      const field = frame.fields.find(
        (x) => x.name === name || getFieldDisplayName(x, frame) === name,
      );
      if (!field) throw new Error(`data link field ${name} is not in the frame`);
      return String(field.values[row]);
    }
    throw new Error(`data link variable ${token} is not modelled`);
  });
}

function tableView(panel, frames) {
  if (!frames.length) return { frames: 0, columns: [], rows: [] };
  const frame = frames[(panel.options && panel.options.frameIndex) || 0];
  const columns = frame.fields.map((f) => getFieldDisplayName(f, frame, frames));
  const rows = [];
  for (let r = 0; r < frame.length; r++) {
    const row = {};
    frame.fields.forEach((field, i) => {
      const value = field.values[r];
      const shown = field.display(value);
      const cellType = ((field.config.custom || {}).cellOptions || {}).type;
      const cell = {
        value: jsonValue(value),
        text: data.formattedValueToString(shown),
        color: cellType === 'color-background' ? colorName(shown.color) : null,
      };
      const links = field.config.links || [];
      if (links.length) cell.links = links.map((l) => linkUrl(l.url, frame, r, value));
      row[columns[i]] = cell;
    });
    rows.push(row);
  }
  return { frames: frames.length, columns, rows };
}

function reduceView(panel, frames) {
  const shown = getFieldDisplayValues({
    data: frames,
    reduceOptions: panel.options.reduceOptions,
    fieldConfig: panel.fieldConfig,
    replaceVariables: identity,
    theme,
    timeZone: 'utc',
  });
  // With no value to show, the panel shows one placeholder (noValue).
  const values = shown
    .filter((v) => v.colIndex !== undefined)
    .map((v) => ({
      name: v.display.title,
      labels: v.view.dataFrame.fields[v.colIndex].labels || {},
      value: jsonValue(v.display.numeric),
      text: data.formattedValueToString(v.display),
      color: colorName(v.display.color),
    }));
  if (!values.length) return { values: [], noValue: shown.length ? shown[0].display.text : '' };
  return { values };
}

function seriesView(panel, frames) {
  const series = [];
  for (const frame of frames) {
    const time = frame.fields.find((f) => f.type === FieldType.time);
    for (const field of frame.fields) {
      if (field.type !== FieldType.number) continue;
      series.push({
        name: getFieldDisplayName(field, frame, frames),
        labels: field.labels || {},
        times: time ? time.values : [],
        values: field.values.map(jsonValue),
      });
    }
  }
  return { series };
}

async function draw({ panel, frames }) {
  let out = frames.map(toFrame);
  const transformations = (panel.transformations || []).filter((t) => !t.disabled);
  if (transformations.length) {
    out = await firstValueFrom(transformDataFrame(transformations, out));
  }
  out = applyFieldOverrides({
    data: out,
    fieldConfig: panel.fieldConfig || { defaults: {}, overrides: [] },
    fieldConfigRegistry: fieldConfigRegistry(),
    replaceVariables: identity,
    theme,
    timeZone: 'utc',
  });
  const view = { title: panel.title, type: panel.type };
  switch (panel.type) {
    case 'table':
      return { ...view, ...tableView(panel, out) };
    case 'stat':
    case 'bargauge':
      return { ...view, ...reduceView(panel, out) };
    case 'timeseries':
      return { ...view, ...seriesView(panel, out) };
    default:
      throw new Error(`panel type ${panel.type} is not drawn`);
  }
}

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const input = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const views = [];
  for (const item of input.panels) views.push(await draw(item));
  process.stdout.write(JSON.stringify(views));
}

main().catch((err) => {
  process.stderr.write(`${err.stack || err}\n`);
  process.exit(1);
});
