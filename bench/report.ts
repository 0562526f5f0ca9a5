import { writeFileSync } from 'node:fs';
import { describeGoal, FIGURES, type FigureKey, type Figures, goalOf, meets } from './figures.ts';
import type { Machine } from './machine.ts';

const format = (value: number | undefined): string => {
  if (value === undefined || !Number.isFinite(value)) return 'n/a';
  if (Math.abs(value) >= 100) return Math.round(value).toString();
  return value.toFixed(Math.abs(value) >= 10 ? 1 : 2);
};

/** The table of issue 6: each figure, its value and unit, its goal, and whether it meets it. */
export const renderTable = (figures: Figures): string => {
  const rows = (Object.keys(FIGURES) as FigureKey[]).map((key) => {
    const value = figures[key];
    const goal = goalOf(key);
    const verdict =
      value === undefined || !Number.isFinite(value)
        ? 'not measured'
        : goal === undefined
          ? '—'
          : meets(goal, value)
            ? 'yes'
            : 'NO';
    return [key, format(value), FIGURES[key].unit, describeGoal(goal), verdict];
  });
  const header = ['figure', 'value', 'unit', 'goal', 'meets?'];
  const lines = [header, header.map(() => '---'), ...rows];
  return lines.map((cells) => `| ${cells.join(' | ')} |`).join('\n');
};

/** bench/results.json: every figure as {value, unit} (null where it could not be measured). */
export const writeResults = (
  path: string,
  figures: Figures,
  machine: Machine,
  quick: boolean,
): void => {
  const results: Record<string, unknown> = {};
  for (const key of Object.keys(FIGURES) as FigureKey[]) {
    const value = figures[key];
    results[key] = {
      value: value !== undefined && Number.isFinite(value) ? value : null,
      unit: FIGURES[key].unit,
    };
  }
  results.machine = machine;
  results.quick = quick;
  writeFileSync(path, `${JSON.stringify(results, null, 2)}\n`);
};
