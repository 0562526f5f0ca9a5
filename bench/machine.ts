import { cpus, totalmem } from 'node:os';

export interface Machine {
  cores: number;
  memoryGiB: number;
  node: string;
  postgresql: string;
  nats: string;
}

/** What the figures ran on; the NATS version is the one the server announces (INFO). */
export const describeMachine = (versions: { postgresql: string; nats: string }): Machine => ({
  cores: cpus().length,
  memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
  node: process.version,
  ...versions,
});
