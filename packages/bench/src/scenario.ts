/** What every scenario receives. */
export interface ScenarioContext {
  readonly quick: boolean;
  /** Rounds per figure; the table shows their median and range. */
  readonly rounds: number;
  log(line: string): void;
}
