import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('hookline demo', () => {
  it('delivers every demo event, retrying the flaky endpoint, and exits', async () => {
    const { stdout } = await run(process.execPath, ['dist/cli/main.js', 'demo', '--exit'], {
      timeout: 25_000,
    });
    expect(stdout).toContain('published evt_demo_3');
    expect(stdout).toMatch(/\/flaky\s+attempt 1\s+→ 503 http_error/);
    expect(stdout).toMatch(/\/flaky\s+attempt 3\s+→ 200/);
    expect(stdout).toContain('Every delivery succeeded');
  });
});
